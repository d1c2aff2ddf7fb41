"""The log directory as the interchange: its schema and versions, copies to another machine, damaged files, runs
recorded by steps shown by their steps, and the store following a run while it grows."""

from __future__ import annotations

import json
import shutil
import time

import numpy as np
import pytest
import torch
from torch import nn

from dashboard import figures, service
from dashboard.context import AppContext
from dashboard.panels.controls import epoch_marks
from epochscope import Recorder
from epochscope.record.logdir import (
    RUN_FILE,
    STATUS_FILE,
    VERSION,
    LogdirError,
    list_runs,
    read_run,
    record_path,
)
from layout_engine.params import LayoutParams
from models.config import RunConfig
from models.logdir_sync import LogdirFollower, log_config, sync_logdir
from models.store import RunStore


def small_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(5, 12), nn.ReLU(), nn.Linear(12, 3))


def record(logdir, n: int, name: str = "run", **options) -> Recorder:
    X, y = torch.rand(30, 5), np.arange(30) % 3
    recorder = Recorder(logdir, small_model(), ["1"], X, y, name=name, **options)
    for k in range(n):
        if options.get("unit") == "step":
            recorder.record(step=100 * k, metrics={"loss": 1.0 / (k + 1)})
        else:
            recorder.record(metrics={"loss": 1.0 / (k + 1)})
    return recorder


def test_a_run_folder_is_whole_files_and_documented_fields(tmp_path):
    recorder = record(tmp_path, 3)
    recorder.finish()
    run = read_run(recorder.path)
    header = json.loads((recorder.path / RUN_FILE).read_text())
    assert header["format"] == "epochscope-logdir" and header["version"] == VERSION
    assert header["layers"] == ["1"] and header["layer_sizes"] == [12] and header["unit"] == "epoch"
    assert run.state == "complete" and run.records == 3
    assert sorted(p.name for p in recorder.path.rglob("*") if p.is_file()) == [
        "00000000.npz", "00000001.npz", "00000002.npz", "probe.npz", RUN_FILE, STATUS_FILE]
    # a second run of the same name gets its own folder
    again = record(tmp_path, 1)
    assert again.path.name == "run-2" and len(list_runs(tmp_path)) == 2


def test_a_newer_format_and_a_foreign_folder_are_refused_by_name(tmp_path, caplog):
    recorder = record(tmp_path, 1)
    header = json.loads((recorder.path / RUN_FILE).read_text())
    (recorder.path / RUN_FILE).write_text(json.dumps({**header, "version": VERSION + 1}))
    with pytest.raises(LogdirError, match=f"written in format version {VERSION + 1}; this EpochScope reads up to"):
        read_run(recorder.path)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / RUN_FILE).write_text('{"format": "tensorboard"}')
    with caplog.at_level("WARNING"):
        assert list_runs(tmp_path) == []
    assert "not an EpochScope run" in caplog.text and "upgrade it" in caplog.text  # both named, both skipped


def test_a_copied_folder_is_the_same_run_and_a_dead_remote_writer_reads_interrupted(tmp_path):
    recorder = record(tmp_path / "here", 2)
    copy = tmp_path / "there" / "run"
    shutil.copytree(recorder.path, copy)
    status = json.loads((copy / STATUS_FILE).read_text())
    # written on another machine, last heard of an hour ago, never finished
    (copy / STATUS_FILE).write_text(json.dumps({**status, "writer": "elsewhere:123", "updated": time.time() - 3600}))
    assert log_config(read_run(copy)).run_id == log_config(read_run(recorder.path)).run_id
    assert read_run(copy).state == "interrupted" and read_run(recorder.path).state == "recording"
    store = RunStore(tmp_path / "store")
    (run_id,) = sync_logdir(store, tmp_path / "there").run_ids
    assert store.run_info(run_id).state == "interrupted" and store.run_info(run_id).epochs_done == 2
    # deleted in the page, it is not brought back from its folder, which is left as it is
    from dashboard.catalogue import delete

    assert "its log directory's files are kept" in delete(store, run_id)
    assert sync_logdir(store, tmp_path / "there").run_ids == [] and not store.has_run(run_id)
    assert read_run(copy).records == 2
    store.close()


def test_a_damaged_record_stops_the_run_before_it_and_names_it(tmp_path):
    recorder = record(tmp_path / "logs", 4)
    recorder.finish()
    path = record_path(recorder.path, 2)
    path.write_bytes(path.read_bytes()[:100])  # a disk error, a copy cut short
    store = RunStore(tmp_path / "store")
    (run_id,) = sync_logdir(store, tmp_path / "logs").run_ids
    info = store.run_info(run_id)
    assert info.epochs_done == 2 and info.state == "failed"
    assert "record 2 is damaged, the run stops at 1" in info.message and "00000002.npz" in info.message
    assert store.epoch(run_id, 1).activations[0].shape == (30, 12)
    store.close()


def test_a_run_recorded_by_steps_is_shown_by_its_steps(tmp_path):
    recorder = record(tmp_path / "logs", 12, unit="step")
    recorder.finish()
    with pytest.raises(ValueError, match="step must grow: the last record was step 1100, got 1100"):
        recorder.record(step=1100)
    store = RunStore(tmp_path / "store")
    (run_id,) = sync_logdir(store, tmp_path / "logs").run_ids
    assert store.run_info(run_id).unit == "step"
    ctx = AppContext(store_dir=tmp_path / "store", config=RunConfig(), params=LayoutParams()).for_run(run_id)
    assert ctx.unit == "step" and ctx.steps() == tuple(range(0, 1200, 100))
    assert epoch_marks(ctx.last_epoch, ctx.steps()) == {e: str(100 * e) for e in (0, 2, 4, 6, 8, 11)}
    assert epoch_marks(11) == {e: str(e) for e in (0, 2, 4, 6, 8, 11)}
    from frames import compute

    params = LayoutParams(n_iter=20, warm_n_iter=5)
    compute.compute_frames(store, store.run_info(run_id), params)
    payload = service.sequence_payload(store, run_id, 0, params)
    assert payload["unit"] == "step" and payload["steps"] == list(range(0, 1200, 100))
    figure = figures.training_figure(store.metrics(run_id), {}, 3, "1", steps=list(ctx.steps() or ()))
    bottom = [a for k, a in figure["layout"].items() if k.startswith("xaxis") and a.get("showticklabels")]
    assert len(bottom) == 1 and bottom[0]["ticktext"][:3] == ["0", "100", "200"]
    assert bottom[0]["title"]["text"] == "step"
    assert [t["name"] for t in figure["data"][:2]] == ["loss", "probe acc."]  # the run's own metrics, plotted
    store.close()


def test_the_follower_brings_each_new_record_into_the_store_while_the_run_grows(tmp_path):
    logdir, store_dir = tmp_path / "logs", tmp_path / "store"
    follower = LogdirFollower(store_dir, logdir, interval_s=0.1)
    follower.start()
    try:
        recorder = record(logdir, 1)
        store = RunStore(store_dir)

        def epochs() -> int:
            runs = store.list_runs()
            return runs[0].epochs_done if runs else 0

        for k in range(2, 5):
            recorder.record()
            deadline = time.time() + 30
            while epochs() < k and time.time() < deadline:
                time.sleep(0.05)
            assert epochs() == k
            assert store.list_runs()[0].state == "training"
        recorder.finish()
        deadline = time.time() + 30
        while store.list_runs()[0].state != "complete" and time.time() < deadline:
            time.sleep(0.05)
        assert store.list_runs()[0].state == "complete"
        store.close()
    finally:
        follower.stop()
