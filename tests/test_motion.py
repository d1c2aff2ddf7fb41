"""Motion is data: what moves on the map is what changed in the layer, on generated and recorded sequences."""

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_digits, load_wine
from sklearn.preprocessing import StandardScaler

from layout_engine.motion import display_gap, frozen_drift, motion, planted_precision
from layout_engine.params import LayoutParams
from layout_engine.pipeline import layout_sequence
from models.store import RunStore


def drifting_blobs(n_epochs: int = 6, n: int = 600, d: int = 16, seed: int = 0) -> list[np.ndarray]:
    """Four classes whose clusters tighten and drift apart over the epochs, each sample on its own path."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(4, d)) * 3
    labels = np.arange(n) % 4
    start, noise = rng.normal(size=(n, d)) * 2.5, rng.normal(size=(n, d))
    frames = []
    for t in range(n_epochs):
        s = t / max(n_epochs - 1, 1)
        frames.append((start * (1 - s) + centres[labels] * (0.3 + s) + 0.6 * noise).astype(np.float32))
    return frames


def displays(frames: list[np.ndarray], params: LayoutParams = LayoutParams()) -> list[np.ndarray]:
    return [frame.display for frame in layout_sequence(frames, params)]


def recorded(store: RunStore, run_id: str, layer: int) -> list[np.ndarray]:
    return [store.activations(run_id, epoch, layer) for epoch in range(store.run_info(run_id).epochs_done)]


def test_a_frame_whose_data_did_not_change_does_not_move(store_copy, tiny_config):
    for moving in (drifting_blobs(5), recorded(store_copy, tiny_config.run_id, 1)):
        frames = moving + [moving[-1]] * 3
        n = len(frames)
        assert frozen_drift(displays(frames), range(n - 3, n)) <= 0.001
        assert frozen_drift(displays(frames), range(1, n - 3)) > 0.005  # the real steps do move


def test_rescaled_rotated_or_permuted_activations_are_displayed_as_the_original(store_copy, tiny_config):
    rng = np.random.default_rng(1)
    for frames in (drifting_blobs(6), recorded(store_copy, tiny_config.run_id, 1)):
        d = frames[0].shape[1]
        rotation, _ = np.linalg.qr(rng.normal(size=(d, d)))
        permutation = rng.permutation(d)
        original = displays(frames)
        for name, variant in (("rescaled", [x * (1 + 0.1 * t) for t, x in enumerate(frames)]),
                              ("tripled", [x * 3 for x in frames]),
                              ("rotated", [(x @ rotation).astype(np.float32) for x in frames]),
                              ("permuted", [x[:, permutation] for x in frames])):
            gaps = [display_gap(a, b) for a, b in zip(original, displays(variant))]
            assert max(gaps) <= 0.02, (name, gaps)


def planted_sequence(X: np.ndarray, y: np.ndarray, at: int = 3, n_epochs: int = 5, count: int = 20,
                     seed: int = 0) -> tuple[list[np.ndarray], np.ndarray]:
    """``X`` with a little noise each epoch, and ``count`` samples of the largest class moved into the next
    class's cluster (onto one of its samples, jittered) from epoch ``at`` on."""
    rng = np.random.default_rng(seed)
    classes, sizes = np.unique(y, return_counts=True)
    source, target = classes[np.argmax(sizes)], classes[(np.argmax(sizes) + 1) % len(classes)]
    planted = rng.choice(np.flatnonzero(y == source), size=count, replace=False)
    hosts = rng.choice(np.flatnonzero(y == target), size=count, replace=False)
    spread = X.std(axis=0)
    frames = []
    for t in range(n_epochs):
        Xt = X + 0.02 * spread * rng.normal(size=X.shape)
        if t >= at:
            Xt[planted] = X[hosts] + 0.05 * spread * rng.normal(size=(count, X.shape[1]))
        frames.append(Xt.astype(np.float32))
    return frames, planted


@pytest.mark.parametrize("loader", [load_digits, load_wine, load_breast_cancer])
def test_planted_moves_are_what_moves_most(loader):
    data = loader()
    X = StandardScaler().fit_transform(data.data)
    frames, planted = planted_sequence(X, data.target, at=3)
    shown = displays(frames)
    assert planted_precision(shown[2], shown[3], planted) >= 0.9
    step = motion(frames[2], frames[3], shown[2], shown[3])
    assert step.rank_correlation > 0.1  # the samples whose neighbourhoods changed are those that move
    assert not step.moves_more_than_data


def test_a_map_whose_neighbourhoods_reshuffle_is_flagged_as_moving_more_than_the_data():
    data = load_wine()
    frames, _ = planted_sequence(StandardScaler().fit_transform(data.data), data.target, at=99, n_epochs=3)
    shown = displays(frames)
    shuffled = np.random.default_rng(0).permutation(shown[2])  # the same picture with the samples swapped
    assert not motion(frames[1], frames[2], shown[1], shown[2]).moves_more_than_data
    assert motion(frames[1], frames[2], shown[1], shuffled).moves_more_than_data
