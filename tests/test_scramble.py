"""Scrambled samples: which ones, how, and that the store flags them."""

import numpy as np
import pytest

from models.config import RunConfig
from models.scramble import scramble
from models.store import RunStore
from models.train import train


@pytest.fixture()
def data():
    rng = np.random.default_rng(0)
    return rng.uniform(size=(200, 16)).astype(np.float32), rng.integers(0, 4, 200)


def test_label_noise_gives_the_chosen_samples_another_class(data):
    X, y = data
    X2, y2, flags = scramble(X, y, "labels", 0.25, n_classes=4, seed=0)
    assert flags.sum() == 50
    assert np.all(y2[flags] != y[flags]) and np.all(y2[~flags] == y[~flags])
    np.testing.assert_array_equal(X2, X)
    assert y2.min() >= 0 and y2.max() < 4


@pytest.mark.parametrize("kind", ["noise", "permute"])
def test_corruption_changes_only_the_chosen_inputs(data, kind):
    X, y = data
    X2, y2, flags = scramble(X, y, kind, 0.1, n_classes=4, seed=3)
    assert flags.sum() == 20
    np.testing.assert_array_equal(X2[~flags], X[~flags])
    assert np.all(np.any(X2[flags] != X[flags], axis=1))
    assert np.all((X2 >= 0) & (X2 <= 1))
    np.testing.assert_array_equal(y2, y)
    if kind == "permute":  # the same values, in another order
        np.testing.assert_allclose(np.sort(X2[flags], axis=1), np.sort(X[flags], axis=1))


def test_nothing_is_scrambled_by_default(data):
    X, y = data
    assert not scramble(X, y, "none", 0.5, n_classes=4, seed=0)[2].any()
    with pytest.raises(ValueError, match="scramble_fraction must be in 0..1"):
        scramble(X, y, "labels", 1.5, n_classes=4, seed=0)


def test_a_scrambled_run_flags_its_probe_samples(tmp_path):
    store = RunStore(tmp_path)
    config = RunConfig(hidden=(16,), epochs=1, probe_size=300, scramble="labels", scramble_fraction=0.2)
    train(config, store)
    probe = store.probe(config.run_id)
    assert 0.1 < probe["scrambled"].mean() < 0.3
    assert np.all(probe["y_train"][probe["scrambled"]] != probe["y"][probe["scrambled"]])
    assert np.all(probe["y_train"][~probe["scrambled"]] == probe["y"][~probe["scrambled"]])
    store.close()
