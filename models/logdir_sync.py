"""Runs in a log directory (:mod:`epochscope.record.logdir`), brought into the store as they grow.

Each run folder becomes a ``custom`` run of the store (:func:`log_config`: its id is fixed by the run's uid, so a
copied folder is the same run), and each record an epoch, in order; the store's run names the log's writer, so
it reads ``training`` while that process records and ``interrupted`` once it is gone, and takes the log's final
state. Derived data (layouts, measures) is then cached in the store as for any run. A damaged record stops the
run at the record before it, which the run's message names.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

from epochscope.record.logdir import INTERRUPTED, LogdirError, LogRun, list_runs, read_probe, read_record
from models.config import RunConfig
from models.store import EpochRecord, RunStore, lock_owner

logger = logging.getLogger(__name__)


def log_config(run: LogRun) -> RunConfig:
    """The store's config of a log directory's run: a ``custom`` run named by its folder, its layers, and its
    uid."""
    header = run.header
    return RunConfig(model="custom", dataset=run.path.name, hidden=header.layer_sizes, layers=header.layers,
                     epochs=0, seed=header.seed, probe_size=header.n_probe, data_hash=header.uid)


@dataclass
class SyncResult:
    """What one pass over a log directory did: the store's ids of its runs, and the epochs it added."""

    run_ids: list[str] = field(default_factory=list)
    added: int = 0


def _mirror_state(store: RunStore, run_id: str, run: LogRun, complete_up_to: int, damaged: str) -> None:
    """The store's run takes the log's state once all its records are in (or one is damaged)."""
    info = store.run_info(run_id)
    if damaged:
        if info.state != "failed":
            store.finish_run(run_id, "failed", damaged)
    elif complete_up_to < run.records:
        store.set_writer(run_id, run.writer, run.updated)
    elif run.state in ("complete", "failed"):
        if info.state != run.state:
            store.finish_run(run_id, run.state, run.message)
    elif run.state == INTERRUPTED:
        if info.state == "training":
            store.leave_run(run_id)
    else:
        store.set_writer(run_id, run.writer, run.updated)


def sync_run(store: RunStore, run: LogRun, max_records: int | None = None) -> tuple[str | None, int]:
    """Bring one run's new records into the store; its store id (``None`` before its first record) and the
    epochs added. ``max_records`` bounds the records read in one call (the rest on the next)."""
    if run.records == 0:
        return None, 0
    config = log_config(run)
    run_id = config.run_id
    if store.kept_out(run_id):  # deleted in the page or by `epochscope delete`: its files stay, unshown
        return None, 0
    header = run.header
    if not store.has_run(run_id):
        store.create_run(config, read_probe(run.path), header.layer_sizes, header.class_names,
                         image_shape=header.image_shape, layer_notes=header.layer_notes, unit=header.unit,
                         writer=run.writer)
        logger.info("Following %s as run %s", run.path, run_id)
    done = store.run_info(run_id).epochs_done
    stop = run.records if max_records is None else min(run.records, done + max_records)
    damaged = ""
    for index in range(done, stop):
        try:
            rec = read_record(run.path, index, len(header.layers))
        except LogdirError as exc:
            damaged = f"record {index} is damaged, the run stops at {index - 1}: {exc}"
            logger.warning("%s: %s", run_id, damaged)
            break
        metrics = dict(rec.metrics) | ({"step": float(rec.step)} if rec.step is not None else {})
        store.put_epoch(run_id, EpochRecord(epoch=index, activations=rec.activations(len(header.layers)),
                                            predictions=rec.arrays.get("predictions"),
                                            confidence=rec.arrays.get("confidence"), metrics=metrics,
                                            extras=rec.extras), writer=run.writer, updated=run.updated)
    done_now = store.run_info(run_id).epochs_done
    _mirror_state(store, run_id, run, done_now, damaged)
    return run_id, done_now - done


def sync_logdir(store: RunStore, logdir: str | os.PathLike, max_records: int | None = None) -> SyncResult:
    """Bring every run under ``logdir`` into the store as far as it is recorded (see the module docstring); a run
    that cannot be read is left out with a warning naming its folder."""
    result = SyncResult()
    for run in list_runs(Path(logdir)):
        try:
            run_id, added = sync_run(store, run, max_records)
        except (LogdirError, ValueError, OSError) as exc:
            logger.warning("Skipping %s: %s", run.path, exc)
            continue
        if run_id is not None:
            result.run_ids.append(run_id)
            result.added += added
    return result


#: the store lock held while a process syncs a log directory (one process at a time)
SYNC_LOCK = "logdir-sync"


class LogdirFollower:
    """Keeps the store in step with a log directory: :meth:`sync_now`, and every ``interval_s`` from a daemon
    thread once :meth:`start` ed. Several processes (gunicorn workers) may follow one log directory: one at a time
    syncs (a lock in the store).

    Parameters
    ----------
    store_dir : path
    logdir : path
        Created if missing, so that a server may start before the first run is recorded.
    interval_s : float
        Seconds between passes.
    """

    def __init__(self, store_dir: str | os.PathLike, logdir: str | os.PathLike, interval_s: float = 1.0) -> None:
        self.store_dir, self.logdir, self.interval_s = Path(store_dir), Path(logdir), interval_s
        self.logdir.mkdir(parents=True, exist_ok=True)
        self._store = RunStore(self.store_dir)  # one handle for every pass (diskcache's are thread-safe)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def sync_now(self, max_records: int | None = None) -> SyncResult:
        """One pass (nothing when another process is syncing)."""
        owner = lock_owner()
        if not self._store.try_lock(SYNC_LOCK, owner, ttl=120.0):
            return SyncResult()
        try:
            return sync_logdir(self._store, self.logdir, max_records)
        finally:
            self._store.release_lock(SYNC_LOCK, owner)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._follow, name="logdir-follower", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._store.close()

    def _follow(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.sync_now(max_records=50)
            except Exception:  # the follower must outlive a bad pass (a full disk, a store being reset)
                logger.exception("Following %s failed; trying again", self.logdir)
