"""The numbers tell the truth: on digits a real run separates its classes by every measure, and a fully
shuffled-label control (the negative control) by none, and the written observations say exactly that.

Real torch training, a real store, the layout and measuring stages as the background job runs them.
"""

from dataclasses import replace

import numpy as np
import pytest

from analysis import stage
from analysis.observations import observe
from dashboard import service
from frames import compute as frames_compute
from layout_engine.params import LayoutParams
from models.config import RunConfig
from models.store import RunStore
from models.train import train

REAL = RunConfig(hidden=(64, 32), epochs=10, seed=0)
CONTROL = replace(REAL, scramble="labels", scramble_fraction=1.0)
FAST = LayoutParams(n_iter=120, warm_n_iter=40)
LAST = len(REAL.hidden) - 1


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    store = RunStore(tmp_path_factory.mktemp("truth"))
    for config in (REAL, CONTROL):
        train(config, store)
        info = store.run_info(config.run_id)
        frames_compute.compute_frames(store, info, FAST, layers=[LAST])
        stage.compute_measures(store, info)
    yield store
    store.close()


def _series(store, config):
    curves = stage.curves(store, config.run_id, LAST)
    layout = service.scores(store, config.run_id, LAST, FAST)
    return np.array(curves["probe_acc"]), np.array(curves["probe_chance"]), np.array(curves["raw_silhouette"]), \
        np.array(layout["silhouette"])


def test_the_real_run_separates_its_classes_by_every_measure(store):
    probe, chance, raw, flat = _series(store, REAL)
    assert probe[-1] >= 0.9 and probe[-1] > probe[0] + 0.03  # the held-out linear probe rises
    assert raw[-1] > raw[0] + 0.1  # so does the raw-space silhouette
    assert flat[-1] > flat[0] + 0.1  # and the 2-D layout's
    assert chance[-1] < 0.15
    text = " ".join(observe(stage.frame_evidence(store, REAL.run_id, LAST, REAL.epochs)))
    # digits are linearly separable in a random layer already: said so, with what training added
    assert "h2 separates the classes" in text or "h2 was linearly separable at initialisation" in text
    assert "raw-space silhouette rose" in text


def test_the_shuffled_label_control_stays_at_chance_and_is_not_called_separated(store):
    info = store.run_info(CONTROL.run_id)
    assert 0.85 < info.facts["scramble_changed"] < 0.95  # labels drawn over all 10 classes: 1 in 10 unchanged
    # no leak of the true class: test accuracy at chance (drawing only "another class" ended far below it)
    assert abs(store.metrics(CONTROL.run_id)[-1]["test_acc"] - 0.1) < 0.05
    probe, chance, raw, flat = _series(store, CONTROL)
    assert np.all(np.abs(probe - chance) < 0.1)
    assert np.all(raw < 0.05) and np.all(flat < 0.05)
    for epoch in (1, CONTROL.epochs):
        text = " ".join(observe(stage.frame_evidence(store, CONTROL.run_id, LAST, epoch)))
        assert "separates the classes" not in text
        assert "does not separate the labels it is trained on" in text


def test_the_control_memorises_and_the_data_map_finds_its_samples_hard_to_learn(store):
    carto_real, _ = stage.run_cartography(store, REAL.run_id)
    carto_control, _ = stage.run_cartography(store, CONTROL.run_id)
    assert np.mean(carto_real.region == 2) < 0.25  # a minority of clean samples is hard to learn in 10 epochs
    assert np.mean(carto_control.region == 2) > 0.9  # shuffled labels: nearly all are
    assert np.median(carto_real.confidence) > 0.5 > 0.2 > np.median(carto_control.confidence)
    fit, n = stage.scrambled_fit(store, CONTROL.run_id)
    assert n > 1000 and fit[-1] > fit[0]  # the network starts fitting its noise labels


def test_what_changed_ranks_the_samples_whose_neighbourhoods_moved_most(store):
    found = stage.what_changed(store, REAL.run_id, LAST, 1, top=5)
    changes = [s["change"] for s in found["samples"]]
    assert changes == sorted(changes, reverse=True) and 0 < found["mean"] <= changes[0] <= 1
    assert stage.what_changed(store, REAL.run_id, LAST, 0) is None


def test_cka_of_each_epoch_with_itself_is_one_and_layers_settle(store):
    cka = stage.run_cka(store, REAL.run_id)
    n_epochs = REAL.epochs + 1
    assert cka["by_epoch"].shape == (2, n_epochs, n_epochs) and cka["by_layer"].shape == (n_epochs, 2, 2)
    np.testing.assert_allclose(np.diagonal(cka["by_epoch"], axis1=1, axis2=2), 1.0, atol=1e-5)
    assert np.all(cka["by_epoch"][:, -2, -1] > cka["by_epoch"][:, 0, -1])  # late epochs resemble the last
