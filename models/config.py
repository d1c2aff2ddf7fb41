"""The run configuration: everything a run depends on, JSON round-trip, hashed into the run id."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, fields

from models.data import DATASETS

RECORDER_VERSION = 1


@dataclass(frozen=True)
class RunConfig:
    """A training run of an MLP classifier.

    Parameters
    ----------
    dataset : str
        Built-in data set name.
    hidden : tuple of int
        Hidden layer sizes.
    epochs : int
        Epochs to train; epoch 0 (before training) is recorded too.
    lr : float
        Adam learning rate.
    batch_size : int
        Minibatch size.
    seed : int
        Seed of the split, the probe draw, initialisation and batching.
    probe_size : int or None
        Probe samples recorded each epoch; ``None`` records every sample.
    """

    dataset: str = "digits"
    hidden: tuple[int, ...] = (64, 128, 64, 32)
    epochs: int = 30
    lr: float = 1e-3
    batch_size: int = 64
    seed: int = 0
    probe_size: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))
        if self.dataset not in DATASETS:
            raise ValueError(f"dataset must be one of {', '.join(DATASETS)}, got {self.dataset!r}")
        if not 1 <= len(self.hidden) <= 8 or not all(1 <= h <= 4096 for h in self.hidden):
            raise ValueError(f"hidden must be 1 to 8 layer sizes, each 1..4096, got {self.hidden}")
        if not 0 <= self.epochs <= 1000:
            raise ValueError(f"epochs must be in 0..1000, got {self.epochs}")
        if not 0.0 < self.lr <= 10.0:
            raise ValueError(f"lr must be in (0, 10], got {self.lr}")
        if not 1 <= self.batch_size <= 65536:
            raise ValueError(f"batch_size must be in 1..65536, got {self.batch_size}")
        if self.probe_size is not None and self.probe_size < 1:
            raise ValueError(f"probe_size must be >= 1 or None, got {self.probe_size}")

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "RunConfig":
        data = json.loads(text)
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown RunConfig fields: {', '.join(sorted(unknown))}")
        return cls(**data)

    @property
    def run_id(self) -> str:
        """Stable id: model, data set and a hash of the config and the recorder version."""
        digest = hashlib.sha256(f"{RECORDER_VERSION}:{self.to_json()}".encode()).hexdigest()[:12]
        return f"mlp-{self.dataset}-{digest}"

    @property
    def layer_names(self) -> tuple[str, ...]:
        return tuple(f"h{i + 1}" for i in range(len(self.hidden)))
