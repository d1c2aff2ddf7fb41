"""Numbers that say how faithful a layout is and how well classes separate."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.manifold import trustworthiness as _sk_trustworthiness
from sklearn.metrics import silhouette_score


def trustworthiness(X: np.ndarray, embedding: np.ndarray, *, n_neighbors: int = 15) -> float:
    """Share of each point's layout neighbours that are also near in ``X`` (1 = perfect), as in scikit-learn.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    embedding : ndarray of shape (n_samples, 2)
    n_neighbors : int
        Must be < n_samples / 2.
    """
    return float(_sk_trustworthiness(X, embedding, n_neighbors=n_neighbors))


def class_silhouette(points: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette of ``points`` (n, d) grouped by ``labels`` (n,), in [-1, 1]; NaN with < 2 classes."""
    labels = np.asarray(labels)
    n_labels = len(np.unique(labels))
    if n_labels < 2 or n_labels >= len(labels):
        return float("nan")
    return float(silhouette_score(points, labels))


def neighbour_churn(graph_a: sp.spmatrix, graph_b: sp.spmatrix) -> float:
    """Mean over nodes of ``1 - Jaccard`` between a node's neighbour sets in two graphs on the same nodes.

    0 when every node keeps its neighbours, 1 when none does.
    """
    a = sp.csr_matrix(graph_a, dtype=bool).astype(np.int8)
    b = sp.csr_matrix(graph_b, dtype=bool).astype(np.int8)
    if a.shape != b.shape:
        raise ValueError(f"graphs differ in shape: {a.shape} vs {b.shape}")
    inter = np.asarray(a.multiply(b).sum(axis=1)).ravel()
    union = np.asarray(a.sum(axis=1)).ravel() + np.asarray(b.sum(axis=1)).ravel() - inter
    jaccard = np.divide(inter, union, out=np.ones(len(inter)), where=union > 0)
    return float(1.0 - jaccard.mean())
