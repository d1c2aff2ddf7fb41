"""Written observations: each sentence appears when its number clears the stated threshold, and only then; and
dataset cartography's regions."""

import numpy as np
import pytest

from analysis import observations as obs
from analysis.cartography import REGIONS, cartography, region_shares


def _measures(probe, silhouette, chance=0.1, overlap=None, n_classes=3):
    overlap = np.eye(n_classes) if overlap is None else overlap
    return [{"probe_acc": p, "probe_chance": chance, "raw_silhouette": s, "overlap": overlap, "twonn": 5.0,
             "raw_ratio": 0.5, "raw_purity": 0.9} for p, s in zip(probe, silhouette)]


def _evidence(layers, epoch, **kwargs):
    n_epochs = len(layers[0])
    metrics = kwargs.pop("metrics", [{"train_acc": 0.9, "test_acc": 0.9, "test_loss": 0.3}] * n_epochs)
    names = [f"h{i + 1}" for i in range(len(layers))]
    return obs.Evidence(layer=kwargs.pop("layer", 0), epoch=epoch, layer_names=names,
                        class_names=["a", "b", "c"], measures=layers, metrics=metrics, **kwargs)


def test_separation_is_claimed_above_its_thresholds_and_denied_near_chance():
    rising = _measures([0.25, 0.8, 0.95], [0.05, 0.2, 0.35])
    text = obs.separation(_evidence([rising], 2))
    assert "h1 separates the classes" in text and "95.0%" in text and "0.05 to 0.35" in text
    # separable before training (the probe far above chance at epoch 0): said so, and what training added
    there = _measures([0.961, 0.96, 0.95], [0.05, 0.2, 0.35])
    text = obs.separation(_evidence([there], 2))
    assert "h1 was linearly separable at initialisation" in text and "96.1%" in text and "-1.1 points" in text
    assert "separates the classes" not in text and "raw-space silhouette rose from 0.05 to 0.35" in text
    flat = _measures([0.11, 0.12, 0.13], [0.0, 0.0, -0.01])
    denied = obs.separation(_evidence([flat], 2))
    assert "does not separate" in denied and "13.0%" in denied
    # in between (probe well above chance but the silhouette did not rise): nothing is said
    assert obs.separation(_evidence([_measures([0.5, 0.6, 0.7], [0.1, 0.1, 0.12])], 2)) is None


def test_plateau_names_the_epoch_since_which_separation_stayed_put():
    layer = _measures([0.9] * 8, [0.0, 0.2, 0.3, 0.4, 0.41, 0.40, 0.41, 0.405])
    text = obs.plateau(_evidence([layer], 7))
    assert text.startswith("Separation has plateaued since epoch 3") and "0.02" in text
    assert obs.plateau(_evidence([layer], 4)) is None  # one epoch of plateau is not yet one


def test_overlap_names_the_pair_and_since_when():
    O = np.array([[0.9, 0.01, 0.05], [0.01, 0.95, 0.0], [0.05, 0.0, 0.9]])
    early = np.array([[0.9, 0.08, 0.0], [0.08, 0.9, 0.0], [0.0, 0.0, 1.0]])
    layer = [*_measures([0.9] * 2, [0.3] * 2, overlap=early), *_measures([0.9] * 3, [0.3] * 3, overlap=O)]
    text = obs.overlap(_evidence([layer], 4))
    assert "Classes a and c overlap most" in text and "5.0%" in text and "since epoch 2" in text
    tiny = np.eye(3) + 0.001
    assert obs.overlap(_evidence([_measures([0.9], [0.3], overlap=tiny)], 0)) is None


def test_settling_by_cka_and_the_probe_of_a_layer_against_the_next():
    to_final = np.array([[0.5, 0.96, 0.97, 1.0], [0.3, 0.6, 0.97, 1.0]])
    cka = np.ones((2, 4, 4))
    cka[:, :, -1] = to_final  # CKA of each epoch with the final one
    assert obs.settled_epochs(cka) == [1, 2]
    layers = [_measures([0.95] * 4, [0.3] * 4), _measures([0.90] * 4, [0.3] * 4)]
    text = obs.settling(_evidence(layers, 3, cka_by_epoch=cka))
    assert text.startswith("h1 settled first") and "from epoch 1" in text and "h2 2" in text
    drop = obs.probe_drop(_evidence(layers, 3))
    assert "exceeds the next layer h2's" in drop and "5.0 points" in drop
    chance_level = [_measures([0.13] * 4, [0.0] * 4), _measures([0.08] * 4, [0.0] * 4)]
    assert obs.probe_drop(_evidence(chance_level, 3)) is None  # noise at chance is not a finding


def test_overfitting_collapse_and_memorisation_need_their_evidence():
    layer = [_measures([0.9] * 6, [0.3] * 6)]
    widening = [{"train_acc": t, "test_acc": 0.9, "test_loss": l}
                for t, l in zip([0.9, 0.92, 0.95, 0.98, 0.99, 1.0], [0.3, 0.28, 0.3, 0.33, 0.36, 0.4])]
    text = obs.overfitting(_evidence(layer, 5, metrics=widening))
    assert text.startswith("Overfitting") and "10.0 points" in text and "0.280 (epoch 1) to 0.400" in text
    steady = [{"train_acc": 0.92, "test_acc": 0.9, "test_loss": 0.3}] * 6
    assert obs.overfitting(_evidence(layer, 5, metrics=steady)) is None
    vae = [{"active_units": 2, "kl": 1.5}] * 6
    assert "2 of 8 latent units" in obs.collapse(_evidence(layer, 5, metrics=vae, latent=8))
    assert obs.collapse(_evidence(layer, 0, metrics=vae, latent=8)) is None  # before training: no collapse
    assert obs.collapse(_evidence(layer, 5, metrics=[{"active_units": 8, "kl": 9.0}] * 6, latent=8)) is None
    memorising = obs.memorisation(_evidence(layer, 5, scrambled_fit=[0.3, 0.3, 0.35, 0.4, 0.5, 0.6], n_scrambled=50))
    assert "60.0% of the 50 relabelled" in memorising and "chance 33.3%" in memorising  # 3 classes
    assert obs.memorisation(_evidence(layer, 5, scrambled_fit=[0.3] * 6, n_scrambled=50)) is None


def test_observe_writes_only_sentences_whose_evidence_clears_the_bar():
    quiet = [_measures([0.5] * 3, [0.1] * 3)]
    assert obs.observe(_evidence(quiet, 2)) == []


def test_cartography_puts_learnt_samples_in_easy_and_never_learnt_ones_in_hard():
    epochs = 20
    learnt = np.clip(np.linspace(0.6, 1.0, epochs), 0, 1)[:, None] * np.ones((1, 30))
    never = np.full((epochs, 10), 0.05)
    flipping = np.tile([[0.1], [0.9]], (epochs // 2, 5))
    probs = np.hstack([learnt, never, flipping])
    carto = cartography(probs, probs > 0.5)
    assert list(np.bincount(carto.region, minlength=3)) == [30, 5, 10]
    assert REGIONS[carto.region[0]] == "easy" and REGIONS[carto.region[35]] == "hard"
    assert REGIONS[carto.region[-1]] == "ambiguous" and carto.variability[-1] == pytest.approx(0.4)
    shares = region_shares(carto.region, {"never": np.arange(45) >= 30})
    assert shares["never"]["hard"] == pytest.approx(10 / 15)
    with pytest.raises(ValueError, match="epochs"):
        cartography(np.zeros((0, 3)), np.zeros((0, 3), bool))
