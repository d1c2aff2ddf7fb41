"""The story of a run: planted events in generated activation sequences are found at their epoch and ranked
first; sequences in which nothing happens have no event."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from analysis.events import RunSeries, latent_events, loss_events, run_events, unit_events
from analysis.measures import ProbeLabels
from analysis.story import Story, compare_stories, decodable_epochs, learned_epochs, series_from_frames

N_PER_CLASS, N_CLASSES, DIM = 60, 4, 8


def labels_of(n_classes: int = N_CLASSES, n_per_class: int = N_PER_CLASS) -> ProbeLabels:
    y = np.repeat(np.arange(n_classes), n_per_class)
    fit = np.random.default_rng(5).random(len(y)) < 0.7
    return ProbeLabels(trained=y, true=y, fit=fit, n_classes=n_classes)


def blobs(centres: np.ndarray, labels: ProbeLabels, rng: np.random.Generator, noise: float = 1.0) -> np.ndarray:
    return (centres[labels.trained] + noise * rng.normal(size=(len(labels.trained), centres.shape[1]))
            ).astype(np.float32)


def test_two_classes_that_merge_at_40_and_split_at_70_are_the_first_two_events():
    rng, labels = np.random.default_rng(0), labels_of()
    centres = 12.0 * np.eye(N_CLASSES, DIM)
    frames = []
    for t in range(90):
        c = centres.copy()
        if 40 <= t < 70:
            c[1] = c[0]  # class 1 moved onto class 0
        frames.append(blobs(c, labels, rng))
    series, _ = series_from_frames([frames], labels)
    events = run_events(series)
    top = {e.kind: e for e in events[:2]}
    assert set(top) == {"merged", "separated"}, [e.text for e in events[:4]]
    assert abs(top["merged"].epoch - 40) <= 1 and abs(top["separated"].epoch - 70) <= 1
    assert top["merged"].classes == top["separated"].classes == (0, 1)
    assert "epoch 40" in top["merged"].text and "0 and 1" in top["merged"].text
    assert top["merged"].value >= top["merged"].threshold


@pytest.mark.parametrize("structure", ["noise only", "fixed classes, fresh noise"])
def test_a_stationary_sequence_has_no_event(structure):
    rng = np.random.default_rng(1)
    labels = labels_of(3)
    centres = 6.0 * np.eye(3, DIM) if structure != "noise only" else np.zeros((3, DIM))
    frames = [blobs(centres, labels, rng) for _ in range(40)]
    metrics = [{"train_loss": 1.0 + 0.01 * rng.normal(), "test_loss": 1.1 + 0.01 * rng.normal()} for _ in range(40)]
    series, _ = series_from_frames([frames, [f[:, ::-1].copy() for f in frames]], labels, metrics=metrics)
    assert run_events(series) == []


def test_a_layer_frozen_from_epoch_5_settled_at_5():
    rng, labels = np.random.default_rng(2), labels_of()
    drifting = [rng.normal(size=(len(labels.trained), DIM)).astype(np.float32) for _ in range(5)]
    frozen = blobs(8.0 * np.eye(N_CLASSES, DIM), labels, rng)
    series, _ = series_from_frames([drifting + [frozen] * 26], labels)
    settled = [e for e in run_events(series) if e.kind == "settled"]
    assert [(e.layer, e.epoch) for e in settled] == [(0, 5)]
    assert "settled at epoch 5" in settled[0].text


def test_a_vae_latent_killed_at_12_collapsed_at_12():
    rng = np.random.default_rng(3)
    kl = rng.uniform(0.5, 2.0, size=(30, 4))
    kl[12:, 2] = rng.uniform(1e-4, 2e-3, size=18)
    events = latent_events(RunSeries(layer_names=[], class_names=[], kl_dim=kl))
    assert [(e.epoch, e.latents) for e in events] == [(12, (2,))]
    assert "z2" in events[0].text and "0.01" in events[0].text and events[0].text.startswith("Epoch 12:")
    # a run recorded every 50 steps names the step
    by_steps = latent_events(RunSeries(layer_names=[], class_names=[], kl_dim=kl, steps=[50 * t for t in range(30)]))
    assert by_steps[0].epoch == 12 and by_steps[0].text.startswith("Step 600:")


def test_units_that_die_are_named_at_the_epoch_they_die():
    dead = np.zeros((20, 16), dtype=bool)
    dead[7:, [3, 9]] = True
    dead[:, 5] = True  # dead from the start: no event (nothing died)
    events = unit_events(RunSeries(layer_names=["h1"], class_names=[], dead=[dead]))
    assert [(e.epoch, e.units) for e in events] == [(7, (3, 9))]


def test_loss_spike_plateau_and_overfitting():
    train = np.concatenate([np.linspace(2.0, 1.0, 6), np.full(6, 1.0), np.linspace(0.9, 0.3, 10)])
    train[16] = 0.9  # a spike: 0.58 -> 0.9
    test = np.concatenate([np.linspace(2.1, 0.8, 14), np.linspace(0.82, 1.2, 8)])
    events = loss_events(RunSeries(layer_names=[], class_names=[],
                                   metrics=[{"train_loss": a, "test_loss": b} for a, b in zip(train, test)]))
    found = {(e.kind, e.epoch) for e in events}
    assert ("loss_spike", 16) in found
    assert ("plateau", 5) in found
    assert ("overfitting", 13) in found


def test_learned_and_decodable_epochs():
    correct = np.array([[0, 1, 0], [1, 1, 0], [0, 1, 0], [1, 1, 1], [1, 1, 0]], dtype=bool)
    learned = learned_epochs(correct)
    assert learned[0] == 3 and learned[1] == 0 and np.isnan(learned[2])
    recall = np.array([[0.1, 0.9], [0.5, 0.95], [0.85, 0.7], [0.9, 0.85]])
    assert list(decodable_epochs(recall)) == [2, 3]


def test_two_stories_against_each_other():
    def story(learned, pairs):
        from analysis.events import Event

        events = [Event("separated", 1, 0, 0.0, 0.02, 1.0, "", classes=p) for p in pairs]
        return Story(run_id="r", events=events, learned=np.array(learned, float), decodable=np.zeros((1, 3)),
                     layer_names=["h1"], class_names=["a", "b", "c"], n_epochs=20,
                     series=RunSeries(layer_names=["h1"], class_names=["a", "b", "c"]))

    a = story([1, 2, 15, np.nan], [(0, 1), (1, 2)])
    b = story([9, 3, 1, 4], [(0, 1)])
    cmp = compare_stories(a, b)
    assert list(cmp.earlier_in_a) == [0] and list(cmp.earlier_in_b) == [3, 2]
    assert cmp.pairs_only_a == [(1, 2)] and cmp.pairs_only_b == []


def test_a_collapsed_posterior_tells_no_class_pair_event():
    """A VAE's latent means with every latent's KL under the threshold are near-constant: their neighbourhoods
    are rounding, so classes "separating" there is no event; the same overlap with a live latent is one."""
    from analysis.events import pair_events

    overlap = np.zeros((10, 2, 2))
    overlap[:5, 0, 1] = overlap[:5, 1, 0] = 0.3  # mixed, then apart from epoch 5
    live = np.full((10, 3), 0.5)
    dead = np.full((10, 3), 1e-3)
    series = RunSeries(layer_names=["z"], class_names=["a", "b"], overlap=[overlap], latent_layer=0)
    assert [(e.kind, e.epoch) for e in pair_events(replace(series, kl_dim=live))] == [("separated", 5)]
    assert pair_events(replace(series, kl_dim=dead)) == []
