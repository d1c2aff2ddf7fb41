"""The layout of one frame, and of a sequence of frames (a layer over epochs), from stage functions."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace

import numpy as np
import scipy.sparse as sp

from layout_engine.align import align_to, normalize
from layout_engine.force import IterationCallback, optimize_layout
from layout_engine.graph import bipartite_graph, knn_graph
from layout_engine.metrics import NEIGHBOURHOOD_K, node_churn, trustworthiness_of
from layout_engine.params import LayoutParams
from layout_engine.spectral import spectral_init
from layout_engine.threads import one_blas_thread
from layout_engine.validation import check_points

#: scale of a start layout handed to the optimizer (the forces assume layouts of this size)
_START_SCALE = 6.0

#: neighbour churn between epochs below which a warm start only refines, and above which it rebuilds
CHURN_LOW, CHURN_HIGH = 0.15, 0.6

#: a warm start's anchor on a node is ``anchor * (1 - node churn) ** ANCHOR_CHURN_POWER``: full on a node that
#: kept its neighbours, a fifth of it on one that changed a tenth of them; what the network changed moves, the
#: rest holds still (on digits, anchor 3: median displacement between epochs 0.0096 -> 0.0059 of the layout
#: radius for 0.001 of trustworthiness; one anchor for all nodes cost 0.001-0.002 for less steadiness)
ANCHOR_CHURN_POWER = 16

#: a warm frame is checked against a cold layout of the same frame on a seeded subset of this many samples
GUARD_POINTS = 800

#: an edge whose weight moved by no more than this between two frames has not changed: activations rescaled or
#: rotated move the weights by rounding (about 1e-6), a real change of neighbourhood by 1e-2 and more
STILL_WEIGHT = 1e-3

#: a node that lost more than this share of its neighbours starts its warm refinement where its new
#: neighbours were (the weighted mean of their previous places), not where it was: the attraction of a far
#: neighbourhood is too weak (``4 d / (1 + d^2)``) to carry a node across the map in a refinement's steps
RESEED_CHURN = 0.5

#: the anchor that holds a node whose edges did not change exactly in place
_PINNED = 1e9


def build_graph(X: np.ndarray, params: LayoutParams) -> sp.csr_matrix:
    """The graph ``params.graph`` of activations ``X`` (n_samples, n_features): kNN over samples, or the
    neuron x sample graph of shape (n_samples + n_features,) * 2."""
    if params.graph == "bipartite":
        return bipartite_graph(X, top_k=params.top_k, quantile=params.quantile).adjacency
    return knn_graph(X, n_neighbors=params.n_neighbors, metric=params.metric)


def changed_nodes(previous: sp.spmatrix, graph: sp.spmatrix, tolerance: float = STILL_WEIGHT) -> np.ndarray:
    """Whether each node's edges changed between two graphs on the same nodes: an edge gained or lost, or a
    weight moved by more than ``tolerance``; bool (n_nodes,)."""
    if previous.shape != graph.shape:
        raise ValueError(f"graphs differ in shape: {previous.shape} vs {graph.shape}")
    diff = abs(sp.csr_matrix(graph, dtype=np.float64) - sp.csr_matrix(previous, dtype=np.float64)).tocsr()
    diff.data = (diff.data > tolerance).astype(np.float64)
    diff.eliminate_zeros()
    return np.diff(diff.indptr) > 0


def reseeded(start: np.ndarray, graph: sp.spmatrix, churn: np.ndarray, threshold: float = RESEED_CHURN
             ) -> np.ndarray:
    """``start`` (n, 2) with each node whose churn (n,) is above ``threshold`` moved to the weighted mean of
    its neighbours in ``graph`` (n, n) that kept theirs (churn at or below it); nodes with no such neighbour
    stay. The start of a warm refinement in which a node that changed neighbourhood begins among its new
    neighbours."""
    moved = np.asarray(churn) > threshold
    if not moved.any():
        return start
    csr = sp.csr_matrix(graph, dtype=np.float64)
    to_kept = csr[moved][:, ~moved]
    weight = np.asarray(to_kept.sum(axis=1)).ravel()
    centre = to_kept @ np.asarray(start, np.float64)[~moved]
    out = np.array(start, dtype=np.float32, copy=True)
    rows = np.flatnonzero(moved)[weight > 0]
    out[rows] = (centre[weight > 0] / weight[weight > 0, None]).astype(np.float32)
    return out


def warm_schedule(params: LayoutParams, churn: float) -> tuple[int, float, float]:
    """Iterations, initial learning rate and anchor for a warm start, given the neighbour churn since the start
    frame.

    Below :data:`CHURN_LOW` the warm settings apply (a steady refinement, with the full ``anchor``); at
    :data:`CHURN_HIGH` and above the frame is rebuilt almost as from a cold start (all ``n_iter``, half the cold
    learning rate, no anchor), keeping the previous layout only as the start; in between, linearly.
    """
    s = float(np.clip((churn - CHURN_LOW) / (CHURN_HIGH - CHURN_LOW), 0.0, 1.0))
    n_iter = round(params.warm_n_iter + s * (params.n_iter - params.warm_n_iter))
    lr = params.warm_learning_rate + s * (0.5 * params.learning_rate - params.warm_learning_rate)
    return n_iter, max(lr, params.warm_learning_rate), params.anchor * (1.0 - s)


def _warm_start(init: np.ndarray) -> np.ndarray:
    """``init`` (n, 2) as the optimizer's start: kept as it is when at the optimizer's scale (a previous frame's
    raw layout), else rescaled to it (display coordinates, another tool's layout).

    Rescaling a previous frame to a fixed radius, as every start once was, moved each layout off its equilibrium
    and made it re-expand every epoch: on digits it doubled the displacement between epochs (0.0059 -> 0.0101
    of the layout radius with the same anchor).
    """
    start = np.asarray(init, dtype=np.float32)
    radius = float(np.sqrt(((start - start.mean(axis=0)) ** 2).sum(axis=1).mean()))
    if _START_SCALE / 4 <= radius <= _START_SCALE * 8:
        return start
    return normalize(start) * _START_SCALE


def layout_graph(graph: sp.spmatrix, params: LayoutParams = LayoutParams(), *, init: np.ndarray | None = None,
                 churn: float | np.ndarray = 0.0, pinned: np.ndarray | None = None,
                 callback: IterationCallback | None = None) -> np.ndarray:
    """Lay out any similarity graph (kNN or bipartite): a spectral start (or ``init``), then force refinement.

    Parameters
    ----------
    graph : sparse matrix of shape (n_nodes, n_nodes)
        Symmetric non-negative weights.
    params : LayoutParams
        Only the force and seed parameters are used.
    init : ndarray of shape (n_nodes, 2), optional
        Warm start: the previous epoch's raw layout, used as it is (other layouts are rescaled to the optimizer's
        scale first); the schedule then follows :func:`warm_schedule`.
    churn : float or ndarray of shape (n_nodes,)
        Neighbour churn between the graph ``init`` was laid out for and this one, per node
        (:func:`layout_engine.metrics.node_churn`) or one for all; 0 means a small step. Nodes that lost more
        than :data:`RESEED_CHURN` of their neighbours start among their new ones (:func:`reseeded`).
    pinned : ndarray of shape (n_nodes,), bool, optional
        With ``init``: nodes held where ``init`` has them (those whose edges did not change,
        :func:`changed_nodes`), so that only what changed moves.
    callback : callable, optional
        Passed to :func:`layout_engine.force.optimize_layout`.

    Returns
    -------
    ndarray of shape (n_nodes, 2), float32
        Raw layout, at the optimizer's scale (feed it back as the next frame's ``init``).
    """
    n = graph.shape[0]
    if init is not None and np.shape(init) != (n, 2):
        raise ValueError(f"init must have shape ({n}, 2), got {np.shape(init)}")
    aside = isolated_nodes(graph)
    if len(aside) and n - len(aside) > 2:
        # a node with no edge (a dead unit of a neuron x sample graph) has no place in the graph: laid out with
        # it, the spectral start sends it to a far corner and the display's unit radius shrinks the graph to a
        # blob; the graph is laid out without it and it is set aside on a row below
        live = np.setdiff1d(np.arange(n), aside)
        churn_live = np.asarray(churn)[live] if np.ndim(churn) else churn
        raw = np.empty((n, 2), dtype=np.float32)
        raw[live] = layout_graph(sp.csr_matrix(graph)[live][:, live], params,
                                 init=None if init is None else np.asarray(init)[live], churn=churn_live,
                                 pinned=None if pinned is None else np.asarray(pinned)[live], callback=callback)
        raw[aside] = aside_row(raw[live], len(aside))
        return raw
    if n <= 2:
        return np.array([[-1.0, 0.0], [1.0, 0.0]][:n], dtype=np.float32) * _START_SCALE
    if init is None:
        start = normalize(spectral_init(graph, random_state=params.random_state)) * _START_SCALE
        n_iter, lr = params.n_iter, params.learning_rate
        anchor: float | np.ndarray = 0.0
    else:
        per_node = np.broadcast_to(np.asarray(churn, dtype=np.float64), (n,))
        start = reseeded(_warm_start(init), graph, per_node)
        n_iter, lr, scale = warm_schedule(params, float(np.mean(churn)))
        anchor = scale * (1.0 - per_node) ** ANCHOR_CHURN_POWER
        if pinned is not None:
            anchor = np.where(pinned, _PINNED, anchor)
    return optimize_layout(start, graph, n_iter=n_iter, learning_rate=lr, repulsion=params.repulsion,
                           negative_sample_rate=params.negative_sample_rate, gravity=params.gravity,
                           anchor=anchor, random_state=params.random_state, callback=callback)


def isolated_nodes(graph: sp.spmatrix) -> np.ndarray:
    """Indices of the nodes of ``graph`` (n_nodes, n_nodes) with no edge of positive weight, ascending: in a
    neuron x sample graph, the layer's dead units."""
    csr = sp.csr_matrix(graph)
    weight = np.asarray(abs(csr).sum(axis=1)).ravel()
    return np.flatnonzero(weight <= 0)


#: the gap between a layout and the row of nodes set aside below it, as a fraction of the layout's height
ASIDE_GAP = 0.08


def aside_row(placed: np.ndarray, count: int) -> np.ndarray:
    """Places for ``count`` nodes set aside from a layout ``placed`` (n, 2): evenly along a row just below it,
    as wide as it; shape (count, 2)."""
    lo, hi = placed.min(axis=0), placed.max(axis=0)
    span = np.maximum(hi - lo, 1e-6)
    xs = np.full(count, (lo[0] + hi[0]) / 2) if count == 1 else np.linspace(lo[0], hi[0], count)
    return np.column_stack([xs, np.full(count, lo[1] - ASIDE_GAP * span[1])]).astype(np.float32)


def set_aside(display: np.ndarray, aside: np.ndarray) -> np.ndarray:
    """``display`` (n, 2) with the nodes ``aside`` moved to a row below the others (:func:`aside_row`): after the
    display's alignment, which may turn the layout, so that the row stays below on screen."""
    if not len(aside) or len(aside) >= len(display) - 2:
        return display
    placed = np.delete(display, aside, axis=0)
    out = display.copy()
    out[aside] = aside_row(placed, len(aside))
    return out


@one_blas_thread()
def layout_frame(X: np.ndarray, params: LayoutParams = LayoutParams(), *, graph: sp.spmatrix | None = None,
                 init: np.ndarray | None = None, churn: float | np.ndarray = 0.0,
                 callback: IterationCallback | None = None) -> np.ndarray:
    """Lay out one frame of samples: their kNN graph (or ``graph``), then :func:`layout_graph`.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Activations of the probe samples.
    params : LayoutParams
    graph : sparse matrix of shape (n_samples, n_samples), optional
        The kNN graph of ``X`` when already built (:func:`layout_engine.graph.knn_graph` with ``params``).
    init, churn, callback
        As in :func:`layout_graph`.

    Returns
    -------
    ndarray of shape (n_samples, 2), float32
    """
    X = check_points(X)
    if graph is None:
        graph = knn_graph(X, n_neighbors=params.n_neighbors, metric=params.metric)
    return layout_graph(graph, params, init=init, churn=churn, callback=callback)


@dataclass(frozen=True)
class Frame:
    """One laid-out frame of a sequence.

    Attributes
    ----------
    index : int
        Position in the sequence (the epoch).
    raw : ndarray of shape (n_samples, 2)
        Optimizer output, the next frame's warm start.
    display : ndarray of shape (n_samples, 2)
        Centred, unit RMS radius, Procrustes-aligned to the previous frame's display.
    churn : float
        Neighbour churn from the previous frame's kNN graph (1 for the first frame).
    restarted : bool
        The frame is a cold layout: the first, or one whose warm start lost to a cold layout by more than
        ``LayoutParams.guard`` of trustworthiness.
    aside : ndarray of shape (n_aside,), int64
        Nodes with no edge in this frame's graph (:func:`isolated_nodes`: a neuron x sample graph's dead units),
        set aside on a row below the layout (:func:`aside_row`).
    """

    index: int
    raw: np.ndarray
    display: np.ndarray
    churn: float
    restarted: bool = False
    aside: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


@one_blas_thread()
def next_frame(X: np.ndarray, params: LayoutParams, previous: Frame | None = None, *,
               previous_graph: sp.spmatrix | None = None, graph: sp.spmatrix | None = None,
               should_stop: Callable[[], bool] | None = None) -> tuple[Frame, sp.csr_matrix]:
    """One step of a sequence: lay out the graph of ``X`` (``params.graph``) warm-started from ``previous``, and
    align it to ``previous`` for display.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        This epoch's activations.
    params : LayoutParams
    previous : Frame, optional
        The previous epoch's frame; ``None`` for the first (a spectral start).
    previous_graph, graph : sparse matrix of shape (n_samples, n_samples), optional
        kNN graphs of the previous and of this epoch, if already built; the churn between them sets the warm
        schedule (:func:`warm_schedule`). ``previous_graph`` is needed with ``previous``.
    should_stop : callable, optional
        Polled every iteration; True ends the refinement early.

    Returns
    -------
    frame : Frame
    graph : csr_matrix
        This epoch's kNN graph, to pass as the next step's ``previous_graph``.
    """
    X = check_points(X)
    if graph is None:
        graph = build_graph(X, params)
    callback = (lambda it, emb: bool(should_stop())) if should_stop else None
    if previous is None:
        raw = layout_graph(graph, params, callback=callback)
        aside = isolated_nodes(graph)
        return Frame(index=0, raw=raw, display=set_aside(normalize(raw), aside), churn=1.0, restarted=True,
                     aside=aside), graph
    if previous_graph is None:
        raise ValueError("previous_graph is needed to continue a sequence from a previous frame")
    changed = changed_nodes(previous_graph, graph)
    if not changed.any():
        # nothing the layout depends on changed: the frame is the previous one, so that nothing moves
        return replace(previous, index=previous.index + 1, churn=0.0, restarted=False), graph
    churn = node_churn(previous_graph, graph)
    raw = layout_graph(graph, params, init=previous.raw, churn=churn, pinned=~changed, callback=callback)
    restarted = False
    if params.guard is not None and not (should_stop and should_stop()):
        # the warm start can settle in another arrangement than a fresh layout would, worse by up to 0.007 of
        # trustworthiness on wine even after a training's small late steps, so every warm frame is checked
        cold = layout_graph(graph, params, callback=callback)
        if guard_prefers_cold(X, raw, cold, params.guard):
            raw, restarted = cold, True
    aside = isolated_nodes(graph)
    # turned to fit the nodes that kept their neighbours: they stay where they were, and what moves is what
    # changed (after a restart too)
    display = align_to(raw, previous.display, weights=(1.0 - churn) ** ANCHOR_CHURN_POWER)
    return Frame(index=previous.index + 1, raw=raw, display=set_aside(display, aside),
                 churn=float(churn.mean()), restarted=restarted, aside=aside), graph


def guard_prefers_cold(X: np.ndarray, warm: np.ndarray, cold: np.ndarray, margin: float) -> bool:
    """Whether the cold layout of a frame beats its warm one by more than ``margin`` of trustworthiness (k =
    :data:`~layout_engine.metrics.NEIGHBOURHOOD_K`,
    on a seeded subset of :data:`GUARD_POINTS` samples; both layouts (n_nodes, 2), samples first, as ``X``
    (n_samples, d))."""
    n = len(X)
    subset = np.sort(np.random.default_rng(0).choice(n, size=min(n, GUARD_POINTS), replace=False))
    k = min(NEIGHBOURHOOD_K, (len(subset) - 1) // 2)
    if k < 1:
        return False
    cold_trust, warm_trust = trustworthiness_of(X[subset], [cold[subset], warm[subset]], n_neighbors=k)
    return cold_trust - warm_trust > margin


def layout_sequence(frames: Iterable[np.ndarray], params: LayoutParams = LayoutParams(), *,
                    should_stop: Callable[[], bool] | None = None) -> Iterator[Frame]:
    """Lay out a sequence of frames in order, each warm-started from the previous one (see :func:`next_frame`).

    Parameters
    ----------
    frames : iterable of ndarray, each (n_samples, n_features_t)
        Activations of the same samples at successive epochs (the feature count may change).
    params : LayoutParams
    should_stop : callable, optional
        Polled every iteration; when it returns True the sequence ends after the current frame.

    Yields
    ------
    Frame
    """
    previous, graph = None, None
    for X in frames:
        previous, graph = next_frame(X, params, previous, previous_graph=graph, should_stop=should_stop)
        yield previous
        if should_stop is not None and should_stop():
            return
