"""Sensitivity: per-sample gradients at each hidden layer, and an ablation that shows they mean something."""

import numpy as np
import torch
import torch.nn.functional as F

from models.config import RunConfig
from models.sensitivity import ablation, sensitivity
from models.store import RunStore
from models.train import load_model, train, training_data


def test_each_sample_gets_the_gradient_of_its_own_loss():
    torch.manual_seed(0)
    from models.mlp import MLP
    model = MLP(5, (7, 4), 3)
    X, y = torch.randn(6, 5), torch.tensor([0, 1, 2, 0, 1, 2])
    norms, gxa = sensitivity(model, X, y)
    assert [n.shape for n in norms] == [(6,), (6,)] and [g.shape for g in gxa] == [(6, 7), (6, 4)]
    for i in range(6):  # the same sample alone
        logits, acts = model(X[i:i + 1])
        grads = torch.autograd.grad(F.cross_entropy(logits, y[i:i + 1]), acts)
        for layer in range(2):
            assert np.isclose(norms[layer][i], grads[layer].norm().item(), rtol=1e-5)
            np.testing.assert_allclose(gxa[layer][i], (grads[layer] * acts[layer])[0].detach().numpy(), rtol=1e-5,
                                       atol=1e-7)
    assert all(p.grad is None for p in model.parameters())  # the network's own gradients are untouched


def test_sensitivity_is_recorded_per_layer_and_epoch(trained_store_dir, tiny_config):
    store = RunStore(trained_store_dir)
    record = store.epoch(tiny_config.run_id, tiny_config.epochs)
    assert record.extras["sens0"].shape == (240,) and record.extras["gxa1"].shape == (240, 12)
    assert np.all(record.extras["sens0"] >= 0)
    # wrongly predicted samples still pull hardest on the network
    wrong = record.predictions != store.probe(tiny_config.run_id)["y"]
    assert record.extras["sens1"][wrong].mean() > record.extras["sens1"][~wrong].mean()
    store.close()


def test_silencing_the_most_sensitive_units_costs_more_than_silencing_random_ones(tmp_path):
    store = RunStore(tmp_path)
    config = RunConfig(hidden=(64, 32), epochs=8, lr=3e-3, probe_size=600)
    train(config, store)
    model = load_model(store, config.run_id)
    prepared = training_data(config)
    data = prepared.dataset
    probe = torch.from_numpy(prepared.X[data.probe_idx]), torch.from_numpy(prepared.y[data.probe_idx])
    test = torch.from_numpy(data.X[data.test_idx]), torch.from_numpy(data.y[data.test_idx])
    for layer in (0, 1):
        for criterion in ("abs", "fisher"):
            result = ablation(model, *probe, *test, layer, criterion=criterion)
            assert result.n_units == round(0.1 * config.hidden[layer])
            assert result.top < result.random <= result.intact + 0.01
    store.close()
