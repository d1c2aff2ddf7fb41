"""Data sets that need no download, split into train / test, with a fixed stratified probe set.

The probe set is the fixed group of samples that every recorded epoch describes: the nodes of every map.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

DATASETS = ("digits",)


@dataclass(frozen=True)
class Dataset:
    """A classification data set, split, with its probe set.

    Attributes
    ----------
    name : str
        Data set name, one of :data:`DATASETS`.
    X : ndarray of shape (n_samples, n_features), float32
        Inputs, scaled to [0, 1].
    y : ndarray of shape (n_samples,), int64
        Class labels in ``0 .. n_classes - 1``.
    train_idx, test_idx : ndarray of int64
        Disjoint indices into ``X`` for training and evaluation.
    probe_idx : ndarray of shape (n_probe,), int64
        Sorted indices into ``X`` of the probe samples (drawn from train and test alike).
    class_names : tuple of str
        A display name for each class.
    image_shape : tuple of int or None
        Shape to show one input as an image, ``(8, 8)`` for digits.
    """

    name: str
    X: np.ndarray
    y: np.ndarray
    train_idx: np.ndarray
    test_idx: np.ndarray
    probe_idx: np.ndarray
    class_names: tuple[str, ...]
    image_shape: tuple[int, int] | None

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def n_features(self) -> int:
        return int(self.X.shape[1])


def stratified_subset(y: np.ndarray, n: int, *, seed: int) -> np.ndarray:
    """Pick ``n`` indices of ``y`` keeping the class proportions, sorted.

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
        Class labels.
    n : int
        How many indices to pick, ``1 <= n <= n_samples``; ``n == n_samples`` returns all of them.
    seed : int
        Seed of the draw.

    Returns
    -------
    ndarray of shape (n,), int64
    """
    if not 1 <= n <= len(y):
        raise ValueError(f"probe_size must be between 1 and {len(y)} (the data set's size), got {n}")
    if n == len(y):
        return np.arange(len(y), dtype=np.int64)
    n_classes = len(np.unique(y))
    if n < n_classes:
        rng = np.random.default_rng(seed)
        return np.sort(rng.choice(len(y), size=n, replace=False)).astype(np.int64)
    idx, _ = train_test_split(np.arange(len(y)), train_size=n, stratify=y, random_state=seed)
    return np.sort(idx).astype(np.int64)


def load_dataset(name: str = "digits", *, seed: int = 0, test_fraction: float = 0.2,
                 probe_size: int | None = None) -> Dataset:
    """Load a built-in data set, split it and draw its probe set.

    Parameters
    ----------
    name : str
        One of :data:`DATASETS`.
    seed : int
        Seed of the split and of the probe draw.
    test_fraction : float
        Share of samples held out for testing, in (0, 1).
    probe_size : int or None
        Number of probe samples; ``None`` probes every sample.

    Returns
    -------
    Dataset
    """
    if name not in DATASETS:
        raise ValueError(f"dataset must be one of {', '.join(DATASETS)}, got {name!r}")
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    bunch = load_digits()
    X = (bunch.data / 16.0).astype(np.float32)
    y = bunch.target.astype(np.int64)
    train_idx, test_idx = train_test_split(np.arange(len(y)), test_size=test_fraction, stratify=y,
                                           random_state=seed)
    probe_idx = stratified_subset(y, len(y) if probe_size is None else probe_size, seed=seed)
    return Dataset(name=name, X=X, y=y, train_idx=np.sort(train_idx), test_idx=np.sort(test_idx),
                   probe_idx=probe_idx, class_names=tuple(str(c) for c in range(10)), image_shape=(8, 8))
