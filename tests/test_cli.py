"""``python -m epochscope``: real subprocesses against a real store."""

import subprocess
import sys
from pathlib import Path

import pytest

from analysis.stage import count_measured
from dashboard.service import sequence_payload
from epochscope.app.cli import main
from frames.index import count_ready, sequence_id
from layout_engine.params import LayoutParams
from models.store import RunStore

ROOT = Path(__file__).resolve().parent.parent


def cli(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "epochscope", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def test_train_records_a_run_with_a_progress_bar_and_list_shows_it(tmp_path, capsys):
    result = cli("train", "--model", "mlp", "--dataset", "moons", "--n-samples", "200", "--hidden", "16,8",
                 "--epochs", "2", "--scramble", "labels", "--scramble-fraction", "0.1", "--store", str(tmp_path))
    assert result.returncode == 0, result.stderr
    run_id, state = result.stdout.split()[:2]
    assert state == "complete" and run_id.startswith("mlp-moons-")
    assert "Training" in result.stderr and "2/2" in result.stderr  # tqdm's bar
    store = RunStore(tmp_path)
    info = store.run_info(run_id)
    assert info.config.hidden == (16, 8) and info.epochs_done == 3 and info.config.scramble == "labels"
    store.close()
    capsys.readouterr()  # list, delete and the rest in this process: each subprocess costs seconds of imports
    assert main(["list", "--store", str(tmp_path)]) == 0
    listing = capsys.readouterr().out
    assert run_id in listing and "complete" in listing
    # prepare lays out and measures every frame as the page's job would: the page then finds them all ready
    prepared = cli("prepare", run_id, "--store", str(tmp_path))
    assert prepared.returncode == 0, prepared.stderr
    assert f"{run_id}: 6/6 frames ready (knn, ours)" in prepared.stdout and "Laying out frames" in prepared.stderr
    store = RunStore(tmp_path)
    assert count_ready(store, info, LayoutParams()) == 6 and count_measured(store, info) == 6
    assert sequence_payload(store, run_id, 1, LayoutParams())["complete"]
    store.close()
    capsys.readouterr()
    assert main(["prepare", run_id, "--method", "pca", "--store", str(tmp_path)]) == 0
    assert capsys.readouterr().out.endswith("6/6 frames ready (knn, pca)\n")
    assert main(["delete", run_id, "--store", str(tmp_path)]) == 0
    assert f"deleted {run_id}" in capsys.readouterr().out
    assert main(["list", "--store", str(tmp_path)]) == 0 and run_id not in capsys.readouterr().out
    store = RunStore(tmp_path)  # its frame and measure indices went with it
    assert store.indexed_frame(run_id, sequence_id(LayoutParams()), 0, 0) is None
    assert not any(run_id in key for key in store.derived.iterkeys())
    store.close()
    with pytest.raises(SystemExit) as missing:
        main(["prepare", run_id, "--store", str(tmp_path)])
    assert missing.value.code == 2 and f"run '{run_id}' is not in the store" in capsys.readouterr().err
    with pytest.raises(SystemExit) as again:
        main(["delete", run_id, "--store", str(tmp_path)])
    assert again.value.code == 2 and f"run '{run_id}' is not in the store" in capsys.readouterr().err


def help_text(capsys, command: str) -> str:
    with pytest.raises(SystemExit):
        main([command, "--help"])
    return capsys.readouterr().out


def test_help_documents_every_option(capsys):
    text = help_text(capsys, "train")
    for option in ("--model", "--dataset", "--hidden", "--epochs", "--lr", "--batch-size", "--seed", "--probe-size",
                   "--beta", "--latent", "--scramble", "--scramble-fraction", "--n-samples", "--noise",
                   "--data-file", "--label-column", "--device", "--store"):
        assert option in text
    assert "--betas" in help_text(capsys, "sweep")


@pytest.mark.parametrize("args, message", [
    (["train", "--epochs", "5000"], "argument --epochs: epochs must be an integer in 0..1000, got 5000"),
    (["train", "--hidden", "64,x"], "argument --hidden: expected comma-separated integers"),
    (["train", "--lr", "0"], "argument --lr: lr must be in (0, 10], got 0.0"),
    (["train", "--scramble-fraction", "2"],
     "argument --scramble-fraction: scramble_fraction must be a number in 0.0..1.0"),
    (["train", "--model", "cnn"], "argument --model: invalid choice: 'cnn'"),
    (["train", "--dataset", "file"], "data_path is needed with dataset 'file'"),
    (["sweep", "--betas", "1,1"], "argument --betas: betas must not repeat"),
    (["sweep", "--betas", "0,-2"], "argument --betas: each beta must be in 0..1000"),
])
def test_bad_arguments_name_the_option_and_its_range(tmp_path, capsys, args, message):
    with pytest.raises(SystemExit) as exit_:
        main([*args, "--store", str(tmp_path)])
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


def test_a_short_sweep_from_the_command_line(tmp_path):
    result = cli("sweep", "--betas", "0,8", "--hidden", "16", "--latent", "2", "--epochs", "1", "--probe-size",
                 "100", "--store", str(tmp_path), "--name", "tiny sweep")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[-1].startswith("sweep-digits-") and sum("active units" in line for line in lines) == 2
    listed = cli("list", "--store", str(tmp_path)).stdout
    assert "tiny sweep, beta 0" in listed and "tiny sweep, beta 8" in listed
    refused = cli("sweep", "--betas", "0,8", "--store", str(tmp_path), "--name", "x" * 81)
    assert refused.returncode == 2 and "argument --name: name must be 1..80 characters, got 81" in refused.stderr
