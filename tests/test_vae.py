"""beta-VAE: the loss against a hand computation, KL bookkeeping, active units, and a real sweep."""

import math

import numpy as np
import pytest
import torch

from models import sweep as sweep_module
from models import vae
from models.config import RunConfig
from models.store import RunStore
from models.sweep import run_sweep, sweep_runs


def test_loss_matches_a_hand_computed_example():
    recon = torch.zeros(1, 2)  # logits 0: Bernoulli means 0.5
    x = torch.tensor([[1.0, 0.0]])
    mu = torch.tensor([[1.0, 0.0]])
    logvar = torch.tensor([[0.0, math.log(2.0)]])
    reconstruction, kl, total = vae.loss(recon, x, mu, logvar, beta=4.0)
    # BCE: -log 0.5 per feature; KL_j = (mu^2 + sigma^2 - 1 - log sigma^2) / 2 = 0.5 and (1 - ln 2) / 2
    expected_kl = 0.5 + 0.5 * (1.0 - math.log(2.0))
    assert reconstruction.item() == pytest.approx(2 * math.log(2.0))
    assert kl.item() == pytest.approx(expected_kl)
    assert total.item() == pytest.approx(2 * math.log(2.0) + 4.0 * expected_kl)


def test_kl_per_dimension_sums_to_the_total():
    g = torch.Generator().manual_seed(0)
    mu, logvar = torch.randn(50, 8, generator=g), torch.randn(50, 8, generator=g)
    _, kl, _ = vae.loss(torch.zeros(50, 3), torch.rand(50, 3, generator=g), mu, logvar, beta=1.0)
    per_dim = vae.kl_per_dim(mu, logvar)
    assert per_dim.shape == (50, 8) and torch.all(per_dim >= 0)
    assert per_dim.mean(0).sum().item() == pytest.approx(kl.item(), rel=1e-5)


def test_active_units_count_the_latent_means_that_vary():
    mu = torch.zeros(100, 6)
    mu[:, :2] = torch.randn(100, 2)
    mu[:, 2] = 0.05 * torch.randn(100)  # variance 0.0025: collapsed
    assert vae.active_units(mu) == 2


def test_a_recorded_vae_run_holds_what_posterior_collapse_is_read_from(tmp_path):
    store = RunStore(tmp_path)
    config = RunConfig(model="vae", hidden=(32,), latent=4, epochs=2, probe_size=100, lr=3e-3)
    from models.train import train
    train(config, store)
    info = store.run_info(config.run_id)
    assert info.state == "complete" and info.layer_names == ("e1", "z") and info.layer_sizes == (32, 4)
    record = store.epoch(config.run_id, 2)
    assert record.predictions is None and [a.shape for a in record.activations] == [(100, 32), (100, 4)]
    assert record.extras["kl_dim"].shape == (4,)
    assert record.extras["reconstructions"].shape == (8, 64) and record.extras["prior_samples"].shape == (8, 64)
    assert np.all((record.extras["reconstructions"] >= 0) & (record.extras["reconstructions"] <= 1))
    assert {"recon", "kl", "active_units", "active_units_kl", "beta"} <= set(record.metrics)
    metrics = store.metrics(config.run_id)
    assert metrics[-1]["test_loss"] < metrics[0]["test_loss"]
    store.close()


def test_a_sweep_shows_posterior_collapse_and_resumes_without_retraining(tmp_path, monkeypatch):
    store = RunStore(tmp_path)
    base = RunConfig(model="vae", hidden=(64,), latent=8, epochs=6, probe_size=400, lr=3e-3)
    sid = run_sweep(base, store, betas=(0.0, 16.0))
    runs = dict(sweep_runs(store, sid))
    active = {beta: store.metrics(run_id)[-1]["active_units"] for beta, run_id in runs.items()}
    kl = {beta: store.metrics(run_id)[-1]["kl"] for beta, run_id in runs.items()}
    assert active[16.0] < active[0.0]
    assert store.metrics(runs[16.0])[-1]["active_units_kl"] < store.metrics(runs[0.0])[-1]["active_units_kl"]
    assert kl[16.0] < kl[0.0]
    monkeypatch.setattr(sweep_module, "train", lambda *a, **k: pytest.fail("a finished run was retrained"))
    assert run_sweep(base, store, betas=(0.0, 16.0)) == sid
    store.close()


def test_active_units_fall_steadily_over_the_default_sweep_of_the_default_vae(tmp_path):
    """The page's default sweep shows the transition, not a jump: over every other default beta (the default VAE
    on digits, 30 epochs), the active units by both criteria never rise, and the sweep has runs fully active,
    partly active and collapsed."""
    store = RunStore(tmp_path)
    betas = sweep_module.DEFAULT_BETAS[1::2]  # 0.1, 0.5, 1.5, 4
    sid = run_sweep(RunConfig(model="vae"), store, betas=betas)
    last = [store.metrics(run_id)[-1] for _, run_id in sweep_runs(store, sid)]
    latent = RunConfig(model="vae").latent
    for criterion in ("active_units", "active_units_kl"):
        counts = [int(m[criterion]) for m in last]
        assert all(a >= b for a, b in zip(counts, counts[1:])), (criterion, counts)
        assert counts[0] == latent and counts[-1] == 0 and any(0 < c < latent for c in counts), (criterion, counts)
    store.close()


def test_an_interrupted_sweep_trains_only_what_is_missing(tmp_path, monkeypatch):
    store = RunStore(tmp_path)
    base = RunConfig(model="vae", hidden=(16,), latent=2, epochs=1, probe_size=50)
    run_sweep(base, store, betas=(1.0,))  # the first run of the sweep below, done before
    trained = []
    real = sweep_module.train
    monkeypatch.setattr(sweep_module, "train", lambda config, *a, **k: (trained.append(config.beta),
                                                                         real(config, *a, **k))[1])
    run_sweep(base, store, betas=(1.0, 2.0))
    assert trained == [2.0]
    store.close()


@pytest.mark.parametrize("betas, message", [((), "at least one"), ((1.0, 1.0), "must not repeat"),
                                             ((-1.0,), "0..1000")])
def test_bad_betas_are_named(tmp_path, betas, message):
    store = RunStore(tmp_path)
    with pytest.raises(ValueError, match=message):
        run_sweep(RunConfig(model="vae"), store, betas=betas)
    store.close()
