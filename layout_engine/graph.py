"""Graphs to lay out: the kNN similarity graph over samples, and the neuron x sample bipartite graph."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.neighbors import NearestNeighbors

from layout_engine.threads import one_blas_thread
from layout_engine.validation import check_points

METRICS = ("euclidean", "cosine")


#: up to this many samples, exact neighbours by brute force (BLAS distances in float64: 2-3x faster than
#: sklearn's trees at n = 1,797, d = 128, 6 s at n = 50,000, d = 64); above it, an approximate index
EXACT_MAX_SAMPLES = 20_000
#: the approximate index keeps this many candidates per sample for k wanted neighbours (recall grows with it:
#: see :func:`approximate_neighbours`)
APPROX_CANDIDATES = 1.5


def nearest_neighbours(X: np.ndarray, n_neighbors: int, *, metric: str = "euclidean",
                       approximate: bool | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The k nearest neighbours of every sample among the others: exact up to :data:`EXACT_MAX_SAMPLES`
    samples, approximate (:func:`approximate_neighbours`) above.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    n_neighbors : int
        k, in 1 .. n_samples - 1.
    metric : {"euclidean", "cosine"}
    approximate : bool, optional
        Force the approximate index (True) or brute force (False); by default chosen by size.

    Returns
    -------
    indices : ndarray of shape (n_samples, k), int32
        Neighbours, nearest first (the sample itself left out, wherever duplicates put it).
    distances : ndarray of shape (n_samples, k), float64
    """
    X = check_points(X)
    n = X.shape[0]
    if not isinstance(n_neighbors, (int, np.integer)) or isinstance(n_neighbors, bool) or not 1 <= n_neighbors < n:
        raise ValueError(f"n_neighbors must be an integer in 1..{n - 1} (fewer than the samples), got {n_neighbors!r}")
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {', '.join(METRICS)}, got {metric!r}")
    if approximate if approximate is not None else n > EXACT_MAX_SAMPLES:
        return approximate_neighbours(X, int(n_neighbors), metric=metric)
    nn = NearestNeighbors(n_neighbors=int(n_neighbors) + 1, metric=metric, algorithm="brute")
    X = np.asarray(X, dtype=np.float64)  # brute force in float32 would move distances by 1e-7: other graphs
    dist, idx = nn.fit(X).kneighbors(X)
    dist, idx = _drop_self(dist, idx, int(n_neighbors))
    return idx.astype(np.int32), dist


def approximate_neighbours(X: np.ndarray, n_neighbors: int, *, metric: str = "euclidean",
                           random_state: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Approximate k nearest neighbours by NN-descent (pynndescent, on all cores), for large sample counts.

    The index keeps :data:`APPROX_CANDIDATES` x (k + 1) candidates per sample and returns the k nearest of
    them. With k + 1 alone, recall against brute force was 0.992-0.999 on MNIST-1D's four layers at
    n = 50,000 (about 1 s each against 5-10 s exact) but 0.91 on blobs in 64-D; twice as many gave 0.9998 for
    2.5 s. ``benchmarks/scale_bench.py`` measures it at each size it lays out. The first
    call in a process compiles pynndescent's kernels (about 25 s on 2 cores; numba caches only some of them),
    so only sizes where it pays (above :data:`EXACT_MAX_SAMPLES`) use it by default.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    n_neighbors : int
        k, in 1 .. n_samples - 1.
    metric : {"euclidean", "cosine"}
    random_state : int
        Seed of the index's random projections and sampling: the same input gives the same table.

    Returns
    -------
    indices : ndarray of shape (n_samples, k), int32
        Nearest first, the sample itself left out.
    distances : ndarray of shape (n_samples, k), float64
    """
    from pynndescent import NNDescent  # its import costs ~1.5 s: only where an index is built

    n = len(X)
    candidates = min(n - 1, int(APPROX_CANDIDATES * (int(n_neighbors) + 1)))
    index = NNDescent(np.ascontiguousarray(X, dtype=np.float32), metric=metric, n_neighbors=candidates + 1,
                      random_state=random_state, low_memory=True, compressed=True)
    idx, dist = index.neighbor_graph
    dist, idx = _drop_self(np.asarray(dist, np.float64)[:, :n_neighbors + 1], idx[:, :n_neighbors + 1],
                           int(n_neighbors))
    return idx.astype(np.int32), dist


@one_blas_thread()
def knn_graph(X: np.ndarray, *, n_neighbors: int = 15, metric: str = "euclidean",
              neighbours: tuple[np.ndarray, np.ndarray] | None = None) -> sp.csr_matrix:
    """Symmetric kNN similarity graph with locally calibrated kernel weights.

    Each sample ``i`` is joined to its ``n_neighbors`` nearest other samples ``j`` with weight
    ``exp(-max(0, d_ij - rho_i) / sigma_i)``, where ``rho_i`` is the distance to the nearest neighbour (so
    every sample has one neighbour at weight 1: local connectivity) and ``sigma_i`` is chosen so that the
    weights of ``i`` sum to ``log2(n_neighbors)`` (a per-sample bandwidth): dense and sparse regions weigh
    alike. This is UMAP's smooth kNN kernel. Both directions are merged as a fuzzy union
    ``w_ij + w_ji - w_ij * w_ji``. No self-loops.

    A Gaussian (squared) kernel calibrated the same way was tried and dropped: where a sample has several
    near-duplicates they use up its weight, the Gaussian's fast decay cuts every other neighbour to ~0, and the
    graph falls apart into cliques (trustworthiness 0.95 instead of 0.996 on 10,000 digits with jittered copies).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Points; NaN or infinite values raise ``ValueError``.
    n_neighbors : int
        Neighbours per sample, >= 1; capped at ``n_samples - 1``.
    metric : {"euclidean", "cosine"}
        Distance between samples.
    neighbours : (indices, distances), each (n_samples, k), optional
        The samples' neighbours when already found (:func:`nearest_neighbours` with the same ``metric`` and
        the capped ``n_neighbors``), as umap's ``precomputed_knn``.

    Returns
    -------
    csr_matrix of shape (n_samples, n_samples), float32
        Symmetric, weights in (0, 1], zero diagonal.
    """
    X = check_points(X)
    if not isinstance(n_neighbors, (int, np.integer)) or isinstance(n_neighbors, bool) or n_neighbors < 1:
        raise ValueError(f"n_neighbors must be an integer >= 1, got {n_neighbors!r}")
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {', '.join(METRICS)}, got {metric!r}")
    n = X.shape[0]
    k = min(int(n_neighbors), n - 1)
    if k == 0:
        return sp.csr_matrix((n, n), dtype=np.float32)
    idx, dist = nearest_neighbours(X, k, metric=metric) if neighbours is None else neighbours
    if np.shape(idx) != (n, k) or np.shape(dist) != (n, k):
        raise ValueError(f"neighbours must be two ({n}, {k}) arrays, got {np.shape(idx)} and {np.shape(dist)}")
    weights = calibrated_kernel(np.maximum(np.asarray(dist, np.float64), 0.0), target=max(np.log2(k), 1.0))
    rows = np.repeat(np.arange(n), k)
    directed = sp.csr_matrix((weights.ravel(), (rows, np.asarray(idx).ravel())), shape=(n, n))
    graph = (directed + directed.T - directed.multiply(directed.T)).tocsr()
    graph.setdiag(0)
    graph.eliminate_zeros()
    return graph.astype(np.float32)


def calibrated_kernel(dist: np.ndarray, *, target: float, n_steps: int = 64) -> np.ndarray:
    """Per-row weights ``exp(-(d - d_nearest) / sigma)`` of sorted neighbour distances, each row summing to
    ``target`` by bisection on ``sigma``.

    Parameters
    ----------
    dist : ndarray of shape (n_samples, k)
        Distances to each sample's neighbours, ascending along a row.
    target : float
        Wanted row sum, in [1, k]; rows that cannot reach it (all distances equal) get weight 1 throughout.
    n_steps : int
        Bisection steps on the bandwidth.

    Returns
    -------
    ndarray of shape (n_samples, k), float64, in [1e-6, 1]
    """
    offset = np.maximum(dist - dist[:, :1], 0.0)
    lo = np.zeros(len(dist))
    hi = np.full(len(dist), np.inf)
    bandwidth = np.maximum(np.mean(offset, axis=1), 1e-12)
    for _ in range(n_steps):
        total = np.exp(-offset / bandwidth[:, None]).sum(axis=1)
        too_wide = total > target
        hi = np.where(too_wide, bandwidth, hi)
        lo = np.where(too_wide, lo, bandwidth)
        bandwidth = np.where(np.isinf(hi), bandwidth * 2.0, (lo + hi) / 2.0)
    return np.maximum(np.exp(-offset / bandwidth[:, None]), 1e-6)


def _drop_self(dist: np.ndarray, idx: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """From ``k + 1`` neighbours per row (self usually among them), keep the first ``k`` that are not self.

    With duplicate points, self need not come first, or may be missing from the row altogether.
    """
    n = idx.shape[0]
    not_self = idx != np.arange(n)[:, None]
    # rows where self was absent keep their first k entries
    not_self[not_self.all(axis=1), -1] = False
    keep = np.nonzero(not_self)
    return dist[keep].reshape(n, k), idx[keep].reshape(n, k)


@dataclass(frozen=True)
class BipartiteGraph:
    """A neuron x sample graph: nodes ``0 .. n_samples - 1`` are samples, the next ``n_neurons`` are neurons.

    Attributes
    ----------
    adjacency : csr_matrix of shape (n_samples + n_neurons, n_samples + n_neurons), float32
        Symmetric; edges only between a sample and a neuron, weighted by the neuron's normalized activation.
    n_samples, n_neurons : int
    dead : ndarray of int64
        Neurons (0-based, among the neurons) whose activation never varies over the probe set: no edges.
    """

    adjacency: sp.csr_matrix
    n_samples: int
    n_neurons: int
    dead: np.ndarray


def normalized_activations(A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Min-max normalize each neuron (column) of ``A`` (n_samples, n_neurons) over the samples.

    Returns the normalized array, in [0, 1] (dead columns all 0), and the indices of dead columns (constant,
    e.g. a ReLU unit that never fires).
    """
    A = check_points(A, "activations")
    lo, hi = A.min(axis=0), A.max(axis=0)
    span = hi - lo
    dead = np.flatnonzero(span <= 1e-12 * np.maximum(np.abs(hi), 1.0))
    norm = np.zeros_like(A)
    live = np.setdiff1d(np.arange(A.shape[1]), dead)
    norm[:, live] = (A[:, live] - lo[live]) / span[live]
    return norm, dead.astype(np.int64)


def bipartite_graph(A: np.ndarray, *, top_k: int | None = 3, quantile: float | None = 0.95) -> BipartiteGraph:
    """Neuron x sample graph from a layer's activations.

    Each neuron's activation is min-max normalized over the probe set. Sample ``i`` is linked to neuron ``j``
    when ``j`` is among the ``top_k`` neurons with the highest normalized activation on ``i``, or when the
    activation is at or above the ``quantile`` of neuron ``j`` over the samples (either rule can be switched off
    with ``None``; at least one must be on). Only positive normalized activations make edges; the edge weight
    is the normalized activation. With the defaults every sample has ``top_k`` neurons unless fewer are live,
    and every live neuron reaches its most responsive 5% of samples, which keeps the graph connected in practice
    and the picture readable (about ``top_k + 0.05 * n_neurons`` edges per sample).

    Parameters
    ----------
    A : ndarray of shape (n_samples, n_neurons)
        Activations of one hidden layer.
    top_k : int or None
        Neurons per sample, >= 1.
    quantile : float or None
        Per-neuron threshold quantile, in [0, 1).

    Returns
    -------
    BipartiteGraph
    """
    if top_k is None and quantile is None:
        raise ValueError("bipartite_graph needs top_k or quantile (or both); got neither")
    if top_k is not None and (not isinstance(top_k, (int, np.integer)) or top_k < 1):
        raise ValueError(f"top_k must be an integer >= 1 or None, got {top_k!r}")
    if quantile is not None and not 0.0 <= quantile < 1.0:
        raise ValueError(f"quantile must be in [0, 1) or None, got {quantile!r}")
    norm, dead = normalized_activations(A)
    n, m = norm.shape
    linked = np.zeros((n, m), dtype=bool)
    if top_k is not None:
        k = min(int(top_k), m)
        top = np.argpartition(-norm, k - 1, axis=1)[:, :k]
        linked[np.arange(n)[:, None], top] = True
    if quantile is not None:
        linked |= norm >= np.quantile(norm, quantile, axis=0)[None, :]
    linked &= norm > 0
    rows, cols = np.nonzero(linked)
    weights = norm[rows, cols].astype(np.float32)
    upper = sp.csr_matrix((weights, (rows, n + cols)), shape=(n + m, n + m))
    return BipartiteGraph(adjacency=(upper + upper.T).tocsr(), n_samples=n, n_neurons=m, dead=dead)
