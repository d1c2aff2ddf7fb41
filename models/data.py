"""Data sets that need no download, split into train / test, with a fixed stratified probe set.

Built in: scikit-learn's digits, iris, wine and breast cancer; generated 2-D sets in the spirit of TensorFlow
Playground (moons, circles, xor, spirals, blobs); MNIST-1D (Greydanus 2020: ten 1-D digit templates padded,
scaled, translated, sheared and noised into 40-feature signals, generated offline by the ``mnist1d`` package at
any size); and the user's own ``.npz`` (arrays ``X`` and ``y``) or
``.csv`` (a named label column), validated by :mod:`models.datafile`. Every input feature is scaled to [0, 1]
(min-max over the data set), so the same networks, a Bernoulli VAE included, fit every source.

The probe set is the fixed group of samples that every recorded epoch describes: the nodes of every map.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn import datasets as skd
from sklearn.model_selection import train_test_split

#: scikit-learn's bundled tables: name -> loader
TABLES = {"digits": skd.load_digits, "iris": skd.load_iris, "wine": skd.load_wine,
          "breast_cancer": skd.load_breast_cancer}
#: generated 2-D sets; ``n_samples`` and ``noise`` of the run config apply
GENERATED = ("moons", "circles", "xor", "spirals", "blobs")
#: MNIST-1D, generated at ``n_samples`` (rounded down to a multiple of its 10 classes)
MNIST1D = "mnist1d"
#: data sets whose size the run config's ``n_samples`` sets
SIZED = (*GENERATED, MNIST1D)
#: a user's file, named by the run config's ``data_path``
FILE = "file"
DATASETS = (*TABLES, *SIZED, FILE)

#: bounds of the generated sets' parameters
N_SAMPLES_RANGE = (20, 100_000)
NOISE_RANGE = (0.0, 2.0)
#: the most probe samples a run records (every map has one node per probe sample); a run that asks for no
#: probe size probes every sample up to this many, and a stratified draw of this many beyond
MAX_PROBE = 50_000


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
        Shape to show one input as an image, ``(8, 8)`` for digits; ``None`` otherwise.
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
    if n < n_classes or np.bincount(y).min() < 2:
        rng = np.random.default_rng(seed)
        return np.sort(rng.choice(len(y), size=n, replace=False)).astype(np.int64)
    # a random stream of its own: with the split's seed, the draw would repeat the train / test split's
    # permutation and pick training samples only
    stream = int(np.random.SeedSequence([seed, 0x9B0B]).generate_state(1)[0])
    idx, _ = train_test_split(np.arange(len(y)), train_size=n, stratify=y, random_state=stream)
    return np.sort(idx).astype(np.int64)


def generate(name: str, n_samples: int, noise: float, *, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A generated 2-D classification set.

    Parameters
    ----------
    name : {"moons", "circles", "xor", "spirals", "blobs"}
    n_samples : int
        Points, in :data:`N_SAMPLES_RANGE`.
    noise : float
        Standard deviation of Gaussian noise, relative to the set's unit scale, in :data:`NOISE_RANGE`.
    seed : int

    Returns
    -------
    X : ndarray of shape (n_samples, 2), float64
    y : ndarray of shape (n_samples,), int64
        Two classes (``blobs``: four).
    """
    if name not in GENERATED:
        raise ValueError(f"generated data set must be one of {', '.join(GENERATED)}, got {name!r}")
    lo, hi = N_SAMPLES_RANGE
    if not lo <= n_samples <= hi:
        raise ValueError(f"n_samples must be in {lo}..{hi}, got {n_samples}")
    if not NOISE_RANGE[0] <= noise <= NOISE_RANGE[1]:
        raise ValueError(f"noise must be in [{NOISE_RANGE[0]}, {NOISE_RANGE[1]}], got {noise}")
    rng = np.random.default_rng(seed)
    if name == "moons":
        X, y = skd.make_moons(n_samples, noise=noise, random_state=seed)
    elif name == "circles":
        X, y = skd.make_circles(n_samples, noise=noise, factor=0.5, random_state=seed)
    elif name == "blobs":
        X, y = skd.make_blobs(n_samples, centers=[[-1, -1], [-1, 1], [1, -1], [1, 1]],
                              cluster_std=0.3 + noise, random_state=seed)
    elif name == "xor":
        X = rng.uniform(-1, 1, size=(n_samples, 2))
        y = (X[:, 0] * X[:, 1] > 0).astype(np.int64)
        X = X + rng.normal(scale=noise, size=X.shape)
    else:  # two interleaved spirals, as in TensorFlow Playground
        y = np.arange(n_samples) % 2
        t = rng.uniform(0.0, 1.0, n_samples) ** 0.5 * 3 * np.pi
        angle = t + np.pi * y
        X = np.stack([t * np.cos(angle), t * np.sin(angle)], axis=1) / (3 * np.pi)
        X = X + rng.normal(scale=noise * 0.1, size=X.shape)
    return X.astype(np.float64), np.asarray(y, dtype=np.int64)


def generate_mnist1d(n_samples: int, *, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """MNIST-1D (Greydanus 2020) as its package generates it, with the paper's default transformations.

    Parameters
    ----------
    n_samples : int
        Samples, in :data:`N_SAMPLES_RANGE`; rounded down to a multiple of the 10 classes (equal class sizes).
    seed : int

    Returns
    -------
    X : ndarray of shape (10 * (n_samples // 10), 40), float64
        Signals, standardised over the whole set by the package.
    y : ndarray of shape (10 * (n_samples // 10),), int64
    """
    lo, hi = N_SAMPLES_RANGE
    if not lo <= n_samples <= hi:
        raise ValueError(f"n_samples must be in {lo}..{hi}, got {n_samples}")
    import random

    from mnist1d.data import get_dataset_args, make_dataset  # imports matplotlib: only when asked for

    args = get_dataset_args()
    args.num_samples, args.seed, args.train_split = int(n_samples), int(seed), 1.0
    # the package seeds the global random generators: leave them as they were
    numpy_state, python_state = np.random.get_state(), random.getstate()
    try:
        made = make_dataset(args)
    finally:
        np.random.set_state(numpy_state)
        random.setstate(python_state)
    X = np.concatenate([made["x"], made["x_test"]]).astype(np.float64)
    y = np.concatenate([made["y"], made["y_test"]]).astype(np.int64)
    return X, y


#: the built-in data sets whose samples are images: (height, width) of one sample
IMAGE_SHAPES: dict[str, tuple[int, int]] = {"digits": (8, 8)}


def _table(name: str) -> tuple[np.ndarray, np.ndarray, tuple[str, ...], tuple[int, int] | None]:
    bunch = TABLES[name]()
    names = tuple(str(c) for c in bunch.target_names) if name != "digits" else tuple(str(c) for c in range(10))
    return bunch.data, bunch.target, names, IMAGE_SHAPES.get(name)


def scale_unit(X: np.ndarray) -> np.ndarray:
    """Min-max scale each column of ``X`` (n, d) to [0, 1]; a constant column becomes 0. float32."""
    X = np.asarray(X, dtype=np.float64)
    lo, span = X.min(axis=0), np.ptp(X, axis=0)
    return ((X - lo) / np.where(span > 0, span, 1.0)).astype(np.float32)


def load_dataset(name: str = "digits", *, seed: int = 0, test_fraction: float = 0.2,
                 probe_size: int | None = None, n_samples: int = 1000, noise: float = 0.1,
                 data_path: str | None = None, label_column: str | None = None) -> Dataset:
    """Load or generate a data set, split it and draw its probe set.

    Parameters
    ----------
    name : str
        One of :data:`DATASETS`.
    seed : int
        Seed of generation, split and probe draw.
    test_fraction : float
        Share of samples held out for testing, in (0, 1).
    probe_size : int or None
        Number of probe samples; ``None`` probes every sample, at most :data:`MAX_PROBE` (a stratified draw).
    n_samples, noise
        Generated sets only: see :func:`generate` (MNIST-1D: :func:`generate_mnist1d`; ``noise`` does not
        apply).
    data_path, label_column
        ``name == "file"`` only: the ``.npz`` or ``.csv`` file and, for a CSV, the label column (see
        :func:`models.datafile.read_table`).

    Returns
    -------
    Dataset
    """
    if name not in DATASETS:
        raise ValueError(f"dataset must be one of {', '.join(DATASETS)}, got {name!r}")
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    image_shape = None
    if name in TABLES:
        X, y, class_names, image_shape = _table(name)
        if name == "digits":
            X = X / 16.0  # pixel intensities 0..16: keep their scale rather than each pixel's range
    elif name in GENERATED:
        X, y = generate(name, n_samples, noise, seed=seed)
        class_names = tuple(str(c) for c in range(int(y.max()) + 1))
    elif name == MNIST1D:
        X, y = generate_mnist1d(n_samples, seed=seed)
        class_names = tuple(str(c) for c in range(10))
    else:
        from models.datafile import read_table
        if data_path is None:
            raise ValueError("data_path is needed for dataset 'file'")
        X, y, class_names = read_table(data_path, label_column=label_column)
    X = X.astype(np.float32) if name == "digits" else scale_unit(X)
    y = np.asarray(y, dtype=np.int64)
    stratify = y if np.bincount(y).min() >= 2 else None
    train_idx, test_idx = train_test_split(np.arange(len(y)), test_size=test_fraction, stratify=stratify,
                                           random_state=seed)
    probe_idx = stratified_subset(y, min(len(y), MAX_PROBE) if probe_size is None else probe_size, seed=seed)
    return Dataset(name=name, X=X, y=y, train_idx=np.sort(train_idx), test_idx=np.sort(test_idx),
                   probe_idx=probe_idx, class_names=class_names, image_shape=image_shape)
