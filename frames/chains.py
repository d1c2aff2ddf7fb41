"""One layer's epochs laid out in order, each warm-started from the one before (a :class:`Chain`), and a job's
hold on a run's chains, which it may spread over other workers (:class:`LayerChains`)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator

import numpy as np
import scipy.sparse as sp

from derived.keys import graph_key, layout_key
from derived.neighbours import neighbour_table
from frames.index import count_ready, sequence_id
from frames.scores import ensure_scores, frame_box, read_scores, score_labels
from layout_engine.graph import knn_graph
from layout_engine.params import LayoutParams
from layout_engine.pipeline import Frame, build_graph, next_frame
from models.progress import Reporter
from models.store import RunInfo, RunStore, lock_owner

logger = logging.getLogger(__name__)

#: seconds a job's lock outlives its last sign of life (a killed job frees the run after this)
LOCK_TTL = 30.0
#: the stage a job reports while it lays out frames
LAYOUT = "Laying out frames"


class Chain:
    """One layer's epochs laid out in order, each warm-started from the one before, as far as they are recorded:
    :meth:`advance` continues where the last call stopped, so a chain can follow a run while it trains.

    A chain starts at epoch ``start`` (a cold layout) and walks by ``step``: upwards from epoch 0 for a run's
    own sequence, or from the epoch on show outwards (two chains, ``step`` 1 and -1) for a sequence laid out on
    demand (:func:`lay_out_outward`). Cached frames are read, not recomputed; each frame laid out is stored with
    its scores and its index entry (what :func:`count_ready` and the page read) before the next one starts.
    """

    def __init__(self, store: RunStore, run_id: str, params: LayoutParams, layer: int, *, start: int = 0,
                 step: int = 1) -> None:
        if step not in (1, -1):
            raise ValueError(f"step must be 1 or -1, got {step!r}")
        self.store, self.run_id, self.params, self.layer = store, run_id, params, layer
        self.labels = score_labels(store.probe(run_id))
        self.sequence = sequence_id(params)
        self.start, self.step = start, step
        self.next_epoch = start
        #: frames this chain laid out itself (not found in the cache)
        self.laid_out = 0
        self._trust_index = True
        self._key: str | None = None
        self._frame: Frame | None = None
        self._graph: sp.csr_matrix | None = None
        self._previous_X: np.ndarray | None = None

    def advance(self, last_epoch: int) -> Iterator[int]:
        """Lay out epochs from ``next_epoch`` by ``step`` up to ``last_epoch`` (all recorded), or down to 0;
        yields each once it is stored.

        An epoch whose index entry points at a stored, scored frame is passed over without reading anything
        (reopening a laid-out run at n = 50,000 would otherwise read gigabytes of activations); the chain picks
        that frame up only if a later epoch needs laying out.
        """
        store, params = self.store, self.params
        while 0 <= self.next_epoch <= last_epoch:
            epoch, before = self.next_epoch, self.next_epoch - self.step
            indexed = store.indexed_frame(self.run_id, self.sequence, self.layer, epoch)
            if (self._trust_index and indexed is not None and store.has_derived(indexed)
                    and read_scores(store, indexed, self.labels) is not None):
                self._key, self._frame, self._graph, self._previous_X = indexed, None, None, None
                self.next_epoch = epoch + self.step
                yield epoch
                continue
            X = store.activations(self.run_id, epoch, self.layer)
            if self._key is not None and self._frame is None:  # the chain passed over the previous epoch
                cached = store.get_derived(self._key)
                if cached is None:  # evicted since: lay the chain out again from its start
                    self._restart()
                    continue
                self._frame = _frame_of(before, cached)
                self._previous_X = store.activations(self.run_id, before, self.layer)
            key = layout_key(X, params.digest(), self._key)
            cached = store.get_derived(key)
            if cached is None:
                if self._previous_X is not None and self._graph is None:  # the previous frame came from the cache
                    self._graph = cached_graph(store, self._previous_X, params)
                previous_graph, self._graph = self._graph, cached_graph(store, X, params)
                self._frame, _ = next_frame(X, params, self._frame, previous_graph=previous_graph, graph=self._graph)
                self.laid_out += 1
                store.put_derived(key, {"raw": self._frame.raw, "display": self._frame.display,
                                        "churn": np.array(self._frame.churn), "aside": self._frame.aside})
            else:
                self._frame = _frame_of(epoch, cached)
                self._graph = None
            ensure_scores(store, key, X, self._frame.display, self.labels)
            frame_box(store, key, self._frame.display)
            store.index_frame(self.run_id, self.sequence, self.layer, epoch, key)
            self._key, self._previous_X, self.next_epoch = key, X, epoch + self.step
            yield epoch

    def _restart(self) -> None:
        logger.warning("A frame of %s layer %d was evicted while the chain passed over it: laying the chain out "
                       "again", self.run_id, self.layer)
        self.next_epoch, self._trust_index = self.start, False
        self._key, self._frame, self._graph, self._previous_X = None, None, None, None


def lay_out_chain(store: RunStore, info: RunInfo, params: LayoutParams, layer: int) -> Iterator[int]:
    """Lay out one layer's epochs ``0 .. info.epochs_done - 1`` (a :class:`Chain`); yields each epoch once it is
    stored."""
    yield from Chain(store, info.run_id, params, layer).advance(info.epochs_done - 1)


def outward(anchor: int, last: int) -> list[int]:
    """Epochs ``0 .. last`` from ``anchor`` outwards: ``anchor, anchor + 1, anchor - 1, anchor + 2, ...`` (an
    ``anchor`` out of range is clipped to it)."""
    anchor = min(max(anchor, 0), last)
    order = [anchor]
    for d in range(1, last + 1):
        order += [e for e in (anchor + d, anchor - d) if 0 <= e <= last]
    return order


def lay_out_outward(store: RunStore, info: RunInfo, params: LayoutParams, layer: int, anchor: int) -> Iterator[int]:
    """Lay out one layer's recorded epochs from the epoch on show outwards: a cold layout of ``anchor`` first,
    then two chains warm-started from it, one up to the last epoch and one down to epoch 0, taking turns (the
    order of :func:`outward`); yields each epoch once it is stored.

    For sequences laid out on demand (the neuron x sample graph), so that the epoch a user looks at comes
    first and those near it next. The sequence is anchored where it was first asked for (its frames are keyed
    by the chain that made them, and cached); a run's own sequence is anchored at epoch 0 (:func:`lay_out_chain`).
    """
    last = info.epochs_done - 1
    if last < 0:
        return
    anchor = min(max(anchor, 0), last)
    chains = [Chain(store, info.run_id, params, layer, start=anchor, step=1).advance(last),
              Chain(store, info.run_id, params, layer, start=anchor, step=-1).advance(last)]
    seen: set[int] = set()
    while chains:
        for chain in list(chains):
            epoch = next(chain, None)
            if epoch is None:
                chains.remove(chain)
            elif epoch not in seen:  # both chains pass the anchor
                seen.add(epoch)
                yield epoch


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
    and frames are keyed by their content (:func:`derived.keys.layout_key`), so a chain gives the same
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


def cached_graph(store: RunStore, X: np.ndarray, params: LayoutParams) -> sp.csr_matrix:
    """The graph of ``X`` from the store, built and stored when missing (keyed by :func:`graph_key`)."""
    key = graph_key(X, params.graph_digest())
    cached = store.get_derived(key)
    if cached is not None:
        return sp.csr_matrix((cached["data"], cached["indices"], cached["indptr"]), shape=tuple(cached["shape"]))
    if params.graph == "knn":  # from the kNN table the measures share (derived.neighbours)
        k = min(params.n_neighbors, len(X) - 1)
        graph = knn_graph(X, n_neighbors=k, metric=params.metric,
                          neighbours=neighbour_table(store, X, k, params.metric) if k >= 1 else None)
    else:
        graph = build_graph(X, params)
    store.put_derived(key, {"data": graph.data, "indices": graph.indices, "indptr": graph.indptr,
                            "shape": np.array(graph.shape)})
    return graph


def _frame_of(epoch: int, cached: dict[str, np.ndarray]) -> Frame:
    """The frame of ``epoch`` as stored (what the next epoch's layout continues from), with the nodes it set
    aside: a frame the next epoch's graph leaves unchanged is that frame again, aside row included."""
    return Frame(index=epoch, raw=cached["raw"], display=cached["display"], churn=float(cached["churn"]),
                 aside=np.asarray(cached["aside"], dtype=np.int64))
