"""``RunStore``: runs and derived data (layouts) on disk, over :mod:`diskcache`.

Layout of the store directory::

    runs/      recorded runs, never evicted: config, probe set, one entry per epoch, a meta entry
    derived/   recomputable data (layouts, frame indices), least-recently-used eviction under a size limit

Arrays are stored as ``.npz`` bytes (float arrays as float32) and read with ``allow_pickle=False``.
An epoch and the meta entry that makes it visible are written in one transaction, so a reader never sees a
half-written epoch. A run is marked ``complete`` only after its last epoch.
"""

from __future__ import annotations

import io
import json
import logging
import os
import sqlite3
import time
import uuid
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import diskcache
import numpy as np

from epochscope.record.liveness import owner_alive, process_owner
from epochscope.record.logdir import class_names_problem
from models.config import RunConfig
from models.data import IMAGE_SHAPES
from models.naming import check_name, default_name, unique_name
from models.npz import NPZ_LOCK

logger = logging.getLogger(__name__)

RUN_STATES = ("training", "complete", "diverged", "failed")
#: what a run's epochs stand for (:attr:`RunInfo.unit`)
UNITS = ("epoch", "step")
#: what :meth:`RunStore.run_info` reports for a run left in ``training`` by a process that is gone (killed, or
#: stopped by Cancel): its epochs so far are kept, and training it again resumes after the last one
INTERRUPTED = "interrupted"


#: environment variable for the store's size limit (bytes, or with a K, M, G or T suffix)
SIZE_LIMIT_ENV = "EPOCHSCOPE_STORE_LIMIT"
DEFAULT_SIZE_LIMIT = 20 * 2**30
#: derived data always gets at least this much (a frame sequence being laid out must fit)
MIN_DERIVED_BYTES = 16 * 2**20


class StoreFull(RuntimeError):
    """The runs (and the kept uploads) fill the store's size limit."""


#: where the store keeps the data sets uploaded in the new-run form (under its directory)
UPLOADS = "uploads"


def default_size_limit() -> int:
    """``$EPOCHSCOPE_STORE_LIMIT`` (``500M``, ``20G``, bytes) or 20 GiB; ``ValueError`` naming the variable."""
    text = os.environ.get(SIZE_LIMIT_ENV, "").strip()
    if not text:
        return DEFAULT_SIZE_LIMIT
    scale = {"K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}.get(text[-1].upper(), 1)
    try:
        value = float(text[:-1] if scale > 1 else text) * scale
    except ValueError:
        raise ValueError(f"{SIZE_LIMIT_ENV} must be a size such as 500M or 20G, got {text!r}") from None
    if not MIN_DERIVED_BYTES <= value < 2**50:
        raise ValueError(f"{SIZE_LIMIT_ENV} must be between 16M and 1024T, got {text!r}")
    return int(value)


def lock_owner() -> str:
    """``host:pid:tag``: one holder of a lock (:meth:`RunStore.try_lock`), unique even among a process's
    threads."""
    return f"{process_owner()}:{uuid.uuid4().hex[:8]}"


def default_store_dir() -> Path:
    """``$EPOCHSCOPE_HOME``, else ``$XDG_CACHE_HOME/epochscope``, else ``~/.cache/epochscope``."""
    if os.environ.get("EPOCHSCOPE_HOME"):
        return Path(os.environ["EPOCHSCOPE_HOME"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "epochscope"


def encode_arrays(arrays: dict[str, np.ndarray]) -> bytes:
    """Serialize named arrays to ``.npz`` bytes, floats as float32."""
    buffer = io.BytesIO()
    stored: dict[str, Any] = {k: (v.astype(np.float32) if np.issubdtype(v.dtype, np.floating) else v)
                              for k, v in arrays.items()}
    np.savez(buffer, **stored)
    return buffer.getvalue()


def decode_arrays(blob: bytes, names: Sequence[str] | None = None, *, present_only: bool = False
                  ) -> dict[str, np.ndarray]:
    """Inverse of :func:`encode_arrays`, decoding only ``names`` when given (with ``present_only``, those the
    blob holds; otherwise a missing one is a ``KeyError``); never unpickles. Thread-safe (:data:`NPZ_LOCK`)."""
    with NPZ_LOCK, np.load(io.BytesIO(blob), allow_pickle=False) as npz:
        wanted = npz.files if names is None else [n for n in names if not present_only or n in npz.files]
        return {k: npz[k] for k in wanted}


class StoreDamaged(RuntimeError):
    """The store's database of runs cannot be read; the message names the file and what to do."""


class DamagedEpoch(KeyError):
    """A recorded epoch whose record cannot be read; the message names it (the run now ends before it)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class RunInfo:
    """What the store knows about a run without loading its epochs."""

    run_id: str
    config: RunConfig
    state: str
    epochs_done: int
    created: float
    message: str
    layer_sizes: tuple[int, ...]
    n_probe: int
    class_names: tuple[str, ...] = ()
    #: numbers about the run given when it was created (``scramble_changed``: share of samples changed)
    facts: dict[str, float] = field(default_factory=dict)
    #: per layer, how its units were made when not as they are (a recorder's pooling, a projection); may be empty
    layer_notes: tuple[str, ...] = ()
    #: (height, width) to show one probe sample as an image, for runs on images; ``None`` otherwise
    image_shape: tuple[int, int] | None = None
    #: what an epoch of the run stands for: ``epoch``, or ``step`` for a run recorded every N training steps (each
    #: epoch's metrics then hold its ``step``)
    unit: str = "epoch"
    #: what the page calls the run (:mod:`models.naming`): the user's name for it, else its default name
    name: str = ""

    @property
    def layer_names(self) -> tuple[str, ...]:
        return self.config.layer_names

    def steps(self, metrics: Sequence[dict[str, float]]) -> list[int] | None:
        """For a run recorded by steps, each epoch's training step from its ``metrics`` (:meth:`RunStore.metrics`;
        the epoch's index where one has no ``step``); ``None`` for a run by epochs."""
        return [int(m.get("step", e)) for e, m in enumerate(metrics)] if self.unit == "step" else None


@dataclass(frozen=True)
class EpochRecord:
    """One recorded epoch of a run, for the probe set.

    Attributes
    ----------
    activations : list of ndarray, each (n_probe, units), float32
        Recorded layer activations in layer order.
    predictions : ndarray of shape (n_probe,), int64, or None
        Predicted class (``None`` for a model that does not classify, such as the VAE).
    confidence : ndarray of shape (n_probe,), float32, or None
        Softmax probability of the predicted class.
    metrics : dict
        Scalars: ``train_loss``, ``test_loss`` and, for classifiers, ``train_acc``, ``test_acc``; a VAE adds
        ``recon``, ``kl``, ``active_units`` (see :mod:`models.train`).
    extras : dict of ndarray
        Further per-epoch arrays: an MLP's sensitivity (``sens{l}`` (n_probe,), ``gxa{l}`` (n_probe, units)) and,
        on 2-D inputs, its weights (``w{i}`` (units_out, units_in) and ``b{i}`` (units_out,), the hidden layers
        then the head);
        a VAE's ``logvar``, ``kl_dim``, ``recon_loss``, ``reconstructions``, ``prior_samples`` and its decoder's
        weights (``dw{i}``, ``db{i}``: its layers, then its output layer).
    """

    epoch: int
    activations: list[np.ndarray]
    predictions: np.ndarray | None
    confidence: np.ndarray | None
    metrics: dict[str, float]
    extras: dict[str, np.ndarray] = field(default_factory=dict)


def _image_shape(meta: dict, config: RunConfig) -> tuple[int, int] | None:
    """A run's image shape as stored with it; a run stored before it was (no key) has its data set's."""
    if "image_shape" not in meta:
        return IMAGE_SHAPES.get(config.dataset) if config.model != "custom" else None
    return tuple(meta["image_shape"]) if meta["image_shape"] else None


#: the first part of a derived key whose second part names the run it is derived from, deleted with the run
#: (:func:`derived.keys.recording_key`)
RUN_BOUND = "recorded"


def _names_run(key: str, run_id: str) -> bool:
    """Whether a derived key is one of the run's indices (``frames/<run>/..``, ``index/<kind>/<run>/..``) or is
    derived from its recording (``recorded/<run>/..``)."""
    parts = key.split("/")
    return ((parts[0] in ("frames", RUN_BOUND) and parts[1:2] == [run_id])
            or (parts[0] == "index" and parts[2:3] == [run_id]))


class RunStore:
    """Runs and derived data in a directory.

    Parameters
    ----------
    directory : path
        Created if missing.
    size_limit : int, optional
        Bytes the store may hold (default :func:`default_size_limit`). Derived data gets what the runs leave,
        evicting its least recently used entries; runs are never evicted: a new run is refused
        (:class:`StoreFull`) while the runs alone fill the store.
    """

    def __init__(self, directory: str | os.PathLike, *, size_limit: int | None = None) -> None:
        self.directory = Path(directory)
        self.size_limit = default_size_limit() if size_limit is None else int(size_limit)
        if self.size_limit < MIN_DERIVED_BYTES:
            raise ValueError(f"size_limit must be at least {MIN_DERIVED_BYTES} bytes, got {self.size_limit}")
        try:
            self.runs = diskcache.Cache(str(self.directory / "runs"), eviction_policy="none", size_limit=2**50)
        except sqlite3.DatabaseError as exc:  # the runs are the user's: never replaced
            raise StoreDamaged(f"{self.directory / 'runs' / 'cache.db'} cannot be read ({exc}): the store's runs are "
                               "in it. Restore it from a copy, or move the folder aside to start an empty store "
                               "(EPOCHSCOPE_HOME or --store chooses another)") from None
        self.derived = self._open_derived()

    def _open_derived(self) -> diskcache.Cache:
        """The derived cache; when its database cannot be read it is moved aside (everything in it is computed
        again from the runs, as a damaged entry is) and a new one is started."""
        folder = self.directory / "derived"
        try:
            return diskcache.Cache(str(folder), eviction_policy="least-recently-used",
                                   size_limit=self._derived_limit())
        except sqlite3.DatabaseError as exc:
            aside = folder.with_name(f"derived.damaged-{int(time.time())}")
            folder.rename(aside)
            logger.warning("The store's derived cache could not be read (%s): moved to %s, starting a new one (it "
                           "is computed again from the runs)", exc, aside)
            return diskcache.Cache(str(folder), eviction_policy="least-recently-used",
                                   size_limit=self._derived_limit())

    def _derived_limit(self) -> int:
        """What the runs and the kept uploads leave of the size limit for derived data (at least
        :data:`MIN_DERIVED_BYTES`)."""
        return max(MIN_DERIVED_BYTES, self.size_limit - self.runs.volume() - self.uploads_bytes())

    def uploads_bytes(self) -> int:
        """What the data sets kept from the new-run form take (:data:`UPLOADS`); they count toward the limit."""
        folder = self.directory / UPLOADS
        return sum(p.stat().st_size for p in folder.iterdir() if p.is_file()) if folder.is_dir() else 0

    def room(self) -> int:
        """Bytes the runs and uploads may still take before the store is full (derived data keeps
        :data:`MIN_DERIVED_BYTES`)."""
        return self.size_limit - MIN_DERIVED_BYTES - self.runs.volume() - self.uploads_bytes()

    def close(self) -> None:
        self.runs.close()
        self.derived.close()

    # -- runs -------------------------------------------------------------------------------------------
    def create_run(self, config: RunConfig, probe: dict[str, np.ndarray], layer_sizes: tuple[int, ...],
                   class_names: Sequence[str] = (), *, facts: dict[str, float] | None = None,
                   image_shape: tuple[int, int] | None = None, layer_notes: Sequence[str] = (),
                   unit: str = "epoch", writer: str | None = None) -> str:
        """Start (or restart from scratch) the run of ``config``; returns its id.

        ``probe`` holds ``index`` (n_probe,), ``X`` (n_probe, n_features) as trained on, ``y`` (n_probe,) the
        true class, and optionally ``y_train`` (n_probe,) the label trained on, ``scrambled`` (n_probe,)
        bool, the samples :mod:`models.scramble` drew again, and ``in_train`` (n_probe,) bool, the probe
        samples the network is trained on (the others are test samples). ``facts`` are numbers about the run
        kept with it (:attr:`RunInfo.facts`, e.g. ``scramble_changed``, the share of samples scrambling changed).
        ``image_shape`` (height, width), for samples that are images, must hold ``X``'s features exactly.
        ``layer_notes`` say, per layer, how its recorded units were made (a recorder's pooling and projection).
        ``unit``: what an epoch stands for (:attr:`RunInfo.unit`). ``writer``: the process that records the run
        (``host:pid``), when not this one (a log directory's writer, mirrored by :mod:`models.logdir_sync`).
        """
        if image_shape is not None:
            image_shape = (int(image_shape[0]), int(image_shape[1]))
            if len(probe["X"]) and image_shape[0] * image_shape[1] != probe["X"].shape[1]:
                raise ValueError(f"image_shape {image_shape} must hold the {probe['X'].shape[1]} features of a sample")
        run_id = config.run_id
        self.delete_run(run_id, forget_name=False)
        if self.room() <= 0:
            raise StoreFull(f"the store's runs and uploads take "
                            f"{(self.runs.volume() + self.uploads_bytes()) / 2**20:.0f} MiB of its "
                            f"{self.size_limit / 2**20:.0f} MiB size limit: delete runs (python -m epochscope delete) "
                            f"or raise {SIZE_LIMIT_ENV}")
        if unit not in UNITS:
            raise ValueError(f"unit must be one of {', '.join(UNITS)}, got {unit!r}")
        problem = class_names_problem([str(c) for c in class_names])
        if problem:
            raise ValueError(problem)
        meta = {"state": "training", "epochs_done": 0, "created": time.time(), "message": "",
                "writer": writer or process_owner(), "updated": time.time(), "unit": unit,
                "layer_sizes": list(layer_sizes), "n_probe": int(len(probe["index"])),
                "class_names": [str(c) for c in class_names], "facts": dict(facts or {}),
                "image_shape": list(image_shape) if image_shape is not None else None,
                "layer_notes": [str(note) for note in layer_notes]}
        self._name_if_unnamed(config)
        with self.runs.transact():
            self.runs.set(f"run/{run_id}/config", config.to_json())
            self.runs.set(f"run/{run_id}/probe", encode_arrays(probe))
            self.runs.set(f"run/{run_id}/meta", json.dumps(meta))
        return run_id

    def put_epoch(self, run_id: str, record: EpochRecord, resume: bytes | None = None, *,
                  writer: str | None = None, updated: float | None = None) -> None:
        """Write one epoch and make it visible, atomically, with what training needs to go on after it
        (``resume``: see :mod:`models.train`). Epochs must come in order 0, 1, 2, ... ``writer`` and ``updated``:
        the process that recorded it and when, when not this one now (see :meth:`create_run`)."""
        meta = self._meta(run_id)
        if record.epoch != meta["epochs_done"]:
            raise ValueError(f"epoch {record.epoch} out of order: run {run_id} expects epoch {meta['epochs_done']}")
        arrays = {f"act{i}": a for i, a in enumerate(record.activations)}
        if record.predictions is not None and record.confidence is not None:
            arrays.update(predictions=record.predictions.astype(np.int64), confidence=record.confidence)
        arrays.update({f"x_{k}": v for k, v in record.extras.items()})
        meta.update(epochs_done=record.epoch + 1, writer=writer or process_owner(),
                    updated=time.time() if updated is None else updated)
        # only new keys inside the transaction: diskcache deletes an overwritten value's file as soon as the
        # inner set returns, before the outer transaction commits, so a process killed in between would leave
        # a committed key pointing at a deleted file
        with self.runs.transact():
            self.runs.set(f"run/{run_id}/epoch/{record.epoch}", encode_arrays(arrays))
            self.runs.set(f"run/{run_id}/metrics/{record.epoch}", json.dumps(record.metrics))
            if resume is not None:
                self.runs.set(f"run/{run_id}/resume/{record.epoch}", resume)
            self.runs.set(f"run/{run_id}/meta", json.dumps(meta))
        if resume is not None and record.epoch > 0:  # the previous epoch's resume state is not needed now
            self.runs.delete(f"run/{run_id}/resume/{record.epoch - 1}")

    def set_writer(self, run_id: str, writer: str, updated: float) -> None:
        """Name the process that records the run and its last write (a log directory's writer, seen again)."""
        with self.runs.transact():
            meta = self._meta(run_id)
            meta.update(writer=writer, updated=updated)
            self.runs.set(f"run/{run_id}/meta", json.dumps(meta))

    def leave_run(self, run_id: str) -> None:
        """The writer stops before the run is finished: it shows as interrupted from now on."""
        with self.runs.transact():
            meta = self._meta(run_id)
            meta["writer"] = ""
            self.runs.set(f"run/{run_id}/meta", json.dumps(meta))

    def resume_state(self, run_id: str) -> bytes | None:
        """What training needs to go on after the run's last recorded epoch, if the run is unfinished and its
        trainer left it."""
        info = self.run_info(run_id)
        if info.state != INTERRUPTED or info.epochs_done == 0:
            return None
        return self.runs.get(f"run/{run_id}/resume/{info.epochs_done - 1}")

    def finish_run(self, run_id: str, state: str, message: str = "") -> None:
        """Set the run's final state (one of :data:`RUN_STATES`) and a message for the user."""
        if state not in RUN_STATES:
            raise ValueError(f"state must be one of {RUN_STATES}, got {state!r}")
        with self.runs.transact():
            meta = self._meta(run_id)
            meta.update(state=state, message=message)
            self.runs.set(f"run/{run_id}/meta", json.dumps(meta))

    def put_checkpoint(self, run_id: str, state: dict[str, np.ndarray]) -> None:
        """Store the final weights of a run (a torch ``state_dict`` as numpy arrays); its config is the run's."""
        self._meta(run_id)
        self.runs.set(f"run/{run_id}/checkpoint", encode_arrays(state))

    def checkpoint(self, run_id: str) -> dict[str, np.ndarray]:
        """The final weights of a run; ``KeyError`` when the run has none (not finished)."""
        blob = self.runs.get(f"run/{run_id}/checkpoint")
        if blob is None:
            raise KeyError(f"run {run_id!r} has no checkpoint")
        return decode_arrays(blob)

    def delete_run(self, run_id: str, *, forget_name: bool = True) -> None:
        """Remove a run, everything recorded for it and its frame and other indices (no error if absent; the
        layouts themselves are shared by content and age out of the derived cache), and its name unless
        ``forget_name`` is False (a run started again from scratch keeps it)."""
        prefix = f"run/{run_id}/"
        self.runs.delete(f"{prefix}meta")  # first, on its own: the run disappears whole, never half
        self.runs.delete(f"planned/{run_id}")
        if forget_name:
            self.runs.delete(f"name/{run_id}")
        for key in [k for k in self.runs.iterkeys() if isinstance(k, str) and k.startswith(prefix)]:
            self.runs.delete(key)  # a kill from here leaves invisible leftovers, cleared when the id is reused
        for key in [k for k in self.derived.iterkeys() if isinstance(k, str) and _names_run(k, run_id)]:
            self.derived.delete(key)

    def plan_run(self, config: RunConfig, name: str | None = None) -> str:
        """Keep ``config`` as a run about to be trained (the page shows it, and its job trains it, before its first
        epoch is stored), named ``name`` if given; returns its id. :meth:`create_run` makes it a run."""
        if name is not None:
            self.set_name(config.run_id, name)
        self._name_if_unnamed(config)
        self.runs.set(f"planned/{config.run_id}", config.to_json())
        return config.run_id

    def set_name(self, run_id: str, name: str) -> str:
        """Name (or rename) the run ``run_id``, stored or about to be; returns the name as kept;
        ``ValueError`` naming the field and its accepted range for a bad name (:func:`models.naming.check_name`)."""
        name = check_name(name)
        self.runs.set(f"name/{run_id}", name)
        return name

    def name(self, run_id: str, config: RunConfig) -> str:
        """What the page calls the run of ``config``: its name, else :func:`models.naming.default_name`."""
        stored = self.runs.get(f"name/{run_id}")
        return stored if isinstance(stored, str) else default_name(config)

    def _name_if_unnamed(self, config: RunConfig) -> None:
        # a new run gets a default name that sets it apart from those stored and planned before it
        if self.runs.get(f"name/{config.run_id}") is None:
            taken = {info.name: info.config for info in self.list_runs()}
            taken.update({self.name(c.run_id, c): c for c in self.list_planned() if c.run_id != config.run_id})
            self.runs.set(f"name/{config.run_id}", unique_name(config, taken))

    def planned(self, run_id: str) -> RunConfig | None:
        """The config of a planned run not created yet, else ``None``."""
        text = self.runs.get(f"planned/{run_id}")
        return RunConfig.from_json(text) if text is not None and not self.has_run(run_id) else None

    def list_planned(self) -> list[RunConfig]:
        """Planned runs not created yet."""
        found = [self.planned(k.split("/", 1)[1]) for k in self.runs.iterkeys()
                 if isinstance(k, str) and k.startswith("planned/")]
        return [c for c in found if c is not None]

    def keep_out(self, run_id: str) -> None:
        """Remember that the user deleted the recorded run ``run_id``, so that following its log directory does not
        bring it back (:mod:`models.logdir_sync`)."""
        self.runs.set(f"deleted/{run_id}", time.time())

    def kept_out(self, run_id: str) -> bool:
        return f"deleted/{run_id}" in self.runs

    def has_run(self, run_id: str) -> bool:
        return f"run/{run_id}/meta" in self.runs

    def run_info(self, run_id: str) -> RunInfo:
        """Config and state of a run; ``KeyError`` naming the run when it is not stored."""
        meta = self._meta(run_id)
        config = RunConfig.from_json(self.runs.get(f"run/{run_id}/config"))
        state = meta["state"]
        if state == "training" and not owner_alive(meta.get("writer", ""), meta.get("updated", meta["created"])):
            state = INTERRUPTED
        return RunInfo(run_id=run_id, config=config, state=state, epochs_done=meta["epochs_done"],
                       created=meta["created"], message=meta["message"],
                       layer_sizes=tuple(meta["layer_sizes"]), n_probe=meta["n_probe"],
                       class_names=tuple(meta.get("class_names", ())), facts=dict(meta.get("facts", {})),
                       layer_notes=tuple(meta.get("layer_notes", ())),
                       image_shape=_image_shape(meta, config), unit=meta.get("unit", "epoch"),
                       name=self.name(run_id, config))

    def list_runs(self) -> list[RunInfo]:
        """All stored runs, newest first."""
        ids = [k.split("/")[1] for k in self.runs.iterkeys() if isinstance(k, str) and k.endswith("/meta")]
        return sorted((self.run_info(i) for i in ids), key=lambda r: r.created, reverse=True)

    def probe(self, run_id: str) -> dict[str, np.ndarray]:
        """The run's probe set: ``index``, ``X``, ``y`` and, where recorded, ``y_train`` and ``scrambled`` (see
        :meth:`create_run`)."""
        blob = self.runs.get(f"run/{run_id}/probe")
        if blob is None:
            raise KeyError(f"run {run_id!r} is not in the store")
        return decode_arrays(blob)

    def epoch(self, run_id: str, epoch: int) -> EpochRecord:
        """A visible epoch of a run; ``KeyError`` when it is not (yet) recorded (:class:`DamagedEpoch` when its
        record cannot be read)."""
        n_layers = len(self._visible_epoch(run_id, epoch)["layer_sizes"])
        arrays = self._read_epoch(run_id, epoch, [f"act{i}" for i in range(n_layers)])
        return EpochRecord(epoch=epoch, activations=[arrays[f"act{i}"] for i in range(n_layers)],
                           predictions=arrays.get("predictions"), confidence=arrays.get("confidence"),
                           metrics=json.loads(self.runs.get(f"run/{run_id}/metrics/{epoch}")),
                           extras={k[2:]: v for k, v in arrays.items() if k.startswith("x_")})

    def arrays(self, run_id: str, epoch: int, names: Sequence[str]) -> dict[str, np.ndarray]:
        """Arrays of a visible epoch by their stored names (``act<i>``, ``predictions``, ``confidence``,
        ``x_<extra>``), the epoch read once and only these decoded; a name not recorded is left out."""
        self._visible_epoch(run_id, epoch)
        return self._read_epoch(run_id, epoch, names=names)

    def _read_epoch(self, run_id: str, epoch: int, required: Sequence[str] = (),
                    names: Sequence[str] | None = None) -> dict[str, np.ndarray]:
        """A visible epoch's arrays (``names`` of them, those present; else all), which must hold ``required``.
        A record that cannot be read ends the run before it (:meth:`mark_damaged`) and raises
        :class:`DamagedEpoch` naming it: one damaged epoch costs the epochs from it on, never the run."""
        blob = self.runs.get(f"run/{run_id}/epoch/{epoch}")
        try:
            if blob is None:
                raise KeyError("its record is missing")
            arrays = decode_arrays(blob, names, present_only=True)
            missing = [name for name in required if name not in arrays]
            if missing:
                raise KeyError(f"no {', '.join(missing)}")
        except (KeyError, ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
            raise DamagedEpoch(self.mark_damaged(run_id, epoch, exc)) from None
        return arrays

    def mark_damaged(self, run_id: str, epoch: int, exc: BaseException) -> str:
        """End the run before its damaged ``epoch`` (state ``failed``, its message naming the epoch and what is
        wrong; the epochs before it stay as they are); returns the message."""
        what = f"{type(exc).__name__}: {exc}"[:200]
        kept = f"the run ends at epoch {epoch - 1}" if epoch else "no epoch of the run is kept"
        message = f"epoch {epoch} of run {run_id} is damaged ({what}): {kept}"
        with self.runs.transact():
            meta = self._meta(run_id)
            if meta["epochs_done"] > epoch:
                meta.update(epochs_done=epoch, state="failed", message=message)
                self.runs.set(f"run/{run_id}/meta", json.dumps(meta))
                logger.error("%s", message)
        return message

    def layer_weights(self, run_id: str, epoch: int, n_layers: int, prefix: str = ""
                      ) -> list[tuple[np.ndarray, np.ndarray]] | None:
        """Weights recorded at ``epoch`` as extras ``{prefix}w{i}`` / ``{prefix}b{i}`` (an MLP on 2-D inputs: no
        prefix; a VAE's decoder: ``d``), ``(W, b)`` for ``i`` in ``0 .. n_layers - 1``; ``None`` when not all are
        recorded."""
        found = self.arrays(run_id, epoch, [f"x_{prefix}{kind}{i}" for i in range(n_layers) for kind in "wb"])
        if len(found) != 2 * n_layers:
            return None
        return [(found[f"x_{prefix}w{i}"], found[f"x_{prefix}b{i}"]) for i in range(n_layers)]

    def extras(self, run_id: str, epoch: int, names: Sequence[str]) -> dict[str, np.ndarray]:
        """Named extra arrays of a visible epoch (see :class:`EpochRecord`); ``KeyError`` naming a missing one."""
        found = self.arrays(run_id, epoch, [f"x_{n}" for n in names])
        missing = [n for n in names if f"x_{n}" not in found]
        if missing:
            raise KeyError(f"run {run_id!r} epoch {epoch} has no {', '.join(missing)}")
        return {n: found[f"x_{n}"] for n in names}

    def activations(self, run_id: str, epoch: int, layer: int) -> np.ndarray:
        """One hidden layer's activations at a visible epoch, (n_probe, units), without decoding the others."""
        n_layers = len(self._meta(run_id)["layer_sizes"])
        if not 0 <= layer < n_layers:
            raise KeyError(f"layer {layer} of run {run_id!r} does not exist (layers: 0..{n_layers - 1})")
        return self.arrays(run_id, epoch, [f"act{layer}"])[f"act{layer}"]

    def outputs(self, run_id: str, epoch: int) -> tuple[np.ndarray | None, np.ndarray | None, dict[str, float]]:
        """Predictions (n_probe,), their confidence (n_probe,) (both ``None`` for a model that does not
        classify) and the metrics of a visible epoch, without decoding its activations."""
        found = self.arrays(run_id, epoch, ["predictions", "confidence"])
        metrics = json.loads(self.runs.get(f"run/{run_id}/metrics/{epoch}"))
        return found.get("predictions"), found.get("confidence"), metrics

    def metrics(self, run_id: str) -> list[dict[str, float]]:
        """Per-epoch metrics of the visible epochs, in epoch order."""
        meta = self._meta(run_id)
        return [json.loads(self.runs.get(f"run/{run_id}/metrics/{e}")) for e in range(meta["epochs_done"])]

    def _visible_epoch(self, run_id: str, epoch: int) -> dict[str, Any]:
        """The run's meta, after checking that ``epoch`` is visible (``KeyError`` naming the range if not)."""
        meta = self._meta(run_id)
        if not 0 <= epoch < meta["epochs_done"]:
            raise KeyError(f"epoch {epoch} of run {run_id!r} is not recorded (recorded: 0..{meta['epochs_done'] - 1})")
        return meta

    def _meta(self, run_id: str) -> dict[str, Any]:
        text = self.runs.get(f"run/{run_id}/meta")
        if text is None:
            raise KeyError(f"run {run_id!r} is not in the store")
        return json.loads(text)

    # -- sweeps ------------------------------------------------------------------------------------------
    def put_sweep(self, sweep_id: str, record: dict[str, Any]) -> None:
        """Store a sweep's description (JSON-serialisable: its base config, betas and run ids)."""
        self.runs.set(f"sweep/{sweep_id}", json.dumps(record))

    def sweep(self, sweep_id: str) -> dict[str, Any]:
        """A sweep's description; ``KeyError`` naming it when not stored."""
        text = self.runs.get(f"sweep/{sweep_id}")
        if text is None:
            raise KeyError(f"sweep {sweep_id!r} is not in the store")
        return json.loads(text)

    def list_sweeps(self) -> list[str]:
        """Ids of the stored sweeps."""
        return sorted(k.split("/", 1)[1] for k in self.runs.iterkeys() if isinstance(k, str) and k.startswith("sweep/"))

    # -- locks ------------------------------------------------------------------------------------------
    def try_lock(self, name: str, owner: str, ttl: float) -> bool:
        """Take the lock ``name`` for ``owner`` (``host:pid:tag``, see :func:`process_owner`) unless a live
        process holds it; it lapses after ``ttl`` seconds, or at once when its holder on this host is gone."""
        key = f"lock/{name}"
        with self.runs.transact():
            holder = self.runs.get(key)
            if holder is not None and owner_alive(holder):
                return False
            self.runs.set(key, owner, expire=ttl)
            return True

    def claim_training(self, claim: str, limit: int) -> list[str]:
        """Take one of ``limit`` training places for ``claim`` (a run or sweep id) in this process, checked and
        taken in one transaction, so that jobs started together cannot all pass the bound; returns ``[]`` when
        taken (or already held), else what holds every place (runs being trained, and claims of live
        processes). A claim lapses when its process is gone; :meth:`release_training` ends it."""
        with self.runs.transact():
            claims = {key.split("/", 1)[1]: self.runs.get(key, "") for key in self.runs.iterkeys()
                      if isinstance(key, str) and key.startswith("claim/")}
            owners = {owner for owner in claims.values() if owner_alive(owner)}
            held = {name for name, owner in claims.items() if owner in owners}
            # a run trained under a claim (a sweep's run, by the sweep's job) holds no second place
            held |= {info.run_id for info in self.list_runs()
                     if info.state == "training" and self._meta(info.run_id).get("writer") not in owners}
            if claim in held:
                return []
            if len(held) >= limit:
                return sorted(held)
            self.runs.set(f"claim/{claim}", process_owner())
            return []

    def release_training(self, claim: str) -> None:
        """End this process's training claim ``claim`` (:meth:`claim_training`)."""
        with self.runs.transact():
            if self.runs.get(f"claim/{claim}") == process_owner():
                self.runs.delete(f"claim/{claim}")

    def refresh_lock(self, name: str, owner: str, ttl: float) -> None:
        """Extend ``owner``'s hold on ``name`` by ``ttl`` seconds from now."""
        with self.runs.transact():
            if self.runs.get(f"lock/{name}") == owner:
                self.runs.touch(f"lock/{name}", expire=ttl)

    def release_lock(self, name: str, owner: str) -> None:
        with self.runs.transact():
            if self.runs.get(f"lock/{name}") == owner:
                self.runs.delete(f"lock/{name}")

    # -- derived data -----------------------------------------------------------------------------------
    def put_derived(self, key: str, arrays: dict[str, np.ndarray]) -> None:
        """Store recomputable arrays under ``key``; least recently used entries are evicted to keep derived data
        within what the runs leave of the size limit."""
        limit = self._derived_limit()
        if abs(limit - self.derived.size_limit) > 2**20:
            self.derived.reset("size_limit", limit)
        self.derived.set(key, encode_arrays(arrays))

    def get_derived(self, key: str) -> dict[str, np.ndarray] | None:
        """Arrays under ``key``; ``None`` if absent, evicted, or unreadable (then discarded with a warning)."""
        blob = self.derived.get(key)
        if blob is None:
            return None
        try:
            return decode_arrays(blob)
        except (ValueError, OSError, EOFError, KeyError, zipfile.BadZipFile) as exc:
            logger.warning("Discarding corrupted cache entry %s (%s); it will be recomputed", key, exc)
            self.derived.delete(key)
            return None

    def has_derived(self, key: str) -> bool:
        """Whether arrays are stored under ``key`` (not read)."""
        return key in self.derived

    # -- indices: names that point at derived entries -----------------------------------------------------
    def pointer(self, name: str) -> str | None:
        """The derived key the index entry ``name`` points at (e.g. a run's measures or CKA), or ``None``."""
        return self.derived.get(f"index/{name}")

    def set_pointer(self, name: str, key: str) -> None:
        """Point the index entry ``name`` at the derived entry ``key`` (store the entry first)."""
        self.derived.set(f"index/{name}", key)

    # -- the frame index: which layout is the frame of (run, sequence, layer, epoch) -------------------------
    @staticmethod
    def _frame_name(run_id: str, sequence: str, layer: int, epoch: int) -> str:
        return f"frames/{run_id}/{sequence}/{layer}/{epoch}"

    def indexed_frame(self, run_id: str, sequence: str, layer: int, epoch: int) -> str | None:
        """The derived key of the layout that is frame ``epoch`` of ``layer`` in ``sequence`` (a digest of how it
        was laid out: :func:`frames.index.sequence_id`), or ``None`` while none is indexed. The layout itself may
        have been evicted since (:meth:`has_derived`)."""
        return self.derived.get(self._frame_name(run_id, sequence, layer, epoch))

    def indexed_frames(self, run_id: str, sequence: str, layer: int, n_epochs: int) -> list[str | None]:
        """:meth:`indexed_frame` of epochs ``0 .. n_epochs - 1``."""
        return [self.indexed_frame(run_id, sequence, layer, epoch) for epoch in range(n_epochs)]

    def index_frame(self, run_id: str, sequence: str, layer: int, epoch: int, key: str) -> None:
        """Make the stored layout ``key`` frame ``epoch`` of ``layer`` in ``sequence`` (store the layout, its
        scores and its extent first: the page takes an indexed frame as ready). Frame indices go with their run
        (:meth:`delete_run`)."""
        self.derived.set(self._frame_name(run_id, sequence, layer, epoch), key)

    def unindex_frame(self, run_id: str, sequence: str, layer: int, epoch: int) -> None:
        """Forget a frame whose layout is gone (evicted or corrupt): it reads as not laid out until laid out
        again."""
        self.derived.delete(self._frame_name(run_id, sequence, layer, epoch))
