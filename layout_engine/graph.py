"""Similarity graphs over samples."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.neighbors import NearestNeighbors

from layout_engine.validation import check_points

METRICS = ("euclidean", "cosine")


def knn_graph(X: np.ndarray, *, n_neighbors: int = 15, metric: str = "euclidean") -> sp.csr_matrix:
    """Symmetric kNN similarity graph with locally calibrated Gaussian kernel weights.

    Each sample ``i`` is joined to its ``n_neighbors`` nearest other samples ``j`` with weight
    ``exp(-max(0, d_ij - rho_i)**2 / sigma_i**2)``, where ``rho_i`` is the distance to the nearest neighbour
    (so every sample has one neighbour at weight 1: local connectivity, as in UMAP) and ``sigma_i`` is chosen
    so that the weights of ``i`` sum to ``log2(n_neighbors)`` (a per-sample bandwidth, as t-SNE calibrates its
    Gaussian by perplexity): dense and sparse regions weigh alike. Both directions are merged as a fuzzy
    union ``w_ij + w_ji - w_ij * w_ji``. No self-loops.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Points; NaN or infinite values raise ``ValueError``.
    n_neighbors : int
        Neighbours per sample, >= 1; capped at ``n_samples - 1``.
    metric : {"euclidean", "cosine"}
        Distance between samples.

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
    nn = NearestNeighbors(n_neighbors=k + 1, metric=metric, algorithm="brute" if metric == "cosine" else "auto")
    dist, idx = nn.fit(X).kneighbors(X)
    dist, idx = _drop_self(dist, idx, k)
    weights = calibrated_gaussian(np.maximum(dist, 0.0), target=max(np.log2(k), 1.0))
    rows = np.repeat(np.arange(n), k)
    directed = sp.csr_matrix((weights.ravel(), (rows, idx.ravel())), shape=(n, n))
    graph = (directed + directed.T - directed.multiply(directed.T)).tocsr()
    graph.setdiag(0)
    graph.eliminate_zeros()
    return graph.astype(np.float32)


def calibrated_gaussian(dist: np.ndarray, *, target: float, n_steps: int = 64) -> np.ndarray:
    """Per-row Gaussian weights of sorted neighbour distances, each row summing to ``target``.

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
    offset = np.maximum(dist - dist[:, :1], 0.0) ** 2
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
