"""Similarity graphs over samples."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.neighbors import NearestNeighbors

from layout_engine.validation import check_points

METRICS = ("euclidean", "cosine")


def knn_graph(X: np.ndarray, *, n_neighbors: int = 15, metric: str = "euclidean") -> sp.csr_matrix:
    """Symmetric kNN similarity graph with local Gaussian kernel weights.

    Each sample is joined to its ``n_neighbors`` nearest other samples; the edge ``i -> j`` weighs
    ``exp(-d_ij**2 / (sigma_i * sigma_j))`` where ``sigma_i`` is the distance from ``i`` to its
    ``ceil(n_neighbors / 2)``-th neighbour (self-tuning scale, so dense and sparse regions weigh alike).
    The graph is symmetrized by the maximum of both directions and has no self-loops.

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
    if not isinstance(n_neighbors, (int, np.integer)) or n_neighbors < 1:
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
    dist = np.maximum(dist, 0.0)
    sigma = dist[:, (k + 1) // 2 - 1]
    floor = max(float(np.mean(dist)) * 1e-3, 1e-12)
    sigma = np.maximum(sigma, floor)
    weights = np.exp(-(dist ** 2) / (sigma[:, None] * sigma[idx]))
    weights = np.maximum(weights, 1e-6).astype(np.float32)
    rows = np.repeat(np.arange(n), k)
    graph = sp.csr_matrix((weights.ravel(), (rows, idx.ravel())), shape=(n, n))
    graph = graph.maximum(graph.T).tocsr()
    graph.setdiag(0)
    graph.eliminate_zeros()
    return graph.astype(np.float32)


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
