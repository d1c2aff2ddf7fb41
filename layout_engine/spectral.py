"""Spectral warm start: the smallest non-trivial eigenvectors of the normalized graph Laplacian."""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from scipy.sparse.linalg import ArpackError, ArpackNoConvergence, eigsh

#: components this small are placed on a small circle instead of being solved for
_TINY_COMPONENT = 3


class SpectralInitWarning(UserWarning):
    """The eigensolver failed and a random start was used instead."""


def spectral_init(graph: sp.spmatrix, *, n_components: int = 2, random_state: int = 0) -> np.ndarray:
    """Spectral layout of a symmetric similarity graph, one block per connected component.

    Each component is embedded by the eigenvectors 2 .. ``n_components + 1`` of its symmetric normalized
    Laplacian ``I - D^-1/2 W D^-1/2`` (computed as the largest of ``I + D^-1/2 W D^-1/2`` with ARPACK),
    each eigenvector's sign fixed so that its largest-magnitude entry is positive, scaled to unit RMS radius.
    Components are then placed side by side on a grid, larger ones first, each within a disc whose
    radius grows with its size, discs not overlapping.
    If the solver fails for a component, that component gets a seeded random start and a
    :class:`SpectralInitWarning` says so ("Spectral initialisation failed").

    Parameters
    ----------
    graph : sparse matrix of shape (n_samples, n_samples)
        Symmetric non-negative weights, e.g. from :func:`layout_engine.graph.knn_graph`.
    n_components : int
        Output dimensions.
    random_state : int
        Seed of the starting vector and of any fallback.

    Returns
    -------
    ndarray of shape (n_samples, n_components), float32
        The same output for the same input, call after call.
    """
    graph = sp.csr_matrix(graph, dtype=np.float64)
    n = graph.shape[0]
    if graph.shape != (n, n):
        raise ValueError(f"graph must be square, got shape {graph.shape}")
    n_parts, labels = connected_components(graph, directed=False)
    blocks: list[tuple[np.ndarray, np.ndarray]] = []
    for part in range(n_parts):
        members = np.flatnonzero(labels == part)
        sub = graph[members][:, members]
        blocks.append((members, _component_layout(sub, n_components, random_state + part)))
    return _place_components(blocks, n, n_components)


def _component_layout(sub: sp.csr_matrix, dim: int, seed: int) -> np.ndarray:
    m = sub.shape[0]
    if m <= max(_TINY_COMPONENT, dim + 1):
        angle = 2 * np.pi * np.arange(m) / max(m, 1)
        base = np.stack([np.cos(angle), np.sin(angle)] + [np.zeros(m)] * (dim - 2), axis=1)[:, :dim]
        return base if m > 1 else np.zeros((1, dim))
    degree = np.asarray(sub.sum(axis=1)).ravel()
    d_inv_sqrt = 1.0 / np.sqrt(np.maximum(degree, 1e-12))
    norm_adj = sp.diags(d_inv_sqrt) @ sub @ sp.diags(d_inv_sqrt)
    shifted = norm_adj + sp.identity(m)
    v0 = np.sqrt(degree) + np.random.default_rng(seed).uniform(0, 1e-3, m)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            values, vectors = eigsh(shifted, k=dim + 1, which="LA", tol=1e-4, v0=v0,
                                    ncv=min(m, max(2 * (dim + 1) + 1, 20)), maxiter=m * 5)
    except (ArpackError, ArpackNoConvergence, RuntimeWarning, ValueError) as exc:
        warnings.warn(f"Spectral initialisation failed ({exc}) for a component of {m} nodes; "
                      "falling back to a random start", SpectralInitWarning, stacklevel=3)
        return np.random.default_rng(seed).normal(size=(m, dim))
    order = np.argsort(values)[::-1]
    coords = vectors[:, order[1:dim + 1]]
    flip = np.sign(coords[np.abs(coords).argmax(axis=0), np.arange(dim)])
    coords = coords * np.where(flip == 0, 1.0, flip)
    coords -= coords.mean(axis=0)
    rms = np.sqrt((coords ** 2).sum(axis=1).mean())
    return coords / rms if rms > 0 else coords


def _place_components(blocks: list[tuple[np.ndarray, np.ndarray]], n: int, dim: int) -> np.ndarray:
    out = np.zeros((n, dim))
    if len(blocks) == 1:
        members, coords = blocks[0]
        out[members] = coords
        return out.astype(np.float32)
    blocks = sorted(blocks, key=lambda b: (-len(b[0]), int(b[0][0])))
    radii = [np.sqrt(len(members) / n) for members, _ in blocks]
    cols = int(np.ceil(np.sqrt(len(blocks))))
    cell = 2.5 * max(radii)
    for i, ((members, coords), radius) in enumerate(zip(blocks, radii)):
        centre = np.zeros(dim)
        centre[0], centre[1] = (i % cols) * cell, -(i // cols) * cell
        extent = np.linalg.norm(coords, axis=1).max()
        out[members] = centre + coords * (radius / extent if extent > 0 else 0.0)
    out -= out.mean(axis=0)
    return out.astype(np.float32)
