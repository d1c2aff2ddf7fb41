"""The log directory: how a recorder hands a run to EpochScope, as TensorBoard's event files do. This module is
its one schema, writer and reader; it needs numpy only.

Layout (format version :data:`VERSION`)::

    LOGDIR/
      <run>/                   one folder per run, named by the run (a second run of one name gets -2, -3, ...)
        probe.npz              the probe set, written once: index (n,) int64, X (n, features) float32 (empty
                               (n, 0) when the inputs are not one tensor), y (n,) int64
        status.json            the writer's state, replaced atomically after every record
        run.json               the run's header, written once, last of the three: a folder is a run from then on
        records/00000000.npz   one file per recorded epoch or step, append-only, 0, 1, 2, ... (see RECORD_ARRAYS)

Every file is written to a hidden temporary name in its folder and renamed into place (``os.replace``), after
``fsync``: a reader sees a whole file or none, so a writer killed at any point leaves whole records only. A
record is visible once its file exists; the records ``0 .. n - 1`` present without a gap are the run's.

``run.json``: ``format`` (:data:`FORMAT`), ``version``, ``uid`` (16 hex digits, unique per run: a copied folder
keeps it), ``name``, ``created`` (Unix time), ``unit`` (``epoch`` or ``step``: what each record stands for),
``layers`` (names), ``layer_sizes``, ``layer_notes`` (how each layer's units were made, in words),
``class_names``, ``n_probe``, ``image_shape`` ((height, width) of a sample shown as an image, or null), ``seed``.

``status.json``: ``state`` (``recording``, ``complete`` or ``failed``), ``writer`` (``host:pid``), ``updated``
(Unix time of the last write), ``records`` (how many are written), ``message``. A run whose writer is gone while
``recording`` (killed: checked by pid on the writer's host, elsewhere after :data:`~epochscope.record.liveness.
REMOTE_WRITER_TTL` seconds without a write) reads as ``interrupted``.

A record file holds ``act<i>`` (n, layer_sizes[i]) float32 per layer; ``predictions`` (n,) int64 and
``confidence`` (n,) float32 when the model classifies; per-sample extras as ``x_<name>`` (``x_loss``,
``x_label_prob``, ``x_sens<i>``: see :class:`epochscope.record.recorder.Recorder`); and ``record``, a JSON string:
``index``, ``epoch``, ``step`` (the training step, or null), ``time`` and ``metrics`` (name -> number).
Arrays are read with ``allow_pickle=False``.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import time
import uuid
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from epochscope.record.liveness import owner_alive, process_owner

logger = logging.getLogger(__name__)

FORMAT = "epochscope-logdir"
#: the layout's version; a reader refuses a run written in a newer one
VERSION = 1
UNITS = ("epoch", "step")
#: states written in ``status.json``; a reader adds :data:`INTERRUPTED`
STATES = ("recording", "complete", "failed")
INTERRUPTED = "interrupted"
#: a run's name and its layers' names: letters, digits, ``_ . -``, 1..64 characters
NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
#: the most classes a run may name, and the longest class name, in characters: labels are bounded where data
#: enters (every view of a run sends its class names)
MAX_CLASSES, CLASS_NAME_MAX = 1000, 64
#: what a record file holds besides its per-layer ``act<i>`` and its ``x_<extra>`` arrays
RECORD_ARRAYS = ("predictions", "confidence", "record")
RUN_FILE, STATUS_FILE, PROBE_FILE, RECORDS = "run.json", "status.json", "probe.npz", "records"


def class_names_problem(names: Sequence[str]) -> str | None:
    """What is wrong with a run's class names (``None``: nothing): at most :data:`MAX_CLASSES`, each 1 to
    :data:`CLASS_NAME_MAX` characters."""
    if len(names) > MAX_CLASSES:
        return f"class_names must be at most {MAX_CLASSES} names, got {len(names)}"
    long = [i for i, n in enumerate(names) if not 1 <= len(str(n)) <= CLASS_NAME_MAX]
    if long:
        return (f"each class name must be 1..{CLASS_NAME_MAX} characters; class {long[0]} has "
                f"{len(str(names[long[0]]))}")
    return None


class LogdirError(ValueError):
    """A log directory's file that cannot be read as this format: names the file and what is wrong."""


@dataclass(frozen=True)
class RunHeader:
    """``run.json``: what a run is (module docstring)."""

    name: str
    layers: tuple[str, ...]
    layer_sizes: tuple[int, ...]
    n_probe: int
    class_names: tuple[str, ...]
    unit: str = "epoch"
    layer_notes: tuple[str, ...] = ()
    image_shape: tuple[int, int] | None = None
    seed: int = 0
    uid: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    created: float = field(default_factory=time.time)

    def __post_init__(self) -> None:
        if not NAME.match(self.name):
            raise ValueError(f"name must be 1..64 letters, digits or _.-, got {self.name!r}")
        bad = [n for n in self.layers if not NAME.match(n)]
        if not self.layers or bad:
            raise ValueError(f"layers must be 1 or more names of 1..64 letters, digits or _.-, got {bad or '[]'}")
        if len(self.layer_sizes) != len(self.layers) or any(int(s) < 1 for s in self.layer_sizes):
            raise ValueError(f"layer_sizes must give each layer's width (>= 1), got {self.layer_sizes}")
        if self.unit not in UNITS:
            raise ValueError(f"unit must be one of {', '.join(UNITS)}, got {self.unit!r}")
        if self.layer_notes and len(self.layer_notes) != len(self.layers):
            raise ValueError("layer_notes must have one note per layer")
        problem = class_names_problem(self.class_names)
        if problem:
            raise ValueError(problem)
        if not re.fullmatch(r"[0-9a-f]{16}", self.uid):
            raise ValueError(f"uid must be 16 hex digits, got {self.uid!r}")

    def to_json(self) -> str:
        return json.dumps({"format": FORMAT, "version": VERSION, **asdict(self)}, indent=1)

    @classmethod
    def from_json(cls, text: str, source: str = RUN_FILE) -> RunHeader:
        """The header in ``text``; :class:`LogdirError` naming ``source`` when it is not one this reads."""
        try:
            data = json.loads(text)
            if data.get("format") != FORMAT:
                raise LogdirError(f"{source}: not an EpochScope run (format {data.get('format')!r})")
            if int(data.get("version", 0)) > VERSION:
                raise LogdirError(f"{source}: written in format version {data['version']}; this EpochScope reads "
                                  f"up to {VERSION} (upgrade it)")
            image_shape = data.get("image_shape")
            return cls(name=data["name"], layers=tuple(data["layers"]),
                       layer_sizes=tuple(int(s) for s in data["layer_sizes"]), n_probe=int(data["n_probe"]),
                       class_names=tuple(str(c) for c in data["class_names"]), unit=data.get("unit", "epoch"),
                       layer_notes=tuple(data.get("layer_notes", ())),
                       image_shape=(int(image_shape[0]), int(image_shape[1])) if image_shape else None,
                       seed=int(data.get("seed", 0)), uid=data["uid"], created=float(data["created"]))
        except LogdirError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
            raise LogdirError(f"{source}: {type(exc).__name__}: {exc}") from None


@dataclass(frozen=True)
class Record:
    """One recorded epoch or step: its arrays (module docstring) and what ``record`` says."""

    index: int
    epoch: int | None
    step: int | None
    time: float
    metrics: dict[str, float]
    arrays: dict[str, np.ndarray]

    def activations(self, n_layers: int) -> list[np.ndarray]:
        return [self.arrays[f"act{i}"] for i in range(n_layers)]

    @property
    def extras(self) -> dict[str, np.ndarray]:
        return {k[2:]: v for k, v in self.arrays.items() if k.startswith("x_")}


@dataclass(frozen=True)
class LogRun:
    """A run found in a log directory, as its files say now."""

    path: Path
    header: RunHeader
    state: str
    records: int
    writer: str
    updated: float
    message: str


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` whole or not at all (a hidden temporary file, fsync, rename)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _npz(arrays: Mapping[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    stored: dict[str, Any] = {k: np.asarray(v) for k, v in arrays.items()}
    np.savez(buffer, **stored)
    return buffer.getvalue()


def record_path(run_dir: Path, index: int) -> Path:
    return run_dir / RECORDS / f"{index:08d}.npz"


class LogWriter:
    """Writes one run into a log directory (module docstring): :meth:`start`, then :meth:`append` per record,
    then :meth:`finish`.

    Parameters
    ----------
    logdir : path
        The log directory (created if missing).
    header : RunHeader
        The run; its folder is ``logdir / header.name``, or ``name-2``, ``name-3``, ... when that exists.
    """

    def __init__(self, logdir: str | os.PathLike, header: RunHeader) -> None:
        self.logdir, self.header = Path(logdir), header
        self.path: Path | None = None
        self.records = 0

    def start(self, probe: Mapping[str, np.ndarray]) -> Path:
        """Create the run's folder and write its probe set (``index``, ``X``, ``y``), status and header."""
        self.logdir.mkdir(parents=True, exist_ok=True)
        name, n = self.header.name, 1
        while True:
            path = self.logdir / name
            try:
                path.mkdir()
                break
            except FileExistsError:
                n += 1
                name = f"{self.header.name[:60]}-{n}"
        (path / RECORDS).mkdir()
        self.path = path
        write_atomic(path / PROBE_FILE, _npz(probe))
        self._status("recording")
        write_atomic(path / RUN_FILE, self.header.to_json().encode())
        return path

    def append(self, arrays: Mapping[str, np.ndarray], *, epoch: int | None, step: int | None,
               metrics: Mapping[str, float]) -> int:
        """Write the next record (its ``act<i>``, ``predictions``, ``confidence``, ``x_<extra>`` arrays) and
        return its index."""
        if self.path is None:
            raise RuntimeError("start the run before appending records")
        meta = {"index": self.records, "epoch": epoch, "step": step, "time": time.time(),
                "metrics": {str(k): float(v) for k, v in metrics.items()}}
        write_atomic(record_path(self.path, self.records), _npz({**arrays, "record": np.array(json.dumps(meta))}))
        self.records += 1
        self._status("recording")
        return self.records - 1

    def finish(self, state: str = "complete", message: str = "") -> None:
        if state not in STATES[1:]:
            raise ValueError(f"state must be one of {', '.join(STATES[1:])}, got {state!r}")
        if self.path is not None:
            self._status(state, message)

    def _status(self, state: str, message: str = "") -> None:
        assert self.path is not None
        status = {"state": state, "writer": process_owner(), "updated": time.time(), "records": self.records,
                  "message": message}
        write_atomic(self.path / STATUS_FILE, json.dumps(status).encode())


# -- reading -------------------------------------------------------------------------------------------------
def _count_records(run_dir: Path) -> int:
    """How many records ``0 .. n - 1`` are present without a gap."""
    present = {int(p.stem) for p in (run_dir / RECORDS).glob("*.npz") if p.stem.isdigit()}
    n = 0
    while n in present:
        n += 1
    return n


def read_run(run_dir: str | os.PathLike) -> LogRun:
    """The run in ``run_dir`` as its files say now; :class:`LogdirError` naming the file that is not readable."""
    run_dir = Path(run_dir)
    header = RunHeader.from_json((run_dir / RUN_FILE).read_text(), str(run_dir / RUN_FILE))
    try:
        status = json.loads((run_dir / STATUS_FILE).read_text())
        state, writer, updated = str(status["state"]), str(status.get("writer", "")), float(status["updated"])
        message = str(status.get("message", ""))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise LogdirError(f"{run_dir / STATUS_FILE}: {type(exc).__name__}: {exc}") from None
    if state not in STATES:
        raise LogdirError(f"{run_dir / STATUS_FILE}: state must be one of {', '.join(STATES)}, got {state!r}")
    if state == "recording" and not owner_alive(writer, updated):
        state = INTERRUPTED
    return LogRun(path=run_dir, header=header, state=state, records=_count_records(run_dir), writer=writer,
                  updated=updated, message=message)


def list_runs(logdir: str | os.PathLike) -> list[LogRun]:
    """Every run under ``logdir`` (its folders with a ``run.json``, at any depth), oldest first; a folder that
    cannot be read is left out with a warning naming it."""
    found = []
    for folder, dirs, files in os.walk(str(logdir)):
        # a run's records folder holds only records: not walked (a long run has thousands), nor hidden folders
        dirs[:] = sorted(d for d in dirs if d != RECORDS and not d.startswith("."))
        if RUN_FILE not in files:
            continue
        try:
            found.append(read_run(folder))
        except (LogdirError, OSError) as exc:
            logger.warning("Skipping %s: %s", folder, exc)
    return sorted(found, key=lambda r: r.header.created)


def _load(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise LogdirError(f"{path}: damaged ({type(exc).__name__}: {exc})") from None


def read_probe(run_dir: str | os.PathLike) -> dict[str, np.ndarray]:
    """The run's probe set: ``index`` (n,), ``X`` (n, features), ``y`` (n,)."""
    arrays = _load(Path(run_dir) / PROBE_FILE)
    missing = [k for k in ("index", "X", "y") if k not in arrays]
    if missing:
        raise LogdirError(f"{Path(run_dir) / PROBE_FILE}: no {', '.join(missing)}")
    return arrays


def read_record(run_dir: str | os.PathLike, index: int, n_layers: int) -> Record:
    """Record ``index`` of the run; :class:`LogdirError` naming its file when it is damaged or incomplete."""
    path = record_path(Path(run_dir), index)
    arrays = _load(path)
    try:
        meta: dict[str, Any] = json.loads(str(arrays.pop("record")))
    except (KeyError, ValueError) as exc:
        raise LogdirError(f"{path}: no readable 'record' entry ({exc})") from None
    missing = [f"act{i}" for i in range(n_layers) if f"act{i}" not in arrays]
    if missing:
        raise LogdirError(f"{path}: no {', '.join(missing)}")
    return Record(index=index, epoch=meta.get("epoch"), step=meta.get("step"), time=float(meta.get("time", 0.0)),
                  metrics={str(k): float(v) for k, v in dict(meta.get("metrics", {})).items()}, arrays=arrays)


def describe(run: LogRun) -> str:
    """One line about a run: its folder, state, records and layers."""
    unit = run.header.unit + ("s" if run.records != 1 else "")
    return (f"{run.path.name}  {run.state:<11}  {run.records} {unit}  layers "
            f"{', '.join(f'{n} ({s})' for n, s in zip(run.header.layers, run.header.layer_sizes))}")

