"""Integration: real torch training recorded into a real store on disk."""

import subprocess
import sys

import numpy as np
import pytest
import torch

from models import train as train_module
from models.config import RunConfig
from models.mlp import MLP
from models.store import RunStore
from models.train import TrainingDiverged, load_model, train, train_epoch

real_train_epoch = train_epoch


def test_three_epochs_are_recorded_for_every_hidden_layer(trained_store_dir, tiny_config):
    store = RunStore(trained_store_dir)
    info = store.run_info(tiny_config.run_id)
    assert info.state == "complete"
    assert info.epochs_done == tiny_config.epochs + 1  # epoch 0 is before training
    probe = store.probe(tiny_config.run_id)
    assert probe["X"].shape == (240, 64) and probe["y"].shape == (240,)
    assert np.all(np.bincount(probe["y"]) >= 20)  # stratified: every class is in the probe set
    for epoch in range(info.epochs_done):
        record = store.epoch(tiny_config.run_id, epoch)
        assert [a.shape for a in record.activations] == [(240, 24), (240, 12)]
        assert all(a.dtype == np.float32 and np.all(a >= 0) for a in record.activations)  # ReLU
        assert record.predictions.shape == (240,) and np.all((record.confidence > 0) & (record.confidence <= 1))
    metrics = store.metrics(tiny_config.run_id)
    assert set(metrics[0]) == {"train_loss", "train_acc", "test_loss", "test_acc"}
    assert metrics[-1]["train_loss"] < metrics[0]["train_loss"]
    assert metrics[-1]["test_acc"] > metrics[0]["test_acc"] + 0.3
    store.close()


def test_the_checkpoint_reproduces_the_last_recorded_epoch(trained_store_dir, tiny_config):
    store = RunStore(trained_store_dir)
    model = load_model(store, tiny_config.run_id)
    with torch.no_grad():
        _, activations = model(torch.from_numpy(store.probe(tiny_config.run_id)["X"]))
    np.testing.assert_allclose(activations[-1].numpy(), store.epoch(tiny_config.run_id, 3).activations[-1], atol=1e-6)
    store.close()


def test_training_is_deterministic_on_the_cpu(tmp_path, trained_store_dir, tiny_config):
    again = RunStore(tmp_path / "again")
    train(tiny_config, again)
    first = RunStore(trained_store_dir)
    for epoch in (0, tiny_config.epochs):
        for a, b in zip(first.epoch(tiny_config.run_id, epoch).activations,
                        again.epoch(tiny_config.run_id, epoch).activations):
            np.testing.assert_array_equal(a, b)
    first.close()
    again.close()


@pytest.mark.parametrize("model", ["mlp", "vae"])
def test_a_stopped_run_is_interrupted_and_resumes_as_if_never_stopped(tmp_path, model):
    store = RunStore(tmp_path / "a")
    config = RunConfig(model=model, hidden=(8,), epochs=5, probe_size=50, latent=2)
    train(config, store, progress=lambda stage, done, total: done >= 2)
    info = store.run_info(config.run_id)
    assert (info.state, info.epochs_done) == ("interrupted", 3)  # epochs 0..2 kept
    # one resume state, the last epoch's, each under its own key (never overwritten in a transaction)
    assert [k for k in store.runs.iterkeys() if "/resume/" in k] == [f"run/{config.run_id}/resume/2"]
    train(config, store)  # resumes after epoch 2
    assert store.run_info(config.run_id).state == "complete"
    straight = RunStore(tmp_path / "b")
    train(config, straight)
    for epoch in range(6):
        assert store.metrics(config.run_id)[epoch] == straight.metrics(config.run_id)[epoch]
        pairs = zip(store.epoch(config.run_id, epoch).activations, straight.epoch(config.run_id, epoch).activations)
        for a, b in pairs:
            np.testing.assert_array_equal(a, b)
    store.close()
    straight.close()


def test_a_run_trained_by_a_live_process_is_busy_and_one_whose_process_died_is_interrupted(tmp_path):
    from models.store import process_owner
    from models.train import RunBusy

    store = RunStore(tmp_path)
    config = RunConfig(hidden=(8,), epochs=2, probe_size=50)
    assert store.try_lock(f"train/{config.run_id}", f"{process_owner()}:other", 60)  # this process, another job
    with pytest.raises(RunBusy, match=f"run {config.run_id} is being trained by another process"):
        train(config, store)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    host = process_owner().split(":")[0]
    store.runs.set(f"lock/train/{config.run_id}", f"{host}:{dead.stdout.strip()}:x")  # its holder is gone
    train(config, store)
    assert store.run_info(config.run_id).state == "complete"
    store.close()


def test_a_non_finite_loss_raises_training_diverged():
    model = MLP(4, (3,), 2)
    with torch.no_grad():
        model.hidden[0].weight[0, 0] = float("nan")
    X, y = torch.ones(8, 4), torch.zeros(8, dtype=torch.long)
    optimizer = torch.optim.Adam(model.parameters())
    with pytest.raises(TrainingDiverged, match="loss became nan"):
        train_epoch(model, optimizer, X, y, batch_size=4, generator=torch.Generator().manual_seed(0))


def test_diverging_run_stops_with_a_message_and_keeps_its_epochs(tmp_path, monkeypatch):
    """Fault injection: the weights turn NaN during epoch 3, as they do when training blows up."""
    calls = []

    def blowing_up(model, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            with torch.no_grad():
                model.head.weight.fill_(float("nan"))
        return real_train_epoch(model, *args, **kwargs)

    monkeypatch.setattr(train_module, "train_epoch", blowing_up)
    store = RunStore(tmp_path)
    config = RunConfig(hidden=(8,), epochs=6, probe_size=50)
    train(config, store)
    info = store.run_info(config.run_id)
    assert info.state == "diverged"
    assert "Training diverged in epoch 3" in info.message and "Lower the learning rate" in info.message
    assert info.epochs_done == 3  # epochs 0, 1, 2 kept
    assert np.all(np.isfinite(store.epoch(config.run_id, 2).activations[0]))
    store.close()
