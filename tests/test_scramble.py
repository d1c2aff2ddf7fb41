"""Scrambled samples: which ones, how, and that the store flags them."""

import numpy as np
import pytest

from models.config import RunConfig
from models.scramble import changed_fraction, scramble
from models.store import RunStore
from models.train import train


@pytest.fixture()
def data():
    rng = np.random.default_rng(0)
    return rng.uniform(size=(200, 16)).astype(np.float32), rng.integers(0, 4, 200)


def test_label_noise_redraws_the_chosen_labels_uniformly_over_all_classes(data):
    X, y = data
    X2, y2, flags = scramble(X, y, "labels", 0.25, n_classes=4, seed=0)
    assert flags.sum() == 50
    assert np.all(y2[~flags] == y[~flags])
    np.testing.assert_array_equal(X2, X)
    assert y2.min() >= 0 and y2.max() < 4


def test_fully_scrambled_labels_carry_nothing_about_the_true_class():
    """At fraction 1 the labels are a shuffled-label control: independent of the true class (drawing only among
    the *other* classes, as before, kept exactly one label in four away from the truth: a leak)."""
    rng = np.random.default_rng(1)
    y = rng.integers(0, 4, 20_000)
    X = np.zeros((len(y), 1), np.float32)
    _, y2, flags = scramble(X, y, "labels", 1.0, n_classes=4, seed=0)
    assert flags.all()
    agree = np.mean(y2 == y)
    assert abs(agree - 0.25) < 0.02  # chance: a label equals the truth 1 time in 4
    table = np.histogram2d(y, y2, bins=4)[0] / len(y)
    np.testing.assert_allclose(table, np.outer(np.bincount(y) / len(y), np.bincount(y2) / len(y2)), atol=0.01)
    assert changed_fraction(X, y, X, y2) == pytest.approx(1 - agree)


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
    assert np.all(probe["y_train"][~probe["scrambled"]] == probe["y"][~probe["scrambled"]])
    # the run records the share scrambling actually changed: about 9 in 10 of the redrawn labels (digits: 10 classes)
    changed = store.run_info(config.run_id).facts["scramble_changed"]
    assert 0.2 * 0.8 < changed < 0.2 * 0.97
    assert probe["in_train"].mean() == pytest.approx(0.8, abs=0.05)
    store.close()
