"""The recorder on a model EpochScope did not define, and the shipped example."""

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from dashboard import service
from epochscope.record.logdir import read_run
from epochscope.record.recorder import Recorder
from frames import compute as frames_compute
from layout_engine.params import LayoutParams
from models.logdir_sync import sync_run
from models.store import RunStore

ROOT = Path(__file__).resolve().parent.parent


def synced(store: RunStore, recorder: Recorder) -> str:
    """The store's id of the recorder's run, its records brought into the store."""
    assert recorder.path is not None
    run_id, _ = sync_run(store, read_run(recorder.path))
    assert run_id is not None
    return run_id


class Foreign(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(64, 12), nn.ReLU())
        self.out = nn.Linear(12, 3)

    def forward(self, x):
        return self.out(self.body(x))


def test_a_foreign_model_is_recorded_and_laid_out_like_any_run(tmp_path):
    torch.manual_seed(0)
    model = Foreign()
    X = torch.rand(60, 1, 4, 4)
    y = np.arange(60) % 3
    store = RunStore(tmp_path)
    with Recorder(tmp_path / "logs", model, layers=["body.1", "body.4"], probe_X=X, probe_y=y, name="foreign",
                  class_names=["a", "b", "c"]) as recorder:
        for _ in range(3):
            recorder.record(metrics={"note": 1.0})
            with torch.no_grad():
                model.out.weight.add_(0.1)
    info = store.run_info(synced(store, recorder))
    assert info.state == "complete" and info.epochs_done == 3
    assert info.layer_names == ("body.1", "body.4") and info.layer_sizes == (64, 12)
    assert info.class_names == ("a", "b", "c")
    record = store.epoch(synced(store, recorder), 2)
    assert record.activations[0].shape == (60, 64) and record.predictions.shape == (60,)
    assert 0 <= record.metrics["probe_acc"] <= 1 and record.metrics["note"] == 1.0
    assert model.training  # the probe pass restored the model's mode
    params = LayoutParams(n_iter=30, warm_n_iter=10)
    assert frames_compute.compute_frames(store, info, params) == 6
    assert service.frame_view(store, synced(store, recorder), 1, 2, params).coords.shape == (60, 2)
    store.close()


def test_unknown_layers_and_bad_labels_are_named(tmp_path):
    store = RunStore(tmp_path)
    with pytest.raises(ValueError, match="'fc9' not in the model; its layers are: body, body.0"):
        Recorder(tmp_path / "logs", Foreign(), layers=["fc9"], probe_X=torch.zeros(4, 1, 4, 4), probe_y=[0, 1, 2, 0],
                 name="x")
    with pytest.raises(ValueError, match=r"probe_y must have shape \(4,\)"):
        Recorder(tmp_path / "logs", Foreign(), layers=["out"], probe_X=torch.zeros(4, 1, 4, 4), probe_y=[0, 1],
                 name="x")
    with pytest.raises(ValueError, match="name must be 1..64 letters, digits or _.-, got '../etc'"):
        Recorder(tmp_path / "logs", Foreign(), layers=["out"], probe_X=torch.zeros(4, 1, 4, 4), probe_y=[0, 1, 2, 0],
                 name="../etc")
    store.close()


def test_an_exception_in_the_loop_marks_the_run_failed_and_keeps_its_epochs(tmp_path):
    store = RunStore(tmp_path)
    with pytest.raises(RuntimeError):
        with Recorder(tmp_path / "logs", Foreign(), layers=["out"], probe_X=torch.zeros(6, 1, 4, 4),
                      probe_y=[0, 1, 2] * 2,
                      name="crash") as recorder:
            recorder.record()
            raise RuntimeError("loss exploded")
    info = store.run_info(synced(store, recorder))
    assert info.state == "failed" and "loss exploded" in info.message and info.epochs_done == 1
    store.close()


class Encoder(nn.Module):
    """A block that returns a tuple, as a Hugging Face layer does: (hidden (batch, tokens, d), attention)."""

    def __init__(self, d: int) -> None:
        super().__init__()
        self.linear = nn.Linear(d, d)

    def forward(self, hidden, mask):
        return torch.relu(self.linear(hidden)), mask.float()


class Output(dict):
    """A dict of named outputs with attribute access, as transformers' ModelOutput."""

    __getattr__ = dict.__getitem__


class TinyTransformer(nn.Module):
    """Token ids and an attention mask in (keyword arguments), a ModelOutput-like dict out."""

    def __init__(self, vocab: int = 20, d: int = 8, classes: int = 2) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        self.enc1, self.enc2 = Encoder(d), Encoder(d)
        self.head = nn.Linear(d, classes)

    def forward(self, input_ids, attention_mask):
        hidden, _ = self.enc1(self.embed(input_ids), attention_mask)
        hidden, _ = self.enc2(hidden, attention_mask)
        return Output(logits=self.head(hidden[:, 0]), last_hidden_state=hidden)


def token_batch(n: int = 24, tokens: int = 6) -> dict[str, torch.Tensor]:
    """A tokenizer's batch: ids, a mask with padding at the end of every other sequence, labels."""
    g = torch.Generator().manual_seed(0)
    mask = torch.ones(n, tokens, dtype=torch.long)
    mask[::2, 4:] = 0
    return {"input_ids": torch.randint(20, (n, tokens), generator=g), "attention_mask": mask,
            "labels": torch.arange(n) % 2}


def test_tuple_and_dict_outputs_and_dict_inputs_are_recorded_pooled_over_real_tokens(tmp_path):
    torch.manual_seed(0)
    model, batch = TinyTransformer(), token_batch()
    raw: dict[str, torch.Tensor] = {}

    def keep(name: str):
        def hook(_module, _inputs, out) -> None:
            raw[name] = out[0]
        return hook

    hooks = [getattr(model, n).register_forward_hook(keep(n)) for n in ("enc1", "enc2")]
    with torch.no_grad():
        model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
    for h in hooks:
        h.remove()
    mask = batch["attention_mask"].float().unsqueeze(-1)
    store = RunStore(tmp_path)
    with Recorder(tmp_path / "logs", model, ["enc1", "enc2"], batch, name="tokens", batch_size=10) as mean_rec:
        mean_rec.record()
    with Recorder(tmp_path / "logs", model, ["enc1", "enc2"], batch, name="tokens2",
                  pooling={"enc1": "first", "enc2": "last"},
                  batch_size=7) as ends:
        ends.record()
    mean = store.epoch(synced(store, mean_rec), 0)
    np.testing.assert_allclose(mean.activations[0], ((raw["enc1"] * mask).sum(1) / mask.sum(1)).numpy(), atol=1e-6)
    assert mean.predictions.shape == (24,) and mean.activations[1].dtype == np.float32  # logits of the ModelOutput
    info = store.run_info(synced(store, mean_rec))
    assert info.layer_sizes == (8, 8) and info.layer_notes == ("mean over tokens (attention mask) of (6, 8)",) * 2
    last = torch.tensor([3, 5] * 12)  # the last real token: padding after the fourth in every other sequence
    recorded = store.epoch(synced(store, ends), 0)
    np.testing.assert_allclose(recorded.activations[0], raw["enc1"][:, 0].numpy(), atol=1e-6)
    np.testing.assert_allclose(recorded.activations[1], raw["enc2"][torch.arange(24), last].numpy(), atol=1e-6)
    assert store.run_info(synced(store, ends)).layer_notes[1] == "last token (attention mask) of (6, 8)"
    store.close()


def test_probes_as_arrays_datasets_and_loaders_record_the_same(tmp_path):
    from torch.utils.data import DataLoader, TensorDataset

    torch.manual_seed(1)
    model = Foreign()
    X, y = torch.rand(30, 1, 4, 4), torch.arange(30) % 3
    store = RunStore(tmp_path)
    recorded = []
    for k, probe in enumerate((X.numpy(), TensorDataset(X, y), DataLoader(TensorDataset(X, y), batch_size=8))):
        labels = y.numpy() if k == 0 else None
        with Recorder(tmp_path / "logs", model, ["body.4"], probe, labels, name=f"probe{k}") as rec:
            rec.record()
        recorded.append(store.epoch(synced(store, rec), 0).activations[0])
        assert store.probe(synced(store, rec))["y"].tolist() == y.tolist()
    np.testing.assert_allclose(recorded[0], recorded[1])
    np.testing.assert_allclose(recorded[0], recorded[2])
    with pytest.raises(ValueError, match="probe_y is needed"):
        Recorder(tmp_path / "logs", model, ["body.4"], X, name="nolabels")
    store.close()


def test_images_flatten_by_default_or_pool_by_channel_and_low_precision_is_recorded_as_float32(tmp_path):
    torch.manual_seed(2)
    model = Foreign().to(torch.bfloat16)
    X = torch.rand(12, 1, 4, 4, dtype=torch.bfloat16)
    store = RunStore(tmp_path)
    with Recorder(tmp_path / "logs", model, ["body.1", "body.4"], X, np.arange(12) % 3, name="bf16",
                  pooling={"body.1": "channels"}) as rec:
        rec.record()
    with Recorder(tmp_path / "logs", model, ["body.1"], X, np.arange(12) % 3, name="flat") as flat:
        flat.record()
    channels, hidden = store.epoch(synced(store, rec), 0).activations
    assert channels.shape == (12, 4) and hidden.shape == (12, 12) and channels.dtype == np.float32
    full = store.epoch(synced(store, flat), 0).activations[0]
    assert full.shape == (12, 64)  # 4 channels x 4 x 4 places
    np.testing.assert_allclose(channels, full.reshape(12, 4, 16).mean(axis=2), rtol=1e-5, atol=1e-6)
    assert store.run_info(synced(store, rec)).layer_notes == ("mean of each channel of (4, 4, 4)",
                                                             "every unit of (12,)")
    store.close()


def test_a_wide_layer_is_projected_with_a_warning_and_stays_the_same_projection(tmp_path, caplog):
    torch.manual_seed(3)
    model = nn.Sequential(nn.Linear(5, 50), nn.ReLU(), nn.Linear(50, 2))
    X = torch.rand(40, 5)
    store = RunStore(tmp_path)
    with caplog.at_level("WARNING", logger="epochscope.record.recorder"):
        with Recorder(tmp_path / "logs", model, ["1"], X, np.arange(40) % 2, name="wide", max_units=16) as rec:
            rec.record()
            rec.record()
    assert "Layer '1' has 50 units after pooling: recording a seeded random projection to 16" in caplog.text
    first, second = (store.epoch(synced(store, rec), e).activations[0] for e in (0, 1))
    assert first.shape == (40, 16)
    np.testing.assert_allclose(first, second)  # the same weights, the same projection
    assert store.run_info(synced(store, rec)).layer_notes == (
        "every unit of (50,), randomly projected from 50 to 16 units",)
    # distances kept in expectation: their correlation with the unprojected ones
    full = torch.relu(model[0](X)).detach().numpy()
    d_full = np.linalg.norm(full[:, None] - full[None], axis=2).ravel()
    d_kept = np.linalg.norm(first[:, None] - first[None], axis=2).ravel()
    assert np.corrcoef(d_full, d_kept)[0, 1] > 0.8
    store.close()


def test_errors_name_the_layer_its_shape_and_what_was_asked(tmp_path, caplog):
    store = RunStore(tmp_path)
    model, X, y = Foreign(), torch.rand(6, 1, 4, 4), [0, 1, 2] * 2
    with pytest.raises(ValueError, match=r"pooling 'mean' of layer 'body.4' needs a \(batch, tokens, hidden\) "
                                         r"output, got shape \(6, 12\)"):
        Recorder(tmp_path / "logs", model, ["body.4"], X, y, name="mean2d", pooling="mean").record()
    with pytest.raises(ValueError, match="pooling of layer 'body.4' must be one of auto, flatten"):
        Recorder(tmp_path / "logs", model, ["body.4"], X, y, name="bad", pooling={"body.4": "max"})
    with pytest.raises(ValueError, match="pooling names layers not recorded: fc9"):
        Recorder(tmp_path / "logs", model, ["body.4"], X, y, name="bad", pooling={"fc9": "mean"})
    batch = token_batch(6)
    with pytest.raises(ValueError, match=r"layer 'enc1' outputs a tuple of 2 \(Tensor, Tensor\): pick the position "
                                         r"of a tensor, got 5"):
        Recorder(tmp_path / "logs", TinyTransformer(), ["enc1"], batch, name="pick", pick={"enc1": 5}).record()
    with caplog.at_level("WARNING", logger="epochscope.record.recorder"):
        Recorder(tmp_path / "logs", model, ["body.4"], X, [0, 1, 2, 3, 4, 5], name="classes").record()
    assert "probe_y has 6 classes but the model outputs 3 numbers per sample: no predictions" in caplog.text
    store.close()


def test_a_loss_function_gives_each_sample_its_loss_label_probability_and_sensitivity(tmp_path):
    import torch.nn.functional as F

    torch.manual_seed(4)
    model = Foreign()
    X, y = torch.rand(9, 1, 4, 4), np.arange(9) % 3

    def loss_fn(out, labels):
        return F.cross_entropy(out, labels, reduction="none")

    store = RunStore(tmp_path)
    with Recorder(tmp_path / "logs", model, ["body.1", "body.4"], X, y, name="sens", loss_fn=loss_fn,
                  batch_size=4) as rec:
        rec.record()
    extras = store.extras(synced(store, rec), 0, ["sens0", "sens1", "loss", "label_prob"])
    with torch.no_grad():
        logits = model(X)
    expected = F.cross_entropy(logits, torch.as_tensor(y), reduction="none").numpy()
    np.testing.assert_allclose(extras["loss"], expected, rtol=1e-5)
    np.testing.assert_allclose(extras["label_prob"], np.exp(-expected), rtol=1e-5)
    assert extras["sens0"].shape == (9,) and (extras["sens1"] > 0).all()
    # per sample: each sample's gradient is its own loss's, whatever else is in the batch
    for i in (0, 5):
        with Recorder(tmp_path / "logs", model, ["body.1", "body.4"], X[i:i + 1], y[i:i + 1], name=f"one{i}",
                      loss_fn=loss_fn) as one:
            one.record()
        alone = store.extras(synced(store, one), 0, ["sens0", "sens1"])
        np.testing.assert_allclose([alone["sens0"][0], alone["sens1"][0]],
                                   [extras["sens0"][i], extras["sens1"][i]], rtol=1e-5)
    assert all(p.grad is None for p in model.parameters())  # the model's own gradients untouched
    with pytest.raises(ValueError, match=r"loss_fn must return one loss per sample, shape \(9,\), got \(\)"):
        Recorder(tmp_path / "logs", model, ["body.4"], X, y, name="scalar",
                 loss_fn=lambda out, t: F.cross_entropy(out, t)).record()
    store.close()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (run on a GPU machine)")
def test_a_model_on_cuda_is_recorded_from_a_probe_on_either_device(tmp_path):
    import torch.nn.functional as F

    torch.manual_seed(5)
    model = Foreign().cuda()
    X, y = torch.rand(20, 1, 4, 4), torch.arange(20) % 3
    store = RunStore(tmp_path / "store")
    for k, (probe_X, probe_y) in enumerate(((X, y), (X.cuda(), y.cuda()))):
        with Recorder(tmp_path / "logs", model, ["body.1", "body.4"], probe_X, probe_y, name=f"cuda{k}",
                      loss_fn=lambda out, t: F.cross_entropy(out, t, reduction="none")) as rec:
            rec.record()
        record = store.epoch(synced(store, rec), 0)
        with torch.no_grad():
            expected = model.body(X.cuda()).cpu().numpy()
        np.testing.assert_allclose(record.activations[1], expected, rtol=1e-4, atol=1e-5)
        assert (record.extras["sens1"] > 0).all()
    store.close()
