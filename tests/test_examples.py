"""The shipped examples (README "Your own model"), run as a user runs them: each trains a few epochs, records into
a log directory, and its run learns; the store then shows it like any run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dashboard import figures
from dashboard.context import AppContext
from dashboard.inspection import sample_view
from epochscope.record.logdir import read_record, read_run
from layout_engine.params import LayoutParams
from models.config import RunConfig
from models.logdir_sync import sync_logdir
from models.store import RunStore

ROOT = Path(__file__).resolve().parent.parent

#: example -> (recorded layers, probe size, the least rise of its probe accuracy over 3 epochs)
EXAMPLES = {"cnn_digits": (("conv2", "fc1"), 360, 0.3), "lightning_digits": (("net.1", "net.3"), 500, 0.3),
            "huggingface_bert": (("bert.encoder.layer.0", "bert.encoder.layer.1"), 200, 0.05),
            "keras_digits": (("hidden1", "hidden2"), 500, 0.3)}


@pytest.mark.parametrize("example", sorted(EXAMPLES))
def test_an_example_records_a_run_that_learns(example, tmp_path):
    layers, n_probe, rise = EXAMPLES[example]
    result = subprocess.run([sys.executable, str(ROOT / "examples" / f"{example}.py"), "--epochs", "3", "--logdir",
                             str(tmp_path / "logs"), *(["--output-dir", str(tmp_path / "hf")]
                                                       if example == "huggingface_bert" else [])],
                            cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    run = read_run(result.stdout.strip().splitlines()[-1])
    assert run.state == "complete" and run.records == 4 and run.header.layers == layers
    first, last = (read_record(run.path, k, len(layers)) for k in (0, 3))
    assert last.arrays["predictions"].shape == (n_probe,) and "loss" in last.extras
    assert last.metrics["probe_acc"] >= first.metrics["probe_acc"] + rise
    store = RunStore(tmp_path / "store")
    (run_id,) = sync_logdir(store, tmp_path / "logs").run_ids
    assert store.run_info(run_id).epochs_done == 4
    if example == "cnn_digits":  # its (n, 1, 8, 8) images are kept as images: the inspector draws one
        assert store.run_info(run_id).image_shape == (8, 8)
        ctx = AppContext(store_dir=tmp_path / "store", config=RunConfig(), params=LayoutParams()).for_run(run_id)
        figure = figures.sample_figure(sample_view(store, run_id, 0, 3, 5).x, ctx.image_shape)
        assert figure["data"][0]["type"] == "heatmap" and len(figure["data"][0]["z"]) == 8
    store.close()
