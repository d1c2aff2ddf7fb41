"""The motion between consecutive frames of a layer (what the map shows moving against what changed in the
raw space), each pair kept in a small derived entry of its own."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from derived.keys import motion_key
from derived.neighbours import neighbour_table
from layout_engine.metrics import NEIGHBOURHOOD_K
from layout_engine.motion import motion
from models.store import RunStore

#: a frame pair's numbers, as :meth:`layout_engine.motion.Motion.summary` names them
MOTION = ("shown", "shown_churn", "real_churn", "motion_rho", "moves_more")


def ensure_motion(store: RunStore, keys: tuple[str, str],
                  load: Callable[[int], tuple[np.ndarray, np.ndarray]]) -> dict[str, float]:
    """The :data:`MOTION` numbers from one frame to the next, given their layout keys; when missing,
    computed from ``load(i)`` (i = 0 for the earlier frame, 1 for the later), which gives the frame's
    activations (n, d) and display (n_nodes, 2), samples first, and stored."""
    key = motion_key(*keys)
    cached = store.get_derived(key)
    if cached is None:
        (X_a, display_a), (X_b, display_b) = load(0), load(1)
        n = len(X_a)
        k = min(NEIGHBOURHOOD_K, n - 1)
        raw = (neighbour_table(store, X_a, k)[0][:, :k], neighbour_table(store, X_b, k)[0][:, :k])
        step = motion(X_a, X_b, display_a[:n], display_b[:n], n_neighbors=k, raw_neighbours=raw)
        cached = {name: np.array(value) for name, value in step.summary().items()}
        store.put_derived(key, cached)
    return {name: float(cached[name]) for name in MOTION}
