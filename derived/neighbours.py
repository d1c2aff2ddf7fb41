"""One kNN table per activation matrix and metric, shared by the layout's graph and the measures.

The table is kept at the widest k asked for so far (at least :data:`layout_engine.metrics.NEIGHBOURHOOD_K`, the
measures' k), and any smaller k is its first columns (neighbours come sorted by distance): a layout at
``n_neighbors = 10`` and the measures at 15 read one table, whichever asks first.
"""

from __future__ import annotations

import numpy as np

from derived.keys import neighbours_key
from layout_engine.graph import nearest_neighbours
from layout_engine.metrics import NEIGHBOURHOOD_K
from models.store import RunStore


def neighbour_table(store: RunStore, X: np.ndarray, k: int, metric: str = "euclidean") -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest other samples of each row of ``X`` (n, d) by ``metric``: indices and distances, each
    (n, k), sorted by distance; from the store, found (at ``max(k, NEIGHBOURHOOD_K)``, capped at n - 1) and stored
    when missing or narrower than ``k``."""
    n = len(X)
    if not 1 <= k <= n - 1:
        raise ValueError(f"k must be in 1..{n - 1} for {n} samples, got {k}")
    key = neighbours_key(X, metric)
    cached = store.get_derived(key)
    if cached is None or cached["indices"].shape[1] < k:
        width = min(max(k, NEIGHBOURHOOD_K), n - 1)
        indices, distances = nearest_neighbours(X, width, metric=metric)
        cached = {"indices": indices, "distances": distances}
        store.put_derived(key, cached)
    return cached["indices"][:, :k], cached["distances"][:, :k]
