"""The recorder on a model EpochScope did not define, and the shipped example."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from dashboard import figures, service
from dashboard.context import AppContext
from dashboard.inspection import sample_view
from frames import compute as frames_compute
from layout_engine.params import LayoutParams
from models.config import RunConfig
from models.recorder import Recorder
from models.store import RunStore

ROOT = Path(__file__).resolve().parent.parent


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
    with Recorder(store, model, layers=["body.1", "body.4"], probe_X=X, probe_y=y, name="foreign",
                  class_names=["a", "b", "c"]) as recorder:
        for _ in range(3):
            recorder.record(metrics={"note": 1.0})
            with torch.no_grad():
                model.out.weight.add_(0.1)
    info = store.run_info(recorder.run_id)
    assert info.state == "complete" and info.epochs_done == 3
    assert info.layer_names == ("body.1", "body.4") and info.layer_sizes == (64, 12)
    assert info.class_names == ("a", "b", "c")
    record = store.epoch(recorder.run_id, 2)
    assert record.activations[0].shape == (60, 64) and record.predictions.shape == (60,)
    assert 0 <= record.metrics["probe_acc"] <= 1 and record.metrics["note"] == 1.0
    assert model.training  # the probe pass restored the model's mode
    params = LayoutParams(n_iter=30, warm_n_iter=10)
    assert frames_compute.compute_frames(store, info, params) == 6
    assert service.frame_view(store, recorder.run_id, 1, 2, params).coords.shape == (60, 2)
    store.close()


def test_unknown_layers_and_bad_labels_are_named(tmp_path):
    store = RunStore(tmp_path)
    with pytest.raises(ValueError, match="'fc9' not in the model; its layers are: body, body.0"):
        Recorder(store, Foreign(), layers=["fc9"], probe_X=torch.zeros(4, 1, 4, 4), probe_y=[0, 1, 2, 0], name="x")
    with pytest.raises(ValueError, match=r"probe_y must have shape \(4,\)"):
        Recorder(store, Foreign(), layers=["out"], probe_X=torch.zeros(4, 1, 4, 4), probe_y=[0, 1], name="x")
    with pytest.raises(ValueError, match="dataset of a custom run"):
        Recorder(store, Foreign(), layers=["out"], probe_X=torch.zeros(4, 1, 4, 4), probe_y=[0, 1, 2, 0],
                 name="../etc").record()
    store.close()


def test_an_exception_in_the_loop_marks_the_run_failed_and_keeps_its_epochs(tmp_path):
    store = RunStore(tmp_path)
    with pytest.raises(RuntimeError):
        with Recorder(store, Foreign(), layers=["out"], probe_X=torch.zeros(6, 1, 4, 4), probe_y=[0, 1, 2] * 2,
                      name="crash") as recorder:
            recorder.record()
            raise RuntimeError("loss exploded")
    info = store.run_info(recorder.run_id)
    assert info.state == "failed" and "loss exploded" in info.message and info.epochs_done == 1
    store.close()


def test_the_cnn_example_runs_and_its_run_learns(tmp_path):
    result = subprocess.run([sys.executable, "examples/cnn_digits.py", "--epochs", "3", "--store", str(tmp_path)],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    run_id = result.stdout.strip().splitlines()[-1]
    store = RunStore(tmp_path)
    metrics = store.metrics(run_id)
    assert len(metrics) == 4 and metrics[-1]["test_acc"] > metrics[0]["test_acc"] + 0.3
    assert store.run_info(run_id).layer_sizes == (256, 32)
    # its (n, 1, 8, 8) images are kept as images: the inspector draws the sample as one, not as 64 bars
    assert store.run_info(run_id).image_shape == (8, 8)
    ctx = AppContext(store_dir=tmp_path, config=RunConfig(), params=LayoutParams()).for_run(run_id)
    view = sample_view(store, run_id, 0, 3, 5)
    figure = figures.sample_figure(view.x, ctx.image_shape)
    assert figure["data"][0]["type"] == "heatmap" and len(figure["data"][0]["z"]) == 8
    store.close()
