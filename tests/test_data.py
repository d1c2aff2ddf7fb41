"""Built-in and generated data sets."""

import numpy as np
import pytest

from models.config import RunConfig
from models.data import GENERATED, MAX_PROBE, TABLES, load_dataset


@pytest.mark.parametrize("name", list(TABLES))
def test_bundled_tables_load_scaled_and_split(name):
    data = load_dataset(name)
    assert data.X.dtype == np.float32 and data.X.min() >= 0 and data.X.max() <= 1
    assert len(np.intersect1d(data.train_idx, data.test_idx)) == 0
    assert len(data.train_idx) + len(data.test_idx) == len(data.y)
    assert set(np.unique(data.y)) == set(range(data.n_classes)) and data.n_classes >= 2
    assert (data.image_shape == (8, 8)) == (name == "digits")


@pytest.mark.parametrize("name", GENERATED)
def test_generated_sets_follow_their_parameters(name):
    data = load_dataset(name, n_samples=300, noise=0.2, seed=1)
    assert data.X.shape == (300, 2) and data.n_classes >= 2
    again = load_dataset(name, n_samples=300, noise=0.2, seed=1)
    np.testing.assert_array_equal(data.X, again.X)
    quiet = load_dataset(name, n_samples=300, noise=0.0, seed=1)
    assert not np.array_equal(quiet.X, data.X)


@pytest.mark.parametrize("kwargs, message", [
    (dict(name="mnist"), "dataset must be one of"),
    (dict(name="moons", n_samples=5), "n_samples must be in 20..100000"),
    (dict(name="mnist1d", n_samples=200_000), "n_samples must be in 20..100000"),
    (dict(name="moons", noise=3.0), "noise must be in"),
    (dict(name="iris", probe_size=1000), "probe_size must be between 1 and 150"),
    (dict(name="file"), "data_path is needed"),
])
def test_bad_data_parameters_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        load_dataset(**kwargs)


def test_mnist1d_is_generated_offline_balanced_and_leaves_the_global_generators_alone():
    np.random.seed(7)
    expected = np.random.random()
    np.random.seed(7)
    data = load_dataset("mnist1d", n_samples=1005, seed=3)
    assert np.random.random() == expected  # the package's own seeding is undone
    assert data.X.shape == (1000, 40) and data.X.dtype == np.float32  # rounded down to whole classes
    assert np.bincount(data.y).tolist() == [100] * 10 and data.class_names == tuple("0123456789")
    np.testing.assert_array_equal(data.X, load_dataset("mnist1d", n_samples=1005, seed=3).X)
    assert not np.array_equal(data.X, load_dataset("mnist1d", n_samples=1005, seed=4).X)
    # the classes are told apart by their shapes: a nearest-centroid rule on the raw signals is far above chance
    train, test = data.train_idx, data.test_idx
    centroids = np.stack([data.X[train][data.y[train] == c].mean(0) for c in range(10)])
    guess = np.argmin(((data.X[test, None, :] - centroids[None]) ** 2).sum(-1), axis=1)
    assert (guess == data.y[test]).mean() > 0.25


def test_a_large_set_probes_a_stratified_fifty_thousand_by_default():
    data = load_dataset("blobs", n_samples=60_000, seed=0)
    assert len(data.probe_idx) == MAX_PROBE
    assert np.abs(np.bincount(data.y[data.probe_idx]) / MAX_PROBE - np.bincount(data.y) / 60_000).max() < 0.01
    with pytest.raises(ValueError, match="probe_size must be an integer in 1..50000"):
        RunConfig(dataset="mnist1d", n_samples=100_000, probe_size=60_000)
