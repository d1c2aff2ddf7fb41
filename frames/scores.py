"""A frame's scores (how well its 2-D layout keeps what the layer's raw space holds) and its extent, each kept
in a small derived entry of its own beside the layout."""

from __future__ import annotations

import numpy as np

from analysis.representation import class_separation, knn_class_purity
from derived.keys import box_key, scores_key
from layout_engine.graph import nearest_neighbours
from layout_engine.metrics import NEIGHBOURHOOD_K, trustworthiness
from layout_engine.threads import one_blas_thread
from models.store import RunStore

#: a frame's scores (silhouette, trustworthiness, distance ratio) are estimated on this many samples
SILHOUETTE_POINTS = 600

#: per-frame scores of a layout the training panel plots, each estimated on SILHOUETTE_POINTS samples: class
#: silhouette, trustworthiness (k = NEIGHBOURHOOD_K), intra / inter-class distance ratio and neighbourhood hit
#: (the 2-D twin of the raw space's kNN class purity, :mod:`analysis.measures`)
SCORES = ("silhouette", "trust", "ratio", "nh")


@one_blas_thread()
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
    k = min(NEIGHBOURHOOD_K, (len(subset) - 1) // 2)
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


def ensure_scores(store: RunStore, layout_key: str, X: np.ndarray, display: np.ndarray,
                  labels: np.ndarray) -> dict[str, np.ndarray]:
    """The scores of the layout under ``layout_key`` (``display`` (n_nodes, 2), samples first) against
    ``labels`` (n,), computed and stored when missing."""
    key = scores_key(layout_key, labels)
    cached = store.get_derived(key)
    if cached is None:
        cached = frame_scores(X, display[:len(labels)], labels)
        store.put_derived(key, cached)
    return cached


def read_scores(store: RunStore, layout_key: str | None, labels: np.ndarray) -> dict[str, float] | None:
    """The stored :data:`SCORES` of a layout against ``labels``, or ``None`` while not computed."""
    cached = store.get_derived(scores_key(layout_key, labels)) if layout_key is not None else None
    return None if cached is None else {name: float(cached[name]) for name in SCORES if name in cached}


def frame_box(store: RunStore, layout_key: str, display: np.ndarray | None = None) -> tuple[list[float], int] | None:
    """The extent ``[x0, x1, y0, y1]`` and node count of the layout under ``layout_key``, from a small entry of
    its own (a sequence's payload needs every epoch's, and reading each display costs ~15 ms at n = 50,000);
    made from ``display`` (n_nodes, 2), or from the stored layout, when missing. ``None`` when neither is
    stored."""
    cached = store.get_derived(box_key(layout_key))
    if cached is None:
        if display is None:
            layout = store.get_derived(layout_key)
            if layout is None:
                return None
            display = layout["display"]
        lo, hi = display.min(axis=0), display.max(axis=0)
        cached = {"box": np.array([lo[0], hi[0], lo[1], hi[1]], dtype=np.float64), "n_nodes": np.array(len(display))}
        store.put_derived(box_key(layout_key), cached)
    return [round(float(v), 4) for v in cached["box"]], int(cached["n_nodes"])
