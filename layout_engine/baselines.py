"""Reference layouts behind one interface, for comparison with the engine: ``f(X, *, random_state) -> (n, 2)``.

umap-learn and openTSNE are imported only when used: their imports are slow (numba compilation on a first
import of umap) and the app and most tests never need them.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

import numpy as np
from sklearn.decomposition import PCA

from layout_engine.validation import check_points

#: ``layout(X, *, random_state) -> ndarray (n_samples, 2)``
Layout = Callable[..., np.ndarray]


def pca_layout(X: np.ndarray, *, random_state: int = 0) -> np.ndarray:
    """First two principal components of ``X`` (n_samples, n_features)."""
    X = check_points(X)
    if X.shape[0] < 2 or X.shape[1] < 2:
        return np.pad(X[:, :1] - X[:, :1].mean(), ((0, 0), (0, 1))).astype(np.float32)
    return PCA(n_components=2, random_state=random_state).fit_transform(X).astype(np.float32)


def umap_layout(X: np.ndarray, *, random_state: int | None = None, n_neighbors: int = 15,
                fast: bool = False, init: np.ndarray | str = "spectral") -> np.ndarray:
    """umap-learn's UMAP of ``X`` (n_samples, n_features).

    ``random_state=None`` lets UMAP use every thread (a seed makes it single-threaded); ``fast`` sets
    ``force_approximation_algorithm=True`` (approximate neighbours even below 4096 points).
    """
    import umap

    X = check_points(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = umap.UMAP(n_neighbors=n_neighbors, random_state=random_state, init=init,
                          force_approximation_algorithm=fast)
        return model.fit_transform(X).astype(np.float32)


def aligned_umap_layouts(frames: Sequence[np.ndarray], *, n_neighbors: int = 15,
                         random_state: int | None = None) -> list[np.ndarray]:
    """umap-learn's AlignedUMAP over a sequence of frames of the same samples (identity relations)."""
    import umap

    frames = [check_points(X) for X in frames]
    n = frames[0].shape[0]
    relations = [{i: i for i in range(n)} for _ in frames[1:]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = umap.AlignedUMAP(n_neighbors=n_neighbors, random_state=random_state).fit(frames, relations=relations)
    return [np.asarray(e, dtype=np.float32) for e in model.embeddings_]


def tsne_layout(X: np.ndarray, *, random_state: int = 0) -> np.ndarray:
    """openTSNE's t-SNE of ``X`` (n_samples, n_features), default settings, all threads."""
    import openTSNE

    X = check_points(X)
    return np.asarray(openTSNE.TSNE(n_jobs=-1, random_state=random_state).fit(X), dtype=np.float32)


BASELINES: dict[str, Layout] = {"umap": umap_layout, "tsne": tsne_layout, "pca": pca_layout}
