"""Scrambled samples: label noise (trained on) and corrupted inputs, to watch how a network copes with them."""

from __future__ import annotations

import numpy as np

#: standard deviation of the Gaussian noise added to a corrupted input (inputs are scaled to [0, 1])
NOISE_STD = 0.5


def scramble(X: np.ndarray, y: np.ndarray, kind: str, fraction: float, *, n_classes: int,
             seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scramble a seeded random ``fraction`` of the samples.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Inputs in [0, 1].
    y : ndarray of shape (n_samples,), int
        True labels.
    kind : {"none", "labels", "noise", "permute"}
        ``labels``: each affected sample gets a label drawn uniformly over *all* classes, its own included (the
        network is trained on it), so that a fully scrambled set is a true shuffled-label control: drawing only
        among the other classes would tell the network which class a sample is not, and a network trained on
        that ends far below chance on clean test data;
        ``noise``: Gaussian noise of std :data:`NOISE_STD`, clipped to [0, 1]; ``permute``: the sample's
        features in a random order of its own.
    fraction : float
        Share of samples affected, in [0, 1] (rounded to a whole number of samples).
    n_classes : int
    seed : int

    Returns
    -------
    X : ndarray of shape (n_samples, n_features), float32
        Inputs as trained on (a copy).
    y : ndarray of shape (n_samples,), int64
        Labels as trained on.
    flags : ndarray of shape (n_samples,), bool
        True for the scrambled samples (for label noise: those whose label was drawn again; about
        ``1 / n_classes`` of them drew their own; :func:`changed_fraction` gives the share actually changed).
    """
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"scramble_fraction must be in 0..1, got {fraction}")
    X, y = np.array(X, dtype=np.float32), np.array(y, dtype=np.int64)
    flags = np.zeros(len(y), dtype=bool)
    if kind == "none" or fraction == 0.0:
        return X, y, flags
    rng = np.random.default_rng([seed, 0x5C4A])
    chosen = rng.choice(len(y), size=int(round(fraction * len(y))), replace=False)
    flags[chosen] = True
    if kind == "labels":
        if n_classes < 2:
            raise ValueError("label noise needs at least two classes")
        y[chosen] = rng.integers(0, n_classes, size=len(chosen))
    elif kind == "noise":
        X[chosen] = np.clip(X[chosen] + rng.normal(scale=NOISE_STD, size=X[chosen].shape), 0.0, 1.0)
    elif kind == "permute":
        for i in chosen:
            X[i] = X[i, rng.permutation(X.shape[1])]
    else:
        raise ValueError(f"scramble must be one of none, labels, noise, permute, got {kind!r}")
    return X, y, flags


def changed_fraction(X: np.ndarray, y: np.ndarray, X_used: np.ndarray, y_used: np.ndarray) -> float:
    """Share of samples whose label or input differs between the clean data (``X`` (n, d), ``y`` (n,)) and the
    data as trained on (``X_used``, ``y_used``): the scrambling actually applied, in [0, 1]."""
    if len(y) == 0:
        return 0.0
    changed = (np.asarray(y) != np.asarray(y_used)) | np.any(np.asarray(X) != np.asarray(X_used), axis=1)
    return float(changed.mean())
