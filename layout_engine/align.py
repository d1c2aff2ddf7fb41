"""Temporal coherence for display: centre, normalize and Procrustes-align frames."""

from __future__ import annotations

import numpy as np
from scipy.linalg import orthogonal_procrustes


def normalize(coords: np.ndarray) -> np.ndarray:
    """Centre ``coords`` (n, d) at the origin and scale them to unit RMS radius."""
    coords = np.asarray(coords, dtype=np.float64)
    centred = coords - coords.mean(axis=0)
    rms = np.sqrt((centred ** 2).sum(axis=1).mean())
    return (centred / rms if rms > 0 else centred).astype(np.float32)


def align_to(coords: np.ndarray, reference: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Normalize ``coords`` (n, d), then rotate / reflect it onto the normalized ``reference`` (n, d).

    The rotation is the orthogonal Procrustes solution, so only rigid motion (and the scale normalization)
    is removed: what still moves between two aligned frames is change in the layout itself. ``weights`` (n,),
    >= 0, fit the rotation to some nodes more than others (those whose neighbourhoods did not change, so that
    they stay where they were and what changed shows as what moves); by default all alike.
    """
    coords, reference = normalize(coords), normalize(reference)
    if coords.shape != reference.shape:
        raise ValueError(f"frames differ in shape: {coords.shape} vs reference {reference.shape}")
    root = np.ones((len(coords), 1)) if weights is None else np.sqrt(np.asarray(weights, np.float64))[:, None]
    if not np.any(root > 0):
        root = np.ones_like(root)
    rotation, _ = orthogonal_procrustes(coords * root, reference * root)
    return (coords @ rotation).astype(np.float32)
