"""A run made ready for the page: trained if needed (or followed while another process trains it), each recorded
epoch laid out in every layer as soon as it is stored (with the views derived from its weights:
:class:`analysis.epoch_stages.EpochViews`), then measured (:func:`analysis.stage.compute_measures`).

Every function takes the :class:`RunStore` explicitly and is safe to call from several processes: the store
is the only shared state, and one job at a time prepares a given run (a lock in the store), while others
follow its progress.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numba
from threadpoolctl import threadpool_limits

from analysis.epoch_stages import EpochViews
from analysis.stage import compute_measures
from frames.chains import LOCK_TTL, ChainSender, LayerChains
from frames.compute import compute_frames
from frames.index import count_ready
from layout_engine.params import LayoutParams
from models.config import RunConfig
from models.progress import Reporter
from models.store import DamagedEpoch, RunInfo, RunStore, lock_owner
from models.sweep import sweep_of
from models.train import RunBusy, train, training_threads

logger = logging.getLogger(__name__)

#: the stage a job reports while another job prepares the same run
WAITING = "Following another job"


class JobStopped(RuntimeError):
    """A job was asked to stop."""


def run_ready(store: RunStore, run_id: str) -> bool:
    """Whether the run is stored and finished (complete, or diverged with the epochs before it)."""
    return store.has_run(run_id) and store.run_info(run_id).state in ("complete", "diverged")


def ensure_run(store: RunStore, config: RunConfig, report: Reporter | None = None) -> RunInfo:
    """The finished run of ``config``, training it first when it is missing or was interrupted (a custom run
    is recorded by its own script, never trained here: it is shown as far as it is recorded)."""
    if config.model == "custom":
        return store.run_info(config.run_id)
    if not run_ready(store, config.run_id):
        train(config, store, progress=report)
    return store.run_info(config.run_id)


def prepare_lock(run_id: str, params: LayoutParams) -> str:
    """The lock the job that prepares a run with ``params`` holds (one such job at a time)."""
    return f"prepare/{run_id}/{params.digest()}"


#: the job's stage while it lays out the epochs of a run that another process trains or records
FOLLOWING = "Following the training"


def prepare(store: RunStore, config: RunConfig, params: LayoutParams, report: Reporter | None = None,
            *, send: ChainSender | None = None, poll_s: float = 0.5) -> tuple[RunInfo, int]:
    """Train the run of ``config`` if needed, lay out all its frames and measure them
    (:func:`analysis.stage.compute_measures`); returns its info and frames ready.

    The layout follows the training: each epoch is laid out in every layer as soon as it is stored, whether
    this job trains the run or another process does (the command line, the new-run form, a recorder in your own
    loop), so the page shows a run while it trains. Only one job prepares a run at a time; another job for the
    same run follows its progress (stage :data:`WAITING`) and then finds everything cached.

    With ``send`` (Celery workers), the layers' chains are spread over the workers (:class:`LayerChains`);
    otherwise a finished run's chains run in :func:`frames.compute.chain_workers` processes beside this one.
    """
    owner = lock_owner()
    lock = prepare_lock(config.run_id, params)
    while not store.try_lock(lock, owner, LOCK_TTL):
        if report is not None and report(WAITING, *_progress_in_store(store, config.run_id, params)):
            raise JobStopped(f"stopped while waiting for another job on {config.run_id}")
        time.sleep(poll_s)

    def locked_report(stage: str, done: int, total: int) -> bool | None:
        store.refresh_lock(lock, owner, LOCK_TTL)
        return report(stage, done, total) if report is not None else None

    try:
        retries = 0
        while True:
            try:
                return _prepare_locked(store, config, params, locked_report, send, poll_s)
            except DamagedEpoch as exc:  # the run now ends before the damaged epoch: go on with what it holds
                retries += 1
                if retries > DAMAGE_RETRIES:
                    raise
                logger.warning("Preparing %s again: %s", config.run_id, exc)
    finally:
        store.release_lock(lock, owner)


#: how many times a job goes on after finding a damaged epoch (each ends the run before it: a page-trained run
#: is then trained again, a recorded one shown as far as it is whole)
DAMAGE_RETRIES = 2


def _prepare_locked(store: RunStore, config: RunConfig, params: LayoutParams, report: Reporter,
                    send: ChainSender | None, poll_s: float) -> tuple[RunInfo, int]:
    chains = LayerChains(store, config.run_id, params, list(range(len(config.layer_sizes))), send)
    info = train_following(store, config, params, report, chains=chains, poll_s=poll_s)
    EpochViews(store, info.run_id).advance()
    for _, other in sweep_of(store, info.run_id) or []:  # the panel compares the sweep's finished runs
        if other != info.run_id and run_ready(store, other):
            EpochViews(store, other).advance()
    ready = (chains.finish(report, poll_s=poll_s) if send is not None
             else compute_frames(store, info, params, report))
    if ready == len(info.layer_sizes) * info.epochs_done:
        compute_measures(store, info, report)
    return info, ready


def train_following(store: RunStore, config: RunConfig, params: LayoutParams, report: Reporter | None = None,
                    *, chains: LayerChains | None = None, poll_s: float = 0.5) -> RunInfo:
    """The run of ``config`` trained (by this process, or by another that holds it: then followed until it
    stops), each recorded epoch laid out in every layer as soon as it is stored (beside the training, by a
    :class:`LayoutFollower`, when this process trains); returns the run's info.

    Stops following when ``report`` says so, or when the run is no longer being trained (finished, diverged,
    or left interrupted by a process that died: then this process resumes it, unless it is a custom run, which
    only its own script records). ``chains`` lays the epochs out (default: every layer, in this process).
    """
    if chains is None:
        chains = LayerChains(store, config.run_id, params, list(range(len(config.layer_sizes))))

    views = EpochViews(store, config.run_id)

    def lay_out(last_epoch: int, each: Callable[[], None] | None = None) -> None:
        views.advance()  # cheap (the input plane, the decoder's coherence)
        for _ in chains.advance(last_epoch):
            if each is not None:
                each()

    while True:
        info = store.run_info(config.run_id) if store.has_run(config.run_id) else None
        if info is not None and info.state == "training":  # another live process trains or records it: follow
            following = _follower(store, info, params, report)
            following()  # said at once, then after each frame laid out
            if info.epochs_done:
                lay_out(info.epochs_done - 1, following)
            time.sleep(poll_s)
            continue
        if config.model == "custom" or run_ready(store, config.run_id):
            return store.run_info(config.run_id)
        try:
            _train_beside_layouts(store, config, report, lay_out)
        except RunBusy:  # another process took the run between our look and our lock: follow it
            time.sleep(poll_s)
            continue
        return store.run_info(config.run_id)


def _train_beside_layouts(store: RunStore, config: RunConfig, report: Reporter | None,
                          lay_out: Callable[[int, Callable[[], None] | None], None]) -> None:
    """Train the run with a :class:`LayoutFollower` laying out each epoch stored (:class:`models.train.RunBusy`
    when another process took the run first)."""
    follower = LayoutFollower(lay_out)
    stopped = []

    def on_epoch(stage: str, done: int, total: int) -> bool | None:
        stop = report(stage, done, total) if report is not None else None
        if stop:
            stopped.append(done)
        else:
            follower.stored(done)  # epochs 0..done are stored: laid out beside the training, not between
        return stop

    try:
        with _cores_shared():
            train(config, store, progress=on_epoch)
    except BaseException:
        follower.finish(stop=True, quiet=True)  # what the training raised is what the job reports
        raise
    follower.finish(stop=bool(stopped))  # a job told to stop lays out no more


@contextmanager
def _cores_shared() -> Iterator[None]:
    """Every BLAS / OpenMP pool on :func:`models.train.training_threads` threads (the training's own count: its
    bits do not change) while the layouts follow the training (on as many: :class:`LayoutFollower`). On the
    default run (2 cores), training alone took 2.4 s; beside the layouts 6.9 s with every pool at 2 threads,
    3.2 s with one each."""
    with threadpool_limits(training_threads()):
        yield


class _Stopped(Exception):
    """The follower was told to stop between two frames."""


class LayoutFollower:
    """Lays out each epoch the training stores, in a thread beside it, so that training never waits for the
    layouts: laid out between the epochs, the default run's 30 epochs took about 90 s to train instead of 2.

    While training runs the layouts use half the cores (:func:`models.train.training_threads`; numba's thread
    count is per thread) and the training the rest; once it has finished, :meth:`finish` waits for the layouts
    of every stored epoch, on all cores. The force kernel releases the GIL (``nogil``), so the training's Python
    steps go on while a frame is laid out.
    """

    def __init__(self, lay_out: Callable[[int, Callable[[], None] | None], None]) -> None:
        self._lay_out = lay_out
        self._latest, self._done = -1, -1
        self._training, self._stop = True, False
        self._error: BaseException | None = None
        self._threads = numba.get_num_threads()  # the caller's: all cores unless told otherwise
        self._wake = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="epochscope-layout", daemon=True)
        self._thread.start()

    def stored(self, epoch: int) -> None:
        """Epochs 0..``epoch`` are stored: lay them out."""
        with self._wake:
            self._latest = max(self._latest, epoch)
            self._wake.notify()

    def finish(self, *, stop: bool, quiet: bool = False) -> None:
        """The training has ended: lay out what is left (or, with ``stop``, stop after the frame being laid
        out), wait for it, and raise what the layouts raised (unless ``quiet``)."""
        with self._wake:
            self._training, self._stop = False, stop
            self._wake.notify()
        self._thread.join()
        if self._error is not None and not quiet:
            raise self._error

    def _check(self) -> None:
        if self._stop:
            raise _Stopped

    def _run(self) -> None:
        try:
            while True:
                with self._wake:
                    while self._latest <= self._done and self._training and not self._stop:
                        self._wake.wait()
                    if self._stop or self._latest <= self._done:
                        return
                    target, training = self._latest, self._training
                numba.set_num_threads(min(training_threads(), self._threads) if training else self._threads)
                self._lay_out(target, self._check)
                self._done = target
        except _Stopped:
            return
        except BaseException as exc:  # raised again in the training's thread by finish
            self._error = exc


#: seconds between two reports while following (each counts the run's frames: every layer x epoch looked up)
FOLLOW_REPORT_S = 0.5


def _follower(store: RunStore, info: RunInfo, params: LayoutParams, report: Reporter | None) -> Callable[[], None]:
    """Reports the frames laid out of a run another process trains or records (of the epochs it plans, or, for a
    recorded run, of those recorded so far), at most every :data:`FOLLOW_REPORT_S`; ``JobStopped`` when the
    report says stop."""
    planned = info.epochs_done if info.config.model == "custom" else info.config.epochs + 1
    total = len(info.layer_sizes) * planned
    last = [-FOLLOW_REPORT_S]

    def following() -> None:
        now = time.monotonic()
        if report is None or now - last[0] < FOLLOW_REPORT_S:
            return
        last[0] = now
        if report(FOLLOWING, count_ready(store, info, params), total):
            raise JobStopped(f"stopped while following the training of {info.run_id}")
    return following


def _progress_in_store(store: RunStore, run_id: str, params: LayoutParams) -> tuple[int, int]:
    if not store.has_run(run_id):
        return 0, 1
    info = store.run_info(run_id)
    if info.state == "training":
        return info.epochs_done, info.config.epochs + 1
    return count_ready(store, info, params), len(info.layer_sizes) * info.epochs_done
