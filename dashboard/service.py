"""The service layer between Dash callbacks and the store: runs, frame sequences and their cache.

Every function takes the :class:`RunStore` explicitly and is safe to call from several processes: the store
is the only shared state, and one job at a time prepares a given run (a lock in the store), while others
follow its progress.
"""

from __future__ import annotations

import hashlib
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp

from analysis.representation import class_separation, knn_class_purity
from analysis.stage import cached_neighbours, compute_measures
from dashboard.typed import label_dtype, quantized, typed
from layout_engine.align import align_to, normalize
from layout_engine.baselines import BASELINES
from layout_engine.graph import knn_graph, nearest_neighbours
from layout_engine.metrics import trustworthiness
from layout_engine.pipeline import Frame, LayoutParams, build_graph, content_hash, frame_key, graph_key, next_frame
from models.config import RunConfig
from models.store import RunInfo, RunStore, lock_owner
from models.train import RunBusy, train

logger = logging.getLogger(__name__)

#: ``report(stage, done, total) -> stop?``; return True to stop the job (what is done so far is kept)
Reporter = Callable[[str, int, int], bool | None]

#: seconds a job's lock outlives its last sign of life (a killed job frees the run after this)
LOCK_TTL = 30.0
TRAINING, LAYOUT, WAITING = "Training", "Laying out frames", "Following another job"
#: a frame's scores (silhouette, trustworthiness, distance ratio) are estimated on this many samples
SILHOUETTE_POINTS = 600


#: per-frame scores of a layout the training panel plots, each estimated on SILHOUETTE_POINTS samples: class
#: silhouette, trustworthiness (k = 15), intra / inter-class distance ratio and neighbourhood hit (the 2-D twin of
#: the raw space's kNN class purity, :mod:`analysis.measures`)
SCORES = ("silhouette", "trust", "ratio", "nh")


def frame_scores(X: np.ndarray, display: np.ndarray, labels: np.ndarray) -> dict[str, np.ndarray]:
    """A frame's :data:`SCORES`, on a seeded subset of :data:`SILHOUETTE_POINTS` samples (exact versions cost
    O(n^2) per frame).

    Parameters
    ----------
    X : ndarray of shape (n, d)
        The layer's activations.
    display : ndarray of shape (n, 2)
        The frame's layout of the same samples.
    labels : ndarray of shape (n,)
        The labels trained on (:func:`score_labels`), as the raw-space measures use.
    """
    n = len(labels)
    subset = np.sort(np.random.default_rng(0).choice(n, size=min(n, SILHOUETTE_POINTS), replace=False))
    k = min(15, (len(subset) - 1) // 2)
    trust = trustworthiness(X[subset], display[subset], n_neighbors=k) if k >= 1 else float("nan")
    hit = (knn_class_purity(nearest_neighbours(display[subset], k)[0], labels[subset]).mean() if k >= 1
           else float("nan"))
    silhouette, ratio = class_separation(display[subset], labels[subset])  # one distance matrix for both
    return {"silhouette": np.array(silhouette), "trust": np.array(trust), "ratio": np.array(ratio),
            "nh": np.array(hit)}


def score_labels(probe: dict[str, np.ndarray]) -> np.ndarray:
    """The labels a layout is scored against: those trained on (the true class unless scrambled), so that a
    shuffled-label control scores as chance, as its raw-space measures do."""
    return probe.get("y_train", probe["y"])


#: bump when a score's definition changes: part of every score key
SCORES_VERSION = "2"


def score_key(layout_key: str, labels: np.ndarray) -> str:
    """Cache key of a layout's :data:`SCORES` against ``labels``: two runs can share a layout (the same
    activations, e.g. at epoch 0 of a run and of its shuffled-label control) but not its scores."""
    digest = hashlib.sha256(np.ascontiguousarray(labels, dtype=np.int64).tobytes()).hexdigest()[:16]
    return f"scores/{SCORES_VERSION}/{hashlib.sha256(layout_key.encode()).hexdigest()[:24]}/{digest}"


def ensure_scores(store: RunStore, layout_key: str, X: np.ndarray, display: np.ndarray,
                  labels: np.ndarray) -> dict[str, np.ndarray]:
    """The scores of the layout under ``layout_key`` (``display`` (n_nodes, 2), samples first) against
    ``labels`` (n,), computed and stored when missing."""
    key = score_key(layout_key, labels)
    cached = store.get_derived(key)
    if cached is None:
        cached = frame_scores(X, display[:len(labels)], labels)
        store.put_derived(key, cached)
    return cached


def read_scores(store: RunStore, layout_key: str | None, labels: np.ndarray) -> dict[str, float] | None:
    """The stored :data:`SCORES` of a layout against ``labels``, or ``None`` while not computed."""
    cached = store.get_derived(score_key(layout_key, labels)) if layout_key is not None else None
    return None if cached is None else {name: float(cached[name]) for name in SCORES if name in cached}


def _box_key(layout_key: str) -> str:
    return f"box/{hashlib.sha256(layout_key.encode()).hexdigest()[:24]}"


def frame_box(store: RunStore, layout_key: str, display: np.ndarray | None = None) -> tuple[list[float], int] | None:
    """The extent ``[x0, x1, y0, y1]`` and node count of the layout under ``layout_key``, from a small entry of
    its own (a sequence's payload needs every epoch's, and reading each display costs ~15 ms at n = 50,000);
    made from ``display`` (n_nodes, 2), or from the stored layout, when missing. ``None`` when neither is
    stored."""
    cached = store.get_derived(_box_key(layout_key))
    if cached is None:
        if display is None:
            layout = store.get_derived(layout_key)
            if layout is None:
                return None
            display = layout["display"]
        lo, hi = display.min(axis=0), display.max(axis=0)
        cached = {"box": np.array([lo[0], hi[0], lo[1], hi[1]], dtype=np.float64), "n_nodes": np.array(len(display))}
        store.put_derived(_box_key(layout_key), cached)
    return [round(float(v), 4) for v in cached["box"]], int(cached["n_nodes"])


class JobStopped(RuntimeError):
    """A job was asked to stop."""


@dataclass(frozen=True)
class FrameView:
    """What the map shows for one (layer, epoch).

    Attributes
    ----------
    coords : ndarray of shape (n_nodes, 2)
        Display coordinates (centred, unit RMS radius, aligned to the previous epoch): the probe samples, then
        in the neuron x sample graph the layer's neurons.
    labels : ndarray of shape (n_probe,), int
        True class of each probe sample.
    predictions : ndarray of shape (n_probe,), int, or None
        Predicted class (``None`` for a model that does not classify).
    confidence : ndarray of shape (n_probe,), float, or None
        Probability of the predicted class.
    sample_index : ndarray of shape (n_probe,), int
        Index of each probe sample in the data set.
    silhouette : float
        Class silhouette of the layout.
    metrics : dict
        The epoch's training metrics.
    """

    coords: np.ndarray
    labels: np.ndarray
    predictions: np.ndarray | None
    confidence: np.ndarray | None
    sample_index: np.ndarray
    silhouette: float
    metrics: dict[str, float]


def run_ready(store: RunStore, run_id: str) -> bool:
    """Whether the run is stored and finished (complete, or diverged with the epochs before it)."""
    return store.has_run(run_id) and store.run_info(run_id).state in ("complete", "diverged")


def ensure_run(store: RunStore, config: RunConfig, report: Reporter | None = None) -> RunInfo:
    """The finished run of ``config``, training it first when it is missing or was interrupted (a custom run
    is recorded by its own script, never trained here: it is shown as far as it is recorded)."""
    if config.model == "custom":
        return store.run_info(config.run_id)
    if not run_ready(store, config.run_id):
        progress = None
        if report is not None:
            def progress(done: int, total: int) -> bool | None:
                return report(TRAINING, done, total)
        train(config, store, progress=progress)
    return store.run_info(config.run_id)


#: layout methods the map offers: ours, or a reference tool behind :data:`layout_engine.baselines.BASELINES`
METHODS = ("ours", *BASELINES)
#: bump when a baseline frame's content changes (part of its cache keys)
BASELINE_VERSION = "1"


def _index_key(run_id: str, params: LayoutParams, layer: int, epoch: int, method: str = "ours") -> str:
    digest = params.digest() if method == "ours" else f"{method}-v{BASELINE_VERSION}"
    return f"frames/{run_id}/{digest}/{layer}/{epoch}"


def compute_baseline_frames(store: RunStore, info: RunInfo, layer: int, method: str,
                            report: Reporter | None = None) -> int:
    """Lay out one layer's epochs with a reference tool (``umap``, ``tsne``, ``pca``), each epoch on its own as
    the tool does, then Procrustes-aligned to the previous epoch for display (the fairest steady view a
    per-frame tool allows). Cached like our frames; returns the number ready; stops when ``report`` says so."""
    if method not in BASELINES:
        raise ValueError(f"method must be one of {', '.join(BASELINES)}, got {method!r}")
    labels = score_labels(store.probe(info.run_id))
    previous, done = None, 0
    for epoch in range(info.epochs_done):
        index = _index_key(info.run_id, LayoutParams(), layer, epoch, method)
        X = store.activations(info.run_id, epoch, layer)
        key = f"baseline/{method}-v{BASELINE_VERSION}/{content_hash(X)}"
        cached = store.get_derived(key)
        if cached is None:
            coords = BASELINES[method](X, random_state=0)
            display = normalize(coords) if previous is None else align_to(coords, previous)
            cached = {"raw": coords, "display": display, "churn": np.array(np.nan)}
            store.put_derived(key, cached)
        ensure_scores(store, key, X, cached["display"], labels)
        frame_box(store, key, cached["display"])
        previous = cached["display"]
        store.derived.set(index, key)
        done += 1
        if report is not None and report(LAYOUT, done, info.epochs_done):
            break
    return done


def count_ready(store: RunStore, info: RunInfo, params: LayoutParams, *, layers: list[int] | None = None,
                method: str = "ours") -> int:
    """Number of (layer, epoch) frames of the run (or of ``layers``) laid out by ``method``."""
    layers = range(len(info.layer_sizes)) if layers is None else layers
    return sum(_index_key(info.run_id, params, layer, epoch, method) in store.derived
               for layer in layers for epoch in range(info.epochs_done))


#: the sequences a layer can be shown as: (graph mode, method)
SEQUENCES = (("knn", "ours"), ("bipartite", "ours"), *(("knn", m) for m in BASELINES))


def readiness(store: RunStore, run_id: str, params: LayoutParams) -> dict[tuple[str, str], list[int]]:
    """Frames laid out so far per sequence of :data:`SEQUENCES` ((graph, method) -> count per layer), out of the
    run's recorded epochs; key lookups only, no frame is read."""
    info = store.run_info(run_id)
    return {(graph, method): [count_ready(store, info, replace(params, graph=graph), layers=[layer], method=method)
                              for layer in range(len(info.layer_sizes))]
            for graph, method in SEQUENCES}


#: a run's layers are laid out in parallel chains (one process each) from this many probe samples on; below
#: it a process's start-up (2-3 s of imports) costs more than the chains save
PARALLEL_MIN_SAMPLES = 10_000
#: threads each chain process keeps: the force kernel already uses every core it is given, and on 2 cores
#: two chains of one thread were slower than one chain of two (MNIST-1D, n = 50,000: 6.3 against 5.3 s per
#: frame, and each process compiles pynndescent once)
CHAIN_THREADS = 2


def chain_workers(n_samples: int, n_layers: int, cores: int | None = None) -> int:
    """How many processes lay out a run's layer chains: one below :data:`PARALLEL_MIN_SAMPLES` samples, else
    one per :data:`CHAIN_THREADS` cores, at most one per layer; one in a daemonic process (a Celery pool's),
    which may not start processes of its own."""
    cores = (os.cpu_count() or 1) if cores is None else cores
    if n_samples < PARALLEL_MIN_SAMPLES or multiprocessing.current_process().daemon:
        return 1
    return max(1, min(n_layers, cores // CHAIN_THREADS))


def compute_frames(store: RunStore, info: RunInfo, params: LayoutParams, report: Reporter | None = None,
                   *, layers: list[int] | None = None, workers: int | None = None) -> int:
    """Lay out every (layer, epoch) frame of a run (or of ``layers``), each layer a chain of epochs, each epoch
    warm-started from the last, as ``params.graph`` says (sample kNN graph, or neuron x sample graph: samples
    first).

    Chains are independent: with ``workers`` > 1 (default :func:`chain_workers`) they run in that many spawned
    processes at once, each with its share of the cores, writing to the same store. Frames already cached are
    loaded, not recomputed. Returns the number of frames ready; stops early (with the frames so far kept) when
    ``report`` returns True.
    """
    layers = list(range(len(info.layer_sizes))) if layers is None else layers
    total = len(layers) * info.epochs_done
    if workers is None:
        workers = chain_workers(len(store.probe(info.run_id)["y"]), len(layers))
    if workers > 1 and len(layers) > 1:
        return _parallel_chains(store, info, params, report, layers, workers)
    done = 0
    for layer in layers:
        for _ in lay_out_chain(store, info, params, layer):
            done += 1
            if report is not None and report(LAYOUT, done, total):
                logger.info("Frame computation of %s stopped at %d/%d", info.run_id, done, total)
                return count_ready(store, info, params, layers=layers)
    return done


class Chain:
    """One layer's epochs laid out in order, each warm-started from the one before, as far as they are recorded:
    :meth:`advance` continues where the last call stopped, so a chain can follow a run while it trains.

    Cached frames are read, not recomputed; each frame laid out is stored with its scores and its index entry
    (what :func:`count_ready` and the page read) before the next one starts.
    """

    def __init__(self, store: RunStore, run_id: str, params: LayoutParams, layer: int) -> None:
        self.store, self.run_id, self.params, self.layer = store, run_id, params, layer
        self.labels = score_labels(store.probe(run_id))
        self.next_epoch = 0
        #: frames this chain laid out itself (not found in the cache)
        self.laid_out = 0
        self._trust_index = True
        self._key: str | None = None
        self._frame: Frame | None = None
        self._graph: sp.csr_matrix | None = None
        self._previous_X: np.ndarray | None = None

    def advance(self, last_epoch: int) -> Iterator[int]:
        """Lay out epochs ``next_epoch .. last_epoch`` (all recorded); yields each once it is stored.

        An epoch whose index entry points at a stored, scored frame is passed over without reading anything
        (reopening a laid-out run at n = 50,000 would otherwise read gigabytes of activations); the chain picks
        that frame up only if a later epoch needs laying out.
        """
        store, params = self.store, self.params
        while self.next_epoch <= last_epoch:
            epoch = self.next_epoch
            indexed = store.derived.get(_index_key(self.run_id, params, self.layer, epoch))
            if (self._trust_index and indexed is not None and indexed in store.derived
                    and read_scores(store, indexed, self.labels) is not None):
                self._key, self._frame, self._graph, self._previous_X = indexed, None, None, None
                self.next_epoch = epoch + 1
                yield epoch
                continue
            X = store.activations(self.run_id, epoch, self.layer)
            if self._key is not None and self._frame is None:  # the chain passed over the previous epoch
                cached = store.get_derived(self._key)
                if cached is None:  # evicted since: lay the chain out again from its start
                    self._restart()
                    continue
                self._frame = Frame(index=epoch - 1, raw=cached["raw"], display=cached["display"],
                                    churn=float(cached["churn"]))
                self._previous_X = store.activations(self.run_id, epoch - 1, self.layer)
            key = frame_key(X, params, self._key)
            cached = store.get_derived(key)
            if cached is None:
                if self._frame is not None and self._graph is None:  # the previous frame came from the cache
                    self._graph = cached_graph(store, self._previous_X, params)
                previous_graph, self._graph = self._graph, cached_graph(store, X, params)
                self._frame, _ = next_frame(X, params, self._frame, previous_graph=previous_graph, graph=self._graph)
                self.laid_out += 1
                store.put_derived(key, {"raw": self._frame.raw, "display": self._frame.display,
                                        "churn": np.array(self._frame.churn)})
            else:
                self._frame = Frame(index=epoch, raw=cached["raw"], display=cached["display"],
                                    churn=float(cached["churn"]))
                self._graph = None
            ensure_scores(store, key, X, self._frame.display, self.labels)
            frame_box(store, key, self._frame.display)
            store.derived.set(_index_key(self.run_id, params, self.layer, epoch), key)
            self._key, self._previous_X, self.next_epoch = key, X, epoch + 1
            yield epoch

    def _restart(self) -> None:
        logger.warning("A frame of %s layer %d was evicted while the chain passed over it: laying the chain out "
                       "again", self.run_id, self.layer)
        self.next_epoch, self._trust_index = 0, False
        self._key, self._frame, self._graph, self._previous_X = None, None, None, None


def lay_out_chain(store: RunStore, info: RunInfo, params: LayoutParams, layer: int) -> Iterator[int]:
    """Lay out one layer's epochs ``0 .. info.epochs_done - 1`` (a :class:`Chain`); yields each epoch once it is
    stored."""
    yield from Chain(store, info.run_id, params, layer).advance(info.epochs_done - 1)


#: ``send(run_id, params, layers)``: ask other workers to lay out these layers' chains (each by
#: :func:`follow_chain`), e.g. as Celery tasks (:func:`dashboard.deploy.chain_sender`)
ChainSender = Callable[[str, LayoutParams, list[int]], None]
#: seconds a chain sent to another worker may wait for one to start it before the sending job lays it out
#: itself (every worker may be busy: the sending job itself may hold the only one)
CLAIM_S = 5.0


def chain_lock(run_id: str, params: LayoutParams, layer: int) -> str:
    """The lock a process holds while it lays out one layer's chain (one process per chain at a time)."""
    return f"chain/{run_id}/{params.digest()}/{layer}"


def follow_chain(store: RunStore, run_id: str, params: LayoutParams, layer: int, *, poll_s: float = 0.5) -> int:
    """Lay out one layer's chain for a job that sent it here: hold the chain's lock and lay out its epochs as
    they are recorded until the run is no longer being trained. Returns the epochs ready; 0 at once when
    another process holds the chain (that one lays it out)."""
    owner, lock = lock_owner(), chain_lock(run_id, params, layer)
    if not store.try_lock(lock, owner, LOCK_TTL):
        logger.info("Chain %s layer %d is laid out elsewhere", run_id, layer)
        return 0
    chain, ready = Chain(store, run_id, params, layer), 0
    try:
        while True:
            info = store.run_info(run_id)
            for _ in chain.advance(info.epochs_done - 1):
                store.refresh_lock(lock, owner, LOCK_TTL)
                ready += 1
            if info.state != "training":  # every epoch was recorded before this look
                logger.info(LAID_OUT, run_id, layer, chain.laid_out, ready)
                return ready
            store.refresh_lock(lock, owner, LOCK_TTL)
            time.sleep(poll_s)
    finally:
        store.release_lock(lock, owner)


#: the log line of a chain's share of the work (how many frames it laid out, and how many are ready)
LAID_OUT = "Chain %s layer %d: %d frames laid out here, %d epochs ready"


class LayerChains:
    """A job's hold on a run's layer chains: it lays out those it may take, and with ``send`` first asks other
    workers for every layer but the first, taking over a chain that no worker has started within
    :data:`CLAIM_S` or that a worker left unfinished (its lock lapsed).

    One process lays out a chain at a time (:func:`chain_lock`), so a frame is never laid out twice at once;
    and frames are keyed by their content (:func:`layout_engine.pipeline.frame_key`), so a chain gives the same
    frames whichever processes lay out its epochs.
    """

    def __init__(self, store: RunStore, run_id: str, params: LayoutParams, layers: list[int],
                 send: ChainSender | None = None) -> None:
        self.store, self.run_id, self.params, self.layers = store, run_id, params, layers
        self.send = send
        self.owner = lock_owner()
        self.chains: dict[int, Chain] = {}
        self.sent_at: dict[int, float] = {}

    def advance(self, last_epoch: int) -> Iterator[tuple[int, int]]:
        """Lay out epochs up to ``last_epoch`` (all recorded) of each chain this job may take now; yields
        ``(layer, epoch)`` as each is stored."""
        if self.send is not None and not self.sent_at and len(self.layers) > 1:
            self.send(self.run_id, self.params, self.layers[1:])
            self.sent_at = dict.fromkeys(self.layers[1:], time.monotonic())
            logger.info("Sent the chains of %s layers %s to other workers", self.run_id, self.layers[1:])
        for layer in self.layers:
            sent = self.sent_at.get(layer)
            if sent is not None and time.monotonic() - sent < CLAIM_S:
                continue
            lock = chain_lock(self.run_id, self.params, layer)
            if not self.store.try_lock(lock, self.owner, LOCK_TTL):
                continue  # another worker lays it out
            try:
                chain = self.chains.setdefault(layer, Chain(self.store, self.run_id, self.params, layer))
                for epoch in chain.advance(last_epoch):
                    self.store.refresh_lock(lock, self.owner, LOCK_TTL)
                    yield layer, epoch
            finally:
                self.store.release_lock(lock, self.owner)

    def finish(self, report: Reporter | None = None, *, poll_s: float = 0.5) -> int:
        """Lay out or wait for every recorded epoch of every chain; returns the frames ready, stopping early
        (with the frames so far kept) when ``report`` says so."""
        info = self.store.run_info(self.run_id)
        total = len(self.layers) * info.epochs_done
        while True:
            for _ in self.advance(info.epochs_done - 1):
                if report is not None and report(LAYOUT, self.ready(info), total):
                    return self.ready(info)
            ready = self.ready(info)
            if ready == total:
                for layer, chain in self.chains.items():
                    logger.info(LAID_OUT, self.run_id, layer, chain.laid_out, chain.next_epoch)
                return ready
            if report is not None and report(LAYOUT, ready, total):
                return ready
            time.sleep(poll_s)

    def ready(self, info: RunInfo) -> int:
        return count_ready(self.store, info, self.params, layers=self.layers)


def _chain_process(directory: str, size_limit: int, info: RunInfo, params: LayoutParams, layers: list[int],
                   threads: int) -> None:
    """Entry of a spawned chain process: lay out ``layers`` of ``info``'s epochs one after the other on
    ``threads`` threads."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    import numba

    numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
    store = RunStore(directory, size_limit=size_limit)
    try:
        for layer in layers:
            for _ in lay_out_chain(store, info, params, layer):
                pass
    finally:
        store.close()


def _parallel_chains(store: RunStore, info: RunInfo, params: LayoutParams, report: Reporter | None,
                     layers: list[int], workers: int, *, poll_s: float = 0.5) -> int:
    """Lay out ``layers`` in ``workers`` spawned processes (layers dealt round-robin), following their progress
    in the store; a stop asked by ``report`` terminates them (every stored frame is whole: one write each)."""
    context = multiprocessing.get_context("spawn")
    threads = max(1, (os.cpu_count() or 1) // workers)
    processes = [context.Process(target=_chain_process, daemon=False, name=f"chain-{i}",
                                 args=(str(store.directory), store.size_limit, info, params, layers[i::workers],
                                       threads))
                 for i in range(workers)]
    for process in processes:
        process.start()
    total = len(layers) * info.epochs_done
    try:
        while True:
            alive = [p for p in processes if p.is_alive()]
            done = count_ready(store, info, params, layers=layers)
            if report is not None and report(LAYOUT, done, total):
                logger.info("Frame computation of %s stopped at %d/%d", info.run_id, done, total)
                return done
            if not alive:
                break
            time.sleep(poll_s)
        failed = [p.name for p in processes if p.exitcode != 0]
        if failed:
            raise RuntimeError(f"laying out {info.run_id} failed in {', '.join(failed)} (see the log above)")
        return count_ready(store, info, params, layers=layers)
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
            process.join()


def cached_graph(store: RunStore, X: np.ndarray, params: LayoutParams) -> sp.csr_matrix:
    """The graph of ``X`` from the store, built and stored when missing (keyed by :func:`graph_key`)."""
    key = graph_key(X, params)
    cached = store.get_derived(key)
    if cached is not None:
        return sp.csr_matrix((cached["data"], cached["indices"], cached["indptr"]), shape=tuple(cached["shape"]))
    if params.graph == "knn":  # from the kNN table the measures share
        k = min(params.n_neighbors, len(X) - 1)
        graph = knn_graph(X, n_neighbors=k, metric=params.metric,
                          neighbours=cached_neighbours(store, X, k, params.metric) if k >= 1 else None)
    else:
        graph = build_graph(X, params)
    store.put_derived(key, {"data": graph.data, "indices": graph.indices, "indptr": graph.indptr,
                            "shape": np.array(graph.shape)})
    return graph


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
    otherwise a finished run's chains run in :func:`chain_workers` processes beside this one.
    """
    owner = lock_owner()
    lock = f"prepare/{config.run_id}/{params.digest()}"
    while not store.try_lock(lock, owner, LOCK_TTL):
        if report is not None and report(WAITING, *_progress_in_store(store, config.run_id, params)):
            raise JobStopped(f"stopped while waiting for another job on {config.run_id}")
        time.sleep(poll_s)

    def locked_report(stage: str, done: int, total: int) -> bool | None:
        store.refresh_lock(lock, owner, LOCK_TTL)
        return report(stage, done, total) if report is not None else None

    try:
        chains = LayerChains(store, config.run_id, params, list(range(len(config.layer_sizes))), send)
        info = train_following(store, config, params, locked_report, chains=chains, poll_s=poll_s)
        ready = (chains.finish(locked_report, poll_s=poll_s) if send is not None
                 else compute_frames(store, info, params, locked_report))
        if ready == len(info.layer_sizes) * info.epochs_done:
            compute_measures(store, info, locked_report)
        return info, ready
    finally:
        store.release_lock(lock, owner)


def train_following(store: RunStore, config: RunConfig, params: LayoutParams, report: Reporter | None = None,
                    *, chains: LayerChains | None = None, poll_s: float = 0.5) -> RunInfo:
    """The run of ``config`` trained (by this process, or by another that holds it: then followed until it
    stops), each recorded epoch laid out in every layer as soon as it is stored; returns the run's info.

    Stops following when ``report`` says so, or when the run is no longer being trained (finished, diverged,
    or left interrupted by a process that died: then this process resumes it, unless it is a custom run, which
    only its own script records). ``chains`` lays the epochs out (default: every layer, in this process).
    """
    if chains is None:
        chains = LayerChains(store, config.run_id, params, list(range(len(config.layer_sizes))))

    def lay_out(last_epoch: int) -> None:
        for _ in chains.advance(last_epoch):
            pass

    def on_epoch(done: int, total: int) -> bool | None:  # epochs 0..done are stored
        stop = report(TRAINING, done, total) if report is not None else None
        if not stop:
            lay_out(done)
        return stop

    while True:
        info = store.run_info(config.run_id) if store.has_run(config.run_id) else None
        if info is not None and info.state == "training":  # another live process trains or records it: follow
            if info.epochs_done:
                lay_out(info.epochs_done - 1)
            total = len(config.layer_sizes) * (info.config.epochs + 1)
            if report is not None and report(FOLLOWING, count_ready(store, info, params), total):
                raise JobStopped(f"stopped while following the training of {config.run_id}")
            time.sleep(poll_s)
            continue
        if config.model == "custom" or run_ready(store, config.run_id):
            return store.run_info(config.run_id)
        try:
            train(config, store, progress=on_epoch)
        except RunBusy:  # another process took the run between our look and our lock: follow it
            time.sleep(poll_s)
            continue
        return store.run_info(config.run_id)


def _progress_in_store(store: RunStore, run_id: str, params: LayoutParams) -> tuple[int, int]:
    if not store.has_run(run_id):
        return 0, 1
    info = store.run_info(run_id)
    if info.state == "training":
        return info.epochs_done, info.config.epochs + 1
    return count_ready(store, info, params), len(info.layer_sizes) * info.epochs_done


def sequence_payload(store: RunStore, run_id: str, layer: int, params: LayoutParams,
                     have: int = 0, method: str = "ours") -> dict | None:
    """What the browser needs to know of one layer's sequence: per ready epoch, the epoch's scalars. The
    samples' arrays (:func:`sample_arrays`) and each epoch's arrays (positions, predictions, sensitivity,
    :func:`frame_arrays`) come by ``GET`` as the page needs them, so the payload stays small at any
    number of samples (one JSON blob of every epoch was 1 MB at n = 1,797 and would be ~55 MB at 50,000).

    Parameters
    ----------
    store, run_id, layer, params
        Which run, hidden layer (0-based) and layout.
    have : int
        Epochs the browser already knows ready for this layer; ``None`` is returned when no more are ready.
    method : str
        One of :data:`METHODS`: our layout, or a reference tool's.

    Returns
    -------
    dict or None
        JSON-ready: ``run``, ``layer``, ``graph``, ``method``, ``n_samples``, ``n_nodes`` (samples, then the
        layer's neurons in the neuron x sample graph), ``name`` (e.g. ``"h2 (128 units)"``), ``last_epoch``,
        ``class_names``, ``classifies``, ``training`` (the run is being trained or recorded), ``complete`` (every
        recorded epoch is laid out, and the run is no longer training); ``samples_version`` (of
        :func:`sample_arrays`, the per-sample arrays fetched once per run); and ``frames``: epoch (as a string)
        -> ``silhouette``, ``metrics``, ``box``
        (``[x0, x1, y0, y1]``, the frame's extent) and ``version`` (its layout key's hash: a frame laid out again
        is fetched again).
    """
    info = store.run_info(run_id)
    keys = [store.derived.get(_index_key(run_id, params, layer, epoch, method)) for epoch in range(info.epochs_done)]
    ready = [e for e, k in enumerate(keys) if k is not None]
    if len(ready) <= have and have > 0:
        return None
    # the same frames (by content key) of the same run state give the same payload: built once per process
    memo = (str(store.directory), run_id, layer, params.graph, method, info.state, tuple(keys))
    with _PAYLOADS_LOCK:
        payload = _PAYLOADS.pop(memo, None)
        if payload is not None:
            _PAYLOADS[memo] = payload  # most recently used last
    if payload is None:
        payload = _build_payload(store, info, layer, params, method, keys, ready)
        if len(payload["frames"]) == len(ready):  # a frame was unreadable: do not keep the gap
            with _PAYLOADS_LOCK:
                _PAYLOADS[memo] = payload
                while len(_PAYLOADS) > PAYLOAD_CACHE_SIZE:
                    _PAYLOADS.pop(next(iter(_PAYLOADS)))
    return payload


#: sequence payloads kept per process
PAYLOAD_CACHE_SIZE = 16
_PAYLOADS: dict[tuple, dict] = {}
_PAYLOADS_LOCK = threading.Lock()


def _build_payload(store: RunStore, info: RunInfo, layer: int, params: LayoutParams, method: str,
                   keys: list[str | None], ready: list[int]) -> dict:
    run_id = info.run_id
    probe = store.probe(run_id)
    labels = score_labels(probe)
    metrics = store.metrics(run_id)
    frames, n_nodes = {}, len(probe["y"])
    for epoch in ready:
        scored = read_scores(store, keys[epoch], labels)
        boxed = frame_box(store, keys[epoch]) if keys[epoch] in store.derived else None
        if boxed is None or scored is None:  # evicted or corrupt since: the job lays it out again
            continue
        box, n_nodes = boxed
        frames[str(epoch)] = {"silhouette": round(scored["silhouette"], 4), "metrics": metrics[epoch], "box": box,
                              "version": hashlib.sha256(keys[epoch].encode()).hexdigest()[:12]}
    class_names = list(info.class_names) or [str(c) for c in range(int(probe["y"].max()) + 1)]
    return {"run": run_id, "layer": layer, "graph": params.graph, "method": method, "n_samples": int(len(probe["y"])),
            "n_nodes": int(n_nodes), "name": f"{info.layer_names[layer]} ({info.layer_sizes[layer]} units)",
            "last_epoch": info.epochs_done - 1, "samples_version": _samples_version(probe),
            "class_names": class_names, "classifies": info.config.model != "vae",
            "training": info.state == "training",
            "complete": len(frames) == info.epochs_done and info.state != "training", "frames": frames}


def _samples_version(probe: dict[str, np.ndarray]) -> str:
    digest = hashlib.sha256()
    for name in ("index", "y", "scrambled"):
        if name in probe:
            digest.update(np.ascontiguousarray(probe[name]).tobytes())
    return digest.hexdigest()[:12]


def sample_arrays(store: RunStore, run_id: str) -> dict:
    """The run's probe samples for the browser, the same for every layer and epoch (fetched once per run):
    ``run``, ``version`` (the sequence payload's ``samples_version``), and as typed arrays (n_samples,) ``labels``
    (the true class), ``index`` (in the data set) and ``scrambled`` (0 / 1)."""
    probe = store.probe(run_id)
    scrambled = probe.get("scrambled", np.zeros(len(probe["y"]), dtype=bool))
    n_classes = max(len(store.run_info(run_id).class_names), int(probe["y"].max(initial=0)) + 1)
    return {"run": run_id, "version": _samples_version(probe), "labels": typed(probe["y"], label_dtype(n_classes)),
            "index": typed(probe["index"], "i4"), "scrambled": typed(scrambled, "u1")}


def frame_arrays(store: RunStore, run_id: str, layer: int, epoch: int, params: LayoutParams,
                 method: str = "ours") -> dict | None:
    """One laid-out epoch's arrays for the browser, as typed arrays (:mod:`dashboard.typed`), or ``None`` while
    it is not laid out.

    Returns
    -------
    dict or None
        ``run``, ``layer``, ``graph``, ``method``, ``epoch``, ``version`` (as in :func:`sequence_payload`);
        ``x``, ``y`` (n_nodes,) display coordinates quantised to 16 bits; for a classifier ``pred`` (n_samples,)
        the predicted class and ``conf`` (n_samples,) its probability in 1/255; ``sens`` (n_samples,) the loss
        gradient's norm at this layer quantised to 16 bits, where recorded.
    """
    index = _index_key(run_id, params, layer, epoch, method)
    key = store.derived.get(index)
    cached = store.get_derived(key) if key is not None else None
    if cached is None:
        if key is not None:  # evicted or corrupt since it was indexed: not ready (the next job lays it out)
            store.derived.delete(index)
        return None
    display = cached["display"]
    out = {"run": run_id, "layer": layer, "graph": params.graph, "method": method, "epoch": epoch,
           "version": hashlib.sha256(key.encode()).hexdigest()[:12],
           "x": quantized(display[:, 0]), "y": quantized(display[:, 1])}
    found = epoch_outputs(store, run_id, epoch)
    if "predictions" in found:
        predictions = found["predictions"]
        out["pred"] = typed(predictions, label_dtype(int(predictions.max(initial=0)) + 1))
        out["conf"] = typed(np.rint(np.clip(found["confidence"], 0, 1) * 255), "u1")
    if f"x_sens{layer}" in found:
        out["sens"] = quantized(found[f"x_sens{layer}"])  # a colour and a size: 16 bits are plenty
    return out


def epoch_outputs(store: RunStore, run_id: str, epoch: int) -> dict[str, np.ndarray]:
    """A recorded epoch's per-sample outputs that the page shows with every layer's frame: ``predictions``,
    ``confidence`` and each layer's ``x_sens<layer>``, where recorded. Kept as a derived entry of their own: the
    epoch's record holds every layer's activations too (~100 MB at n = 50,000), and reading it costs ~90 ms a
    frame."""
    info = store.run_info(run_id)
    key = f"outputs/{run_id}/{info.created!r}/{epoch}"  # a run recorded again under its id has new outputs
    cached = store.get_derived(key)
    if cached is None:
        names = ["predictions", "confidence", *(f"x_sens{layer}" for layer in range(len(info.layer_sizes)))]
        cached = store.arrays(run_id, epoch, names)
        store.put_derived(key, cached)
    return cached


def frame_edges(store: RunStore, run_id: str, layer: int, epoch: int, params: LayoutParams) -> dict:
    """The edges of a frame's graph, each once, as node rows ``{"i": [...], "j": [...]}`` (in the neuron x
    sample graph, neuron ``k`` is node ``n_samples + k``); ``KeyError`` when the epoch is not recorded."""
    graph = cached_graph(store, store.activations(run_id, epoch, layer), params)
    upper = sp.triu(sp.coo_matrix(graph), k=1)
    return {"run": run_id, "layer": layer, "epoch": epoch, "graph": params.graph, "i": upper.row.tolist(),
            "j": upper.col.tolist()}


def scores(store: RunStore, run_id: str, layer: int, params: LayoutParams,
           method: str = "ours") -> dict[str, list[float | None]]:
    """Per recorded epoch, each of :data:`SCORES` of the layer's layout, ``None`` where it is not laid out."""
    out: dict[str, list[float | None]] = {name: [] for name in SCORES}
    labels = score_labels(store.probe(run_id))
    for epoch in range(store.run_info(run_id).epochs_done):
        found = read_scores(store, store.derived.get(_index_key(run_id, params, layer, epoch, method)), labels) or {}
        for name in SCORES:
            out[name].append(found.get(name))
    return out


def frame_view(store: RunStore, run_id: str, layer: int, epoch: int, params: LayoutParams,
               method: str = "ours") -> FrameView | None:
    """The cached frame of (layer, epoch) laid out by ``method`` (ours in ``params.graph``'s mode, or a
    reference tool's) with what the map needs, or ``None`` while it is not computed. In the neuron x sample graph
    ``coords`` holds the samples, then the layer's neurons."""
    key = store.derived.get(_index_key(run_id, params, layer, epoch, method))
    cached = store.get_derived(key) if key is not None else None
    if cached is None:
        return None
    probe = store.probe(run_id)
    found = read_scores(store, key, score_labels(probe)) or {}
    predictions, confidence, metrics = store.outputs(run_id, epoch)
    return FrameView(coords=cached["display"], labels=probe["y"], predictions=predictions,
                     confidence=confidence, sample_index=probe["index"],
                     silhouette=found.get("silhouette", float("nan")), metrics=metrics)
