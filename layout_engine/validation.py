"""Checks at the boundary of the layout engine."""

from __future__ import annotations

import numpy as np


def check_points(X: np.ndarray, name: str = "X") -> np.ndarray:
    """Return ``X`` as a C-contiguous float32 array of shape (n_samples, n_features).

    Raises
    ------
    ValueError
        If ``X`` is not 2-D, is empty, or holds NaN or infinite values (with their count and first row).
    """
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (n_samples, n_features), got shape {X.shape}")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"{name} must have at least one sample and one feature, got shape {X.shape}")
    if not np.issubdtype(X.dtype, np.number):
        raise ValueError(f"{name} must be numeric, got dtype {X.dtype}")
    X = np.ascontiguousarray(X, dtype=np.float32)
    bad = ~np.isfinite(X)
    if bad.any():
        rows = np.flatnonzero(bad.any(axis=1))
        raise ValueError(f"{name} contains {int(bad.sum())} NaN or infinite values (first in row {rows[0]}); "
                         "clean the activations or stop training before it diverges")
    return X
