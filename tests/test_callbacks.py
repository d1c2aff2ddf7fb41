"""The callbacks with the real frameworks: PyTorch Lightning, Hugging Face's Trainer (a 2-layer BERT built from a
config) and Keras 3 on the torch backend, each training a small model a few epochs on generated or shipped data,
recording into a log directory that the store then reads like any run."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")  # before keras is first imported

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from torch import nn  # noqa: E402

from epochscope.record.logdir import list_runs, read_record  # noqa: E402
from models.logdir_sync import sync_logdir  # noqa: E402
from models.store import RunStore  # noqa: E402


def cross_entropy(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(out, y, reduction="none")


def digits(n: int = 400) -> tuple[np.ndarray, np.ndarray]:
    data = load_digits()
    return (data.data[:n] / 16.0).astype(np.float32), data.target[:n].astype(np.int64)


def check_run(logdir, *, layers: tuple[str, ...], records: int, unit: str = "epoch", n_probe: int,
              learns: bool = True) -> int:
    """The run in ``logdir``: complete, its layers and records; every record's predictions, per-sample loss and
    sensitivity; probe accuracy up over training; then the store's run with the same epochs. Returns its
    records."""
    (run,) = list_runs(logdir)
    assert run.state == "complete" and run.header.layers == layers and run.header.unit == unit
    assert run.records == records, run.records
    first, last = (read_record(run.path, k, len(layers)) for k in (0, run.records - 1))
    for rec in (first, last):
        assert rec.arrays["predictions"].shape == (n_probe,)
        assert rec.extras["loss"].shape == (n_probe,) and np.isfinite(rec.extras["loss"]).all()
        for i in range(len(layers)):
            assert rec.extras[f"sens{i}"].shape == (n_probe,) and (rec.extras[f"sens{i}"] > 0).any()
            assert rec.arrays[f"act{i}"].shape == (n_probe, run.header.layer_sizes[i])
    if learns:
        assert last.metrics["probe_acc"] > first.metrics["probe_acc"] + 0.2
        assert last.extras["loss"].mean() < first.extras["loss"].mean()
    store = RunStore(logdir.parent / "store")
    (run_id,) = sync_logdir(store, logdir).run_ids
    info = store.run_info(run_id)
    assert info.state == "complete" and info.epochs_done == records and info.unit == unit
    assert info.layer_names == layers
    store.close()
    return run.records


def test_lightning_records_each_epoch_and_every_n_steps(tmp_path):
    import pytorch_lightning as pl

    from epochscope.callbacks.lightning import EpochScopeCallback

    class Classifier(pl.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.net = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, 10))

        def forward(self, x):
            return self.net(x)

        def training_step(self, batch, _index):
            x, y = batch
            loss = F.cross_entropy(self(x), y)
            self.log("train_loss", loss, on_epoch=True, on_step=False)
            return loss

        def configure_optimizers(self):
            return torch.optim.Adam(self.parameters(), lr=3e-3)

    X, y = digits()
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.from_numpy(X), torch.from_numpy(y)),
                                         batch_size=40, shuffle=True)
    for logdir, every in ((tmp_path / "epochs" / "logs", None), (tmp_path / "steps" / "logs", 4)):
        torch.manual_seed(0)
        callback = EpochScopeCallback(logdir, ["net.1", "net.3"], X[:150], y[:150], name="lightning-mlp",
                                      every_n_steps=every, loss_fn=cross_entropy)
        trainer = pl.Trainer(max_epochs=3, callbacks=[callback], logger=False, enable_checkpointing=False,
                             enable_progress_bar=False, enable_model_summary=False, accelerator="cpu")
        trainer.fit(Classifier(), loader)
        if every is None:
            check_run(logdir, layers=("net.1", "net.3"), records=4, n_probe=150)
            (run,) = list_runs(logdir)
            assert "train_loss" in read_record(run.path, 3, 2).metrics
        else:  # 10 steps an epoch: steps 0, 4, 8, ..., 28
            check_run(logdir, layers=("net.1", "net.3"), records=8, unit="step", n_probe=150)
            (run,) = list_runs(logdir)
            assert [read_record(run.path, k, 2).step for k in range(8)] == list(range(0, 29, 4))


def test_hugging_face_trainer_records_a_bert_built_from_a_config(tmp_path):
    from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments

    from epochscope.callbacks.huggingface import EpochScopeCallback
    from examples.huggingface_bert import token_task  # the example's generated task, 12 tokens, 8 of them real

    torch.manual_seed(0)
    config = BertConfig(vocab_size=32, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=16)
    config.num_labels = 2
    model = BertForSequenceClassification(config)
    train = token_task(256, tokens=12, real=8)
    dataset = [{k: v[i] for k, v in train.items()} for i in range(256)]
    probe = token_task(64, tokens=12, seed=1, real=8)
    logdir = tmp_path / "logs"
    layers = ("bert.encoder.layer.0", "bert.encoder.layer.1")
    callback = EpochScopeCallback(logdir, layers, probe, name="tiny-bert", loss_fn=cross_entropy)
    args = TrainingArguments(output_dir=str(tmp_path / "out"), num_train_epochs=4, per_device_train_batch_size=16,
                             learning_rate=2e-3, report_to=[], save_strategy="no", logging_steps=8,
                             disable_tqdm=True, use_cpu=True, seed=0)
    Trainer(model=model, args=args, train_dataset=dataset, callbacks=[callback]).train()
    check_run(logdir, layers=layers, records=5, n_probe=64)
    (run,) = list_runs(logdir)
    # token outputs (batch, tokens, hidden) pooled over the real tokens, as the run says
    assert run.header.layer_sizes == (32, 32)
    assert run.header.layer_notes == ("mean over tokens (attention mask) of (12, 32)",) * 2
    assert "loss" in read_record(run.path, 4, 2).metrics  # the Trainer's logged training loss
    # every 6 steps (16 a epoch over 2 epochs): steps 0, 6, ..., 30
    steps = EpochScopeCallback(tmp_path / "steps", layers, probe, name="tiny-bert", every_n_steps=6)
    args.num_train_epochs = 2
    Trainer(model=model, args=args, train_dataset=dataset, callbacks=[steps]).train()
    (run,) = list_runs(tmp_path / "steps")
    assert run.header.unit == "step" and [read_record(run.path, k, 2).step for k in range(run.records)] == [
        0, 6, 12, 18, 24, 30]


def test_keras_on_torch_records_each_epoch(tmp_path):
    import keras

    from epochscope.callbacks.keras import EpochScopeCallback

    keras.utils.set_random_seed(0)
    X, y = digits()
    model = keras.Sequential([keras.Input(shape=(64,)), keras.layers.Dense(32, activation="relu", name="hidden1"),
                              keras.layers.Dense(16, activation="relu", name="hidden2"),
                              keras.layers.Dense(10, activation="softmax", name="out")])
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    logdir = tmp_path / "logs"
    callback = EpochScopeCallback(logdir, ["hidden1", "hidden2"], X[:150], y[:150], name="keras-mlp",
                                  loss_fn=cross_entropy)
    model.fit(X, y, epochs=3, batch_size=40, verbose=0, callbacks=[callback])
    check_run(logdir, layers=("hidden1", "hidden2"), records=4, n_probe=150)
    (run,) = list_runs(logdir)
    last = read_record(run.path, 3, 2)
    # the softmax model's log-probabilities are its logits: the recorded loss is Keras's own cross-entropy
    probs = model.predict(X[:150], verbose=0)
    np.testing.assert_allclose(last.extras["loss"], -np.log(probs[np.arange(150), y[:150]]), rtol=1e-4, atol=1e-5)
    assert last.metrics["accuracy"] > 0.5
    by_steps = EpochScopeCallback(tmp_path / "steps", ["hidden1"], X[:50], y[:50], name="keras-steps",
                                  every_n_steps=4)
    model.fit(X[:400], y[:400], epochs=1, batch_size=40, verbose=0, callbacks=[by_steps])  # 10 batches
    (run,) = list_runs(tmp_path / "steps")
    assert run.header.unit == "step" and [read_record(run.path, k, 1).step for k in range(3)] == [0, 4, 8]
    assert run.records == 3 and "loss" in read_record(run.path, 2, 1).metrics
    with pytest.raises(ValueError, match="layers 'dense9' not in the model; its layers are: hidden1, hidden2, out"):
        model.fit(X[:40], y[:40], epochs=1, verbose=0,
                  callbacks=[EpochScopeCallback(logdir, ["dense9"], X[:10], y[:10], name="bad")])
