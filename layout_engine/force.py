"""Force-directed refinement: attraction along weighted edges, repulsion by negative sampling.

The forces are those of UMAP's cross-entropy layout: an edge of weight ``w`` is drawn together with
probability ``w`` per iteration (sampled on a schedule), and each time it is, its head is pushed away from
``negative_sample_rate`` random nodes. An iteration costs O(edges), not O(n^2).
"""

from __future__ import annotations

from collections.abc import Callable

import numba
import numpy as np
import scipy.sparse as sp

#: ``callback(iteration, embedding) -> stop?``; return True to stop early. ``embedding`` is (n, 2) and live.
IterationCallback = Callable[[int, np.ndarray], bool | None]

#: low-dimensional similarity ``1 / (1 + a d^(2b))``; ``b = 1`` (the Cauchy kernel of t-SNE) takes a fast
#: path without powers, about 2.4x faster than UMAP's ``min_dist=0.1`` curve (a=1.577, b=0.895) at the same
#: trustworthiness on digits
DEFAULT_A, DEFAULT_B = 1.0, 1.0


@numba.njit(cache=True)
def _seed(seed: int) -> None:
    np.random.seed(seed)


@numba.njit(cache=True, fastmath=True)
def _iteration(emb, head, tail, epochs_per_sample, next_sample, epochs_per_negative, next_negative,
               epoch, alpha, a, b, repulsion, gravity):  # pragma: no cover - compiled
    n, dim = emb.shape
    for e in range(head.shape[0]):
        if next_sample[e] > epoch:
            continue
        i = head[e]
        j = tail[e]
        d2 = 0.0
        for c in range(dim):
            diff = emb[i, c] - emb[j, c]
            d2 += diff * diff
        coeff = 0.0
        if d2 > 0.0:
            if b == 1.0:
                coeff = -2.0 * a / (a * d2 + 1.0)
            else:
                coeff = -2.0 * a * b * d2 ** (b - 1.0) / (a * d2 ** b + 1.0)
        for c in range(dim):
            g = coeff * (emb[i, c] - emb[j, c])
            g = min(4.0, max(-4.0, g))
            emb[i, c] += g * alpha
            emb[j, c] -= g * alpha
        next_sample[e] += epochs_per_sample[e]
        n_neg = int((epoch - next_negative[e]) / epochs_per_negative[e])
        for _ in range(n_neg):
            k = np.random.randint(n)
            if k == i:
                continue
            d2 = 0.0
            for c in range(dim):
                diff = emb[i, c] - emb[k, c]
                d2 += diff * diff
            coeff = 0.0
            if d2 > 0.0:
                d2b = d2 if b == 1.0 else d2 ** b
                coeff = 2.0 * repulsion * b / ((0.001 + d2) * (a * d2b + 1.0))
            for c in range(dim):
                g = coeff * (emb[i, c] - emb[k, c]) if coeff > 0.0 else 4.0
                g = min(4.0, max(-4.0, g))
                emb[i, c] += g * alpha
        next_negative[e] += n_neg * epochs_per_negative[e]
    if gravity > 0.0:
        for i in range(n):
            for c in range(dim):
                emb[i, c] -= alpha * gravity * emb[i, c]


def optimize_layout(init: np.ndarray, graph: sp.spmatrix, *, n_iter: int = 200, learning_rate: float = 1.0,
                    repulsion: float = 1.0, negative_sample_rate: int = 5, gravity: float = 0.0,
                    a: float = DEFAULT_A, b: float = DEFAULT_B, random_state: int = 0,
                    callback: IterationCallback | None = None) -> np.ndarray:
    """Refine a start layout by force-directed stochastic gradient steps.

    Parameters
    ----------
    init : ndarray of shape (n_samples, dim)
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
        Repulsive samples per attractive sample, >= 0.
    gravity : float
        Pull of every node towards the origin per iteration, >= 0; keeps small components near the rest.
    a, b : float
        Shape of the low-dimensional similarity ``1 / (1 + a d^(2b))``.
    random_state : int
        Seed of the negative sampling: the same inputs give the same layout.
    callback : callable, optional
        ``callback(iteration, embedding) -> stop?`` after every iteration, for progress and cancellation.

    Returns
    -------
    ndarray of shape (n_samples, dim), float32
    """
    if n_iter < 0:
        raise ValueError(f"n_iter must be >= 0, got {n_iter}")
    if learning_rate <= 0:
        raise ValueError(f"learning_rate must be > 0, got {learning_rate}")
    if repulsion < 0 or gravity < 0 or negative_sample_rate < 0:
        raise ValueError("repulsion, gravity and negative_sample_rate must be >= 0, got "
                         f"{repulsion}, {gravity}, {negative_sample_rate}")
    emb = np.array(init, dtype=np.float32, order="C", copy=True)
    coo = sp.coo_matrix(graph)
    if emb.shape[0] != coo.shape[0]:
        raise ValueError(f"init has {emb.shape[0]} rows but the graph has {coo.shape[0]} nodes")
    if coo.nnz == 0 or n_iter == 0:
        return emb
    weights = coo.data.astype(np.float64)
    epochs_per_sample = weights.max() / weights
    epochs_per_negative = epochs_per_sample / max(negative_sample_rate, 1e-9)
    next_sample = epochs_per_sample.copy()
    next_negative = epochs_per_negative.copy()
    head, tail = coo.row.astype(np.int32), coo.col.astype(np.int32)
    _seed(int(random_state) % (2**31))
    for it in range(n_iter):
        alpha = learning_rate * (1.0 - it / n_iter)
        _iteration(emb, head, tail, epochs_per_sample, next_sample, epochs_per_negative, next_negative,
                   float(it), alpha, a, b, repulsion if negative_sample_rate > 0 else 0.0, gravity)
        if callback is not None and callback(it, emb):
            break
    return emb
