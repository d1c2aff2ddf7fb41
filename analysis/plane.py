"""The input plane of a network trained on 2-D data (TensorFlow Playground's view): its decision surface and
each hidden unit's activation over a grid of the plane, from the weights recorded at each epoch. Pure numpy.
"""

from __future__ import annotations

import numpy as np

#: grid points per side of the plane
GRID = 48


def plane_grid(X: np.ndarray, size: int = GRID, margin: float = 0.1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A ``size`` x ``size`` grid over the points' extent, widened by ``margin`` of it on each side.

    Parameters
    ----------
    X : ndarray of shape (n_samples, 2)
        The inputs as the network sees them.

    Returns
    -------
    xs, ys : ndarray of shape (size,)
        The grid's coordinates along each axis.
    points : ndarray of shape (size * size, 2), float32
        Row-major: point ``i * size + j`` is ``(xs[j], ys[i])`` (a heat map's ``z[i][j]``).
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"X must have shape (n_samples, 2), got {X.shape}")
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = margin * np.maximum(hi - lo, 1e-6)
    xs, ys = (np.linspace(lo[k] - pad[k], hi[k] + pad[k], size) for k in range(2))
    gx, gy = np.meshgrid(xs, ys)
    return xs, ys, np.column_stack([gx.ravel(), gy.ravel()]).astype(np.float32)


def mlp_forward(weights: list[tuple[np.ndarray, np.ndarray]], X: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """The ReLU MLP of :class:`models.mlp.MLP` from its weights.

    Parameters
    ----------
    weights : list of (W, b)
        Each layer's weight, shape (units_out, units_in) as torch stores it, and bias (units_out,): the hidden
        layers in order, then the head.
    X : ndarray of shape (n_points, n_in)

    Returns
    -------
    activations : list of ndarray, each (n_points, units)
        Each hidden layer's activations.
    probabilities : ndarray of shape (n_points, n_classes)
        The head's softmax.
    """
    h = np.asarray(X, dtype=np.float64)
    activations = []
    for W, b in weights[:-1]:
        h = np.maximum(h @ np.asarray(W, np.float64).T + b, 0.0)
        activations.append(h)
    W, b = weights[-1]
    logits = h @ np.asarray(W, np.float64).T + b
    logits -= logits.max(axis=1, keepdims=True)
    p = np.exp(logits)
    return activations, p / p.sum(axis=1, keepdims=True)
