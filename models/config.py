"""The run configuration: everything a run depends on, JSON round-trip, hashed into the run id."""

from __future__ import annotations

import hashlib
import json
import numbers
import re
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

from models.data import DATASETS, FILE, MAX_PROBE, N_SAMPLES_RANGE, NOISE_RANGE, SIZED

#: bump when what a run records changes: it is part of every run id
RECORDER_VERSION = 4

#: ``mlp``: classifier; ``vae``: beta-VAE; ``custom``: a user's model recorded into a log directory
#: (:mod:`epochscope.record`)
MODELS = ("mlp", "vae", "custom")
#: ways to scramble a fraction of the samples (see :mod:`models.scramble`)
SCRAMBLES = ("none", "labels", "noise", "permute")
#: hidden layer sizes when the config gives none: the MLP's, and the VAE encoder's (its decoder mirrors it)
DEFAULT_HIDDEN = {"mlp": (64, 128, 64, 32), "vae": (64, 128, 64)}
#: minibatch when the config gives none. The VAE's is small: at 64, 30 epochs on digits leave "trickling"
#: latents (0.01-0.1 nats each, still dying) that make the active-unit count jump up and down over a beta sweep
#: (8, 8, 8, 5, 6, 5, 0, 0 over the default betas); at 16 they have died by epoch 30 and it falls steadily
#: (8, 8, 5, 2, 2, 1, 1, 0), as at batch 64 after 100 epochs
DEFAULT_BATCH = {"mlp": 64, "vae": 16, "custom": 64}
#: a recorded (custom) run's most layers and widest layer (the recorder narrows wider ones by a projection)
CUSTOM_LIMITS = (64, 65536)
#: a custom run's name and its layer names: letters, digits, ``_ . -``, 1..64 characters
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


@dataclass(frozen=True)
class RunConfig:
    """A training run: the model, its data and how it is trained.

    Parameters
    ----------
    model : {"mlp", "vae", "custom"}
        An MLP classifier, a beta-VAE, or a user's own model (recorded, not trained, by EpochScope).
    dataset : str
        One of :data:`models.data.DATASETS`; for ``custom`` runs, any name (letters, digits, ``_ . -``).
    hidden : tuple of int, optional
        Hidden layer sizes (the VAE's encoder; its decoder mirrors them); default :data:`DEFAULT_HIDDEN`.
        ``custom``: the recorded layers' widths.
    epochs : int
        Epochs to train, 0..1000; epoch 0 (before training) is recorded too.
    lr : float
        Adam learning rate, in (0, 10].
    batch_size : int, optional
        Minibatch size, 1..65536; default :data:`DEFAULT_BATCH` of the model.
    seed : int
        Seed of generation, split, probe draw, scrambling, initialisation and batching.
    probe_size : int or None
        Probe samples recorded each epoch, 1..:data:`MAX_PROBE`; ``None`` records every sample (a stratified
        :data:`MAX_PROBE` of a larger set).
    beta : float
        VAE only: weight of the KL term, in [0, 1000].
    latent : int
        VAE only: latent dimensions, 1..256.
    scramble : {"none", "labels", "noise", "permute"}
        Scramble ``scramble_fraction`` of the samples (training and probe alike): shuffled labels (trained on),
        Gaussian noise on the inputs, or a random permutation of each affected input's features.
    scramble_fraction : float
        Share of samples scrambled, in [0, 1].
    n_samples, noise : int, float
        Generated data sets only: number of points (MNIST-1D included) and noise level (2-D sets only).
    data_path, label_column : str or None
        ``dataset="file"`` only: the ``.npz`` / ``.csv`` file and the CSV's label column.
    data_hash : str or None
        ``dataset="file"``: the file's content hash, filled in when the config is made, so that a changed file
        makes a new run. ``custom``: the recorded run's uid (:mod:`epochscope.record.logdir`), so that each run
        of a log directory is its own.
    layers : tuple of str
        ``custom`` only: names of the recorded layers.
    """

    model: str = "mlp"
    dataset: str = "digits"
    hidden: tuple[int, ...] = None  # type: ignore[assignment]  # None: the model's default, set on creation
    epochs: int = 30
    lr: float = 1e-3
    batch_size: int = None  # type: ignore[assignment]  # None: the model's default, set on creation
    seed: int = 0
    probe_size: int | None = None
    beta: float = 1.0
    latent: int = 8
    scramble: str = "none"
    scramble_fraction: float = 0.0
    n_samples: int = 1000
    noise: float = 0.1
    data_path: str | None = None
    label_column: str | None = None
    data_hash: str | None = None
    layers: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        self._normalise()
        self._check_data()
        self._check_numbers()
        self._hash_data_file()

    def _normalise(self) -> None:
        """Defaults that depend on the model, and tuples of the sequences given."""
        if self.model not in MODELS:
            raise ValueError(f"model must be one of {', '.join(MODELS)}, got {self.model!r}")
        if self.hidden is None and self.model == "custom":
            raise ValueError("hidden must give the recorded layers' widths for a custom run")
        hidden = DEFAULT_HIDDEN[self.model] if self.hidden is None else self.hidden
        object.__setattr__(self, "hidden", tuple(int(h) for h in hidden))
        if self.batch_size is None:
            object.__setattr__(self, "batch_size", DEFAULT_BATCH[self.model])
        object.__setattr__(self, "layers", tuple(str(n) for n in self.layers))

    def _check_data(self) -> None:
        if self.model == "custom":
            if not _NAME.match(self.dataset):
                raise ValueError(f"dataset of a custom run must be 1..64 letters, digits or _.-, got {self.dataset!r}")
            if len(self.layers) != len(self.hidden) or not all(_NAME.match(n) for n in self.layers):
                raise ValueError(f"layers must name each recorded layer (letters, digits, _.-), got {self.layers}")
        elif self.dataset not in DATASETS:
            raise ValueError(f"dataset must be one of {', '.join(DATASETS)}, got {self.dataset!r}")
        if self.scramble not in SCRAMBLES:
            raise ValueError(f"scramble must be one of {', '.join(SCRAMBLES)}, got {self.scramble!r}")

    def _check_numbers(self) -> None:
        most, widest = CUSTOM_LIMITS if self.model == "custom" else (8, 4096)
        if not 1 <= len(self.hidden) <= most or not all(1 <= h <= widest for h in self.hidden):
            raise ValueError(f"hidden must be 1 to {most} layer sizes, each 1..{widest}, got {self.hidden}")
        _check_range("epochs", self.epochs, 0, 1000, integer=True)
        if not 0.0 < self.lr <= 10.0:
            raise ValueError(f"lr must be in (0, 10], got {self.lr}")
        _check_range("batch_size", self.batch_size, 1, 65536, integer=True)
        if self.probe_size is not None:
            _check_range("probe_size", self.probe_size, 1, MAX_PROBE, integer=True)
        _check_range("beta", self.beta, 0.0, 1000.0)
        _check_range("latent", self.latent, 1, 256, integer=True)
        _check_range("scramble_fraction", self.scramble_fraction, 0.0, 1.0)
        _check_range("n_samples", self.n_samples, *N_SAMPLES_RANGE, integer=True)
        _check_range("noise", self.noise, *NOISE_RANGE)

    def _hash_data_file(self) -> None:
        """A run on a file is named by the file's content (its hash joins the run id)."""
        if self.dataset == FILE and self.model != "custom":
            if not self.data_path:
                raise ValueError("data_path is needed with dataset 'file'")
            if self.data_hash is None:
                path = Path(self.data_path)
                if not path.is_file():
                    raise ValueError(f"data_path {self.data_path!r}: no such file")
                object.__setattr__(self, "data_hash", hashlib.sha256(path.read_bytes()).hexdigest()[:16])

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> RunConfig:
        data = json.loads(text)
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown RunConfig fields: {', '.join(sorted(unknown))}")
        return cls(**data)

    def with_beta(self, beta: float) -> RunConfig:
        """The same run with another beta."""
        return replace(self, beta=float(beta))

    @property
    def run_id(self) -> str:
        """Stable id: model, data set and a hash of the config and the recorder version."""
        digest = hashlib.sha256(f"{RECORDER_VERSION}:{self.to_json()}".encode()).hexdigest()[:12]
        return f"{self.model}-{self.dataset}-{digest}"

    @property
    def layer_names(self) -> tuple[str, ...]:
        """Names of the recorded layers: ``h1 ..`` (MLP), ``e1 .. z`` (VAE encoder, then the latent mean), or
        the custom model's own."""
        if self.model == "custom":
            return self.layers
        if self.model == "vae":
            return (*(f"e{i + 1}" for i in range(len(self.hidden))), "z")
        return tuple(f"h{i + 1}" for i in range(len(self.hidden)))

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        """Width of each recorded layer."""
        return (*self.hidden, self.latent) if self.model == "vae" else self.hidden

    @property
    def is_generated(self) -> bool:
        """Whether ``n_samples`` sets the data set's size (the generated 2-D sets and MNIST-1D)."""
        return self.dataset in SIZED


def _check_range(name: str, value: float, lo: float, hi: float, *, integer: bool = False) -> None:
    """``ValueError`` naming ``name`` and the range unless ``lo <= value <= hi`` (and an integer if asked)."""
    kinds = numbers.Integral if integer else numbers.Real
    if isinstance(value, bool) or not isinstance(value, kinds) or not lo <= value <= hi:
        raise ValueError(f"{name} must be {'an integer' if integer else 'a number'} in {lo}..{hi}, got {value!r}")
