"""Force-directed refinement: attraction along weighted edges, repulsion by negative sampling.

The forces are those of UMAP's cross-entropy layout, but the step is a smooth function of the graph: every
edge pulls its node every iteration in proportion to its weight (UMAP samples each edge at a rate of its
weight), and each node is pushed away from a fixed number of random nodes, each push weighted by the node's
summed edge weight (UMAP draws ``negative_sample_rate`` negatives each time an edge fires). With the gentle
step sizes of :class:`~layout_engine.params.LayoutParams` and the push clipped at 1, graphs that differ only by
the rounding of their weights (activations rescaled or rotated) give the same layout: with sampled edges, a
weight moved by 1e-6 changed which edge fired when, and the layouts of such graphs ended 0.1-0.5 of the layout
radius apart. An iteration costs O(edges + nodes), not O(n^2). The low-dimensional similarity is the Cauchy
kernel ``1 / (1 + d^2)`` of t-SNE (UMAP's curve with ``a = b = 1``): no powers in the inner loops, which cost 3x
(with them in the loop, even untaken, the compiler evaluated them for every edge).

The kernel runs on all cores and is still deterministic: nodes are split into fixed blocks, each node moves only
itself (the graph is symmetric, so each edge pulls both of its ends, once from each side) by the sum of its
forces taken at the start of the iteration (every node's position then, its own included), and its random
negative samples come from a generator seeded by a hash of (seed, iteration, node) rather than from a shared
one. The same inputs give the same layout on any number of threads.

Seeding by node also makes the sampling noise of consecutive frames alike: laying out epoch t + 1 from epoch
t's layout, a node draws the same negatives as it did for epoch t, so noise does not show as motion (common
random numbers).
"""

from __future__ import annotations

from collections.abc import Callable

import numba
import numpy as np
import scipy.sparse as sp

#: ``callback(iteration, embedding) -> stop?``; return True to stop early. ``embedding`` is (n, 2) and live.
IterationCallback = Callable[[int, np.ndarray], bool | None]

#: nodes are processed in this many fixed blocks (more than any machine's threads, so all cores stay busy)
_BLOCKS = 64
#: the most a pull moves a node per unit of step size, as UMAP clips it
_CLIP = 4.0
#: the most a push moves a node per unit of step and weight: at UMAP's 4, pushes between near neighbours
#: amplified rounding into layouts 0.02-0.1 of the radius apart on generated data; at 1 they are 0.002 apart for
#: the same trustworthiness (digits 0.971, wine 0.940, breast cancer 0.923, iris 0.969, moons 0.996)
_PUSH_CLIP = 1.0
_MAX_PULL = 0.5
#: negatives drawn per node and iteration, per unit of ``negative_sample_rate`` (1 let sampling noise grow
#: into layouts 0.02 of the radius apart for graphs equal but for rounding; 2 keeps them 0.001 apart)
NEGATIVES_PER_RATE = 2


@numba.njit(cache=True, inline="always")
def _mix(z):  # pragma: no cover - compiled
    """splitmix64's finalizer: a well-mixed 64-bit integer from any 64-bit counter."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


# one node's whole step stays in one function so that numba keeps its position in registers; float32 throughout
# (the layout is float32): float64 arithmetic on it cost 2x
@numba.njit(cache=True, fastmath=True, parallel=True, nogil=True)
def _iteration(emb, snapshot, anchor_pos, indptr, indices, strength, push, n_neg, iteration, alpha,
               repulsion, gravity, anchor, seed):  # pragma: no cover - compiled
    n = emb.shape[0]
    snapshot[:] = emb
    n64 = np.uint64(n)
    f32 = np.float32
    alpha, repulsion, gravity = f32(alpha), f32(repulsion), f32(gravity)
    one, zero = f32(1.0), f32(0.0)
    push_clip, max_pull, clip = f32(_PUSH_CLIP), f32(_MAX_PULL), f32(_CLIP)
    for block in numba.prange(_BLOCKS):
        for i in range(block * n // _BLOCKS, (block + 1) * n // _BLOCKS):
            # every force on a node is taken at the iteration's snapshot and summed before the node moves: the
            # terms are independent, so the CPU overlaps them (moving the node after each term chained every
            # edge's division on the one before: 3x slower)
            x0, x1 = snapshot[i, 0], snapshot[i, 1]
            g0, g1 = zero, zero
            # every edge pulls every iteration, in proportion to its weight: the step is a smooth function of
            # the weights, so graphs that differ only by rounding (activations rescaled or rotated) give the
            # same layout; sampling edges in proportion to their weight, as UMAP does, made that a matter of
            # which edges happened to fire when, and the layouts of such graphs 0.1-0.5 of the radius apart
            for e in range(indptr[i], indptr[i + 1]):
                j = indices[e]
                d0, d1 = x0 - snapshot[j, 0], x1 - snapshot[j, 1]
                step = alpha * strength[e]
                # the gradient of log(1 + d^2); no pull moves a node more than halfway to its neighbour
                # (near-duplicates would overshoot each other and oscillate), nor more than _CLIP x the step
                pull = min(f32(4.0) * step / (d0 * d0 + d1 * d1 + one), max_pull)
                cap = clip * step
                g0 -= min(cap, max(-cap, pull * d0))
                g1 -= min(cap, max(-cap, pull * d1))
            # a fixed number of negatives per node, each weighted by the node's share of repulsion; one
            # generator per (seed, iteration, node): the draws depend neither on the thread nor on the weights,
            # so the next epoch's layout repeats a node's draws (common random numbers: sampling noise does not
            # show as motion between frames)
            state = _mix(np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15)
                         + np.uint64(iteration) * np.uint64(0xBF58476D1CE4E5B9) + np.uint64(i))
            weight = push[i] * alpha
            for _ in range(n_neg):
                state += np.uint64(0x9E3779B97F4A7C15)
                k = np.int64(((_mix(state) >> np.uint64(32)) * n64) >> np.uint64(32))
                if k == i:
                    continue
                d0, d1 = x0 - snapshot[k, 0], x1 - snapshot[k, 1]
                d2 = d0 * d0 + d1 * d1
                if d2 > zero:
                    coeff = f32(2.0) * repulsion / ((f32(0.001) + d2) * (d2 + one))
                    g0 += min(push_clip, max(-push_clip, coeff * d0)) * weight
                    g1 += min(push_clip, max(-push_clip, coeff * d1)) * weight
                elif repulsion > zero:
                    g0 += push_clip * weight  # coincident nodes: push apart in a fixed direction
            x0 += g0
            x1 += g1
            if gravity > zero:
                x0 -= alpha * gravity * x0
                x1 -= alpha * gravity * x1
            if anchor[i] > zero:
                pull = min(one, alpha * anchor[i])
                x0 += pull * (anchor_pos[i, 0] - x0)
                x1 += pull * (anchor_pos[i, 1] - x1)
            emb[i, 0], emb[i, 1] = x0, x1


def optimize_layout(init: np.ndarray, graph: sp.spmatrix, *, n_iter: int = 200, learning_rate: float = 1.0,
                    repulsion: float = 1.0, negative_sample_rate: int = 5, gravity: float = 0.0,
                    anchor: float | np.ndarray = 0.0, random_state: int = 0,
                    callback: IterationCallback | None = None) -> np.ndarray:
    """Refine a start layout by force-directed stochastic gradient steps.

    Parameters
    ----------
    init : ndarray of shape (n_samples, 2)
        Start positions (a spectral start, or the previous epoch's layout for a warm start). Not modified.
    graph : sparse matrix of shape (n_samples, n_samples)
        Symmetric edge weights; each stored entry is an edge.
    n_iter : int
        Iterations; the learning rate decays linearly from ``learning_rate`` to 0 over them.
    learning_rate : float
        Initial step size, > 0. A warm start wants a small one so the layout is refined, not rebuilt.
    repulsion : float
        Weight of the repulsive force relative to attraction (UMAP's ``repulsion_strength``), >= 0.
    negative_sample_rate : int
        Repulsion per unit of edge weight, as UMAP's negatives per edge sample, >= 0; a node draws
        :data:`NEGATIVES_PER_RATE` x this many negatives per iteration.
    gravity : float
        Pull of every node towards the origin per iteration, >= 0; keeps isolated nodes near the rest.
    anchor : float or ndarray of shape (n_samples,)
        Pull of each node towards its start position per iteration, >= 0 (scaled by the learning rate). For a
        warm start it damps drift between epochs, as AlignedUMAP's regularizer does, while edges still refine
        the neighbourhoods; per node, it can hold nodes whose neighbours stayed and free those whose changed.
    random_state : int
        Seed of the negative sampling: the same inputs give the same layout, on any number of threads.
    callback : callable, optional
        ``callback(iteration, embedding) -> stop?`` after every iteration, for progress and cancellation.

    Returns
    -------
    ndarray of shape (n_samples, 2), float32
    """
    if n_iter < 0:
        raise ValueError(f"n_iter must be >= 0, got {n_iter}")
    if learning_rate <= 0:
        raise ValueError(f"learning_rate must be > 0, got {learning_rate}")
    anchor = np.asarray(anchor, dtype=np.float64)
    if repulsion < 0 or gravity < 0 or negative_sample_rate < 0 or np.any(anchor < 0):
        raise ValueError("repulsion, gravity, anchor and negative_sample_rate must be >= 0, got "
                         f"{repulsion}, {gravity}, {anchor}, {negative_sample_rate}")
    emb = np.array(init, dtype=np.float32, order="C", copy=True)
    csr = sp.csr_matrix(graph)
    if emb.ndim != 2 or emb.shape[1] != 2:
        raise ValueError(f"init must have shape (n_samples, 2), got {emb.shape}")
    if emb.shape[0] != csr.shape[0]:
        raise ValueError(f"init has {emb.shape[0]} rows but the graph has {csr.shape[0]} nodes")
    csr.sort_indices()
    if csr.nnz == 0 or n_iter == 0:
        return emb
    strength = (csr.data.astype(np.float64) / float(csr.data.max())).astype(np.float32)
    # UMAP draws negative_sample_rate negatives each time an edge fires, and an edge fires at a rate of its
    # strength: a node's expected repulsion is rate x its summed strength, here spread over a fixed count
    total = np.bincount(np.repeat(np.arange(csr.shape[0]), np.diff(csr.indptr)), weights=strength,
                        minlength=csr.shape[0])
    n_neg = NEGATIVES_PER_RATE * negative_sample_rate
    push = (total * negative_sample_rate / max(n_neg, 1)).astype(np.float32)
    indptr, indices = csr.indptr.astype(np.int64), csr.indices.astype(np.int64)
    snapshot = np.empty_like(emb)
    anchor_pos = emb.copy()
    try:
        anchor = np.ascontiguousarray(np.broadcast_to(anchor, (len(emb),)), dtype=np.float32)
    except ValueError:
        raise ValueError(f"anchor must be a number or have shape ({len(emb)},), got {anchor.shape}") from None
    seed = int(random_state) % (2**63)
    for it in range(n_iter):
        alpha = learning_rate * (1.0 - it / n_iter)
        _iteration(emb, snapshot, anchor_pos, indptr, indices, strength, push, n_neg, it, alpha, repulsion, gravity,
                   anchor, seed)
        if callback is not None and callback(it, emb):
            break
    return emb
