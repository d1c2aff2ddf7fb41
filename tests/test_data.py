"""Built-in and generated data sets."""

import numpy as np
import pytest

from models.data import GENERATED, TABLES, load_dataset


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
    (dict(name="moons", n_samples=5), "n_samples must be in 20..20000"),
    (dict(name="moons", noise=3.0), "noise must be in"),
    (dict(name="iris", probe_size=1000), "probe_size must be between 1 and 150"),
    (dict(name="file"), "data_path is needed"),
])
def test_bad_data_parameters_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        load_dataset(**kwargs)
