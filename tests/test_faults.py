"""Faults: processes killed with SIGKILL while training and while laying out frames, and a truncated cache
file. Nothing is corrupted or half-visible; an interrupted run says so and resumes; a bad cache entry is
discarded with a warning and recomputed."""

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from selenium.webdriver.support.ui import WebDriverWait

from dashboard import service
from epochscope.record.logdir import list_runs, read_record
from frames import compute as frames_compute
from frames import index as frames_index
from layout_engine.params import LayoutParams
from models.config import RunConfig
from models.logdir_sync import sync_logdir
from models.store import RunStore
from models.train import train
from tests.processes import ROOT, chromium, free_port, gunicorn, start, stop, wait_until


def kill_9(process: subprocess.Popen) -> None:
    """SIGKILL the process and everything it started (its process group)."""
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def assert_whole(store: RunStore, run_id: str) -> int:
    """Every visible epoch of the run reads in full and the next one is not visible; returns the count."""
    info = store.run_info(run_id)
    for epoch in range(info.epochs_done):
        record = store.epoch(run_id, epoch)
        assert len(record.activations) == len(info.layer_sizes)
    with pytest.raises(KeyError):
        store.epoch(run_id, info.epochs_done)
    return info.epochs_done


def assert_frames_whole(store: RunStore, info, params: LayoutParams) -> int:
    """Every frame the index shows is readable (no entry half-written); returns how many there are."""
    ready = 0
    for layer in range(len(info.layer_sizes)):
        for epoch in range(info.epochs_done):
            key = store.derived.get(f"frames/{info.run_id}/{params.digest()}/{layer}/{epoch}")
            if key is not None:
                cached = store.get_derived(key)
                assert cached is not None and cached["display"].shape == (info.n_probe, 2)
                ready += 1
    return ready


def test_kill_9_while_training_leaves_an_interrupted_run_that_resumes(tmp_path, caplog):
    config = RunConfig(hidden=(64, 32), epochs=400, probe_size=300)
    store_dir = tmp_path / "store"
    args = [sys.executable, "-m", "epochscope", "train", "--store", str(store_dir), "--hidden", "64,32",
            "--epochs", "400", "--probe-size", "300"]
    trainer = start(args, tmp_path / "train.log")
    store = RunStore(store_dir)
    wait_until(lambda: store.has_run(config.run_id) and store.run_info(config.run_id).epochs_done >= 5, 120,
               "five epochs", trainer, tmp_path / "train.log")
    kill_9(trainer)
    done = assert_whole(store, config.run_id)
    assert store.run_info(config.run_id).state == "interrupted" and 5 <= done < 401
    listing = subprocess.run([sys.executable, "-m", "epochscope", "list", "--store", str(store_dir)], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout
    assert f"{config.run_id}  interrupted" in listing
    # the same command again resumes after the last recorded epoch instead of starting over
    resumed = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"Resuming run {config.run_id} after epoch {done - 1}" in resumed.stderr
    assert store.run_info(config.run_id).state == "complete" and assert_whole(store, config.run_id) == 401
    store.close()


RECORDING_SCRIPT = """
import sys, time
import numpy as np, torch
from torch import nn
from epochscope import Recorder
torch.manual_seed(0)
model = nn.Sequential(nn.Linear(6, 32), nn.ReLU(), nn.Linear(32, 3))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
X, y = torch.rand(200, 6), torch.arange(200) % 3
with Recorder(sys.argv[1], model, ["1"], X, y.numpy(), name="killed") as recorder:
    print(recorder.record(), flush=True)
    for epoch in range(1000):
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(X), y).backward()
        optimizer.step()
        recorder.record()
"""


def test_kill_9_while_recording_your_own_loop_leaves_a_readable_interrupted_run(tmp_path):
    """A training script that records its model into a log directory and is killed mid-run (recording as fast as
    it can, so the kill lands inside a write): its run reads as interrupted, in the log and in the store, every
    record it wrote whole, and no torn file is visible."""
    logdir = tmp_path / "logs"
    script = tmp_path / "train_mine.py"
    script.write_text(RECORDING_SCRIPT)
    writer = start([sys.executable, str(script), str(logdir)], tmp_path / "record.log")

    def recorded() -> int:
        runs = list_runs(logdir)
        return runs[0].records if runs else 0

    wait_until(lambda: recorded() >= 20, 120, "twenty records", writer, tmp_path / "record.log")
    store = RunStore(tmp_path / "store")
    (run_id,) = sync_logdir(store, logdir).run_ids
    assert store.run_info(run_id).state == "training"  # followed while its writer lives
    kill_9(writer)
    (run,) = list_runs(logdir)
    assert run.state == "interrupted"
    done = run.records
    assert done >= 20 and all(read_record(run.path, k, 1).arrays["predictions"].shape == (200,) for k in range(done))
    sync_logdir(store, logdir)
    info = store.run_info(run_id)
    assert info.state == "interrupted" and info.config.model == "custom" and info.epochs_done == done
    assert assert_whole(store, run_id) == done
    store.close()


LAYOUT_JOB = """
import sys
from frames.compute import compute_frames
from layout_engine.params import LayoutParams
from models.store import RunStore
store = RunStore(sys.argv[1])
compute_frames(store, store.run_info(sys.argv[2]), LayoutParams(guard=None))
"""


def test_kill_9_while_laying_out_keeps_every_indexed_frame_whole(tmp_path):
    config = RunConfig(hidden=(32, 16), epochs=60, probe_size=600)
    store = RunStore(tmp_path / "store")
    train(config, store)
    info = store.run_info(config.run_id)
    job = start([sys.executable, "-c", LAYOUT_JOB, str(tmp_path / "store"), config.run_id], tmp_path / "job.log")
    wait_until(lambda: frames_index.count_ready(store, info, UNGUARDED) >= 8, 180, "eight frames", job,
               tmp_path / "job.log")
    kill_9(job)
    ready = assert_frames_whole(store, info, UNGUARDED)
    assert 8 <= ready < 2 * 61
    # the next job lays out only what is missing, and the whole sequence reads
    assert frames_compute.compute_frames(store, info, UNGUARDED) == 2 * 61
    assert service.sequence_payload(store, config.run_id, 1, UNGUARDED)["complete"]
    store.close()


def test_a_truncated_cache_file_is_discarded_with_a_warning_and_recomputed(tmp_path, caplog):
    # 2,400 probe samples: a frame's arrays pass diskcache's 32 KiB threshold and are stored as files
    config = RunConfig(dataset="blobs", n_samples=3000, probe_size=2400, hidden=(8,), epochs=1)
    store = RunStore(tmp_path / "store")
    train(config, store)
    info = store.run_info(config.run_id)
    params = LayoutParams(n_iter=50, warm_n_iter=10)
    assert frames_compute.compute_frames(store, info, params) == 2
    files = sorted(Path(tmp_path / "store" / "derived").rglob("*.val"), key=os.path.getmtime)
    assert files, "no cache entry was stored as a file"
    victim = files[-1]
    victim.write_bytes(victim.read_bytes()[: victim.stat().st_size // 2])
    with caplog.at_level(logging.WARNING):  # the page fetches the frames: the broken one is found and dropped
        fetched = [service.frame_arrays(store, config.run_id, 0, epoch, params) for epoch in range(2)]
        assert sum(frame is None for frame in fetched) == 1
        assert len(service.sequence_payload(store, config.run_id, 0, params)["frames"]) == 1
        frames_compute.compute_frames(store, info, params)  # the next job lays it out again
    assert "Discarding corrupted cache entry" in caplog.text and "recomputed" in caplog.text
    assert assert_frames_whole(store, info, params) == 2
    assert service.sequence_payload(store, config.run_id, 0, params)["complete"]
    store.close()


#: big enough that a kill lands mid-training and mid-layout: 2 layers x 41 epochs = 82 frames
KILLED_RUN = RunConfig(hidden=(256, 128), epochs=40, probe_size=1000)
KILLED_FRAMES = 2 * (KILLED_RUN.epochs + 1)
#: the kill tests lay out without the faithfulness guard (its cold layout per frame doubles their time and is
#: not what they test); servers and workers get it from the environment
UNGUARDED = LayoutParams(guard=None)
UNGUARDED_ENV = {"EPOCHSCOPE_LAYOUT": '{"guard": null}'}


def killed_twice_then_finished(store_dir: Path, driver, url: str,
                               start: Callable[[int], tuple[subprocess.Popen, Path]], started: list) -> None:
    """The page at ``url`` starts :data:`KILLED_RUN`'s job on the process ``start(i)`` gives (with its log);
    that process is killed mid-training: the run is interrupted, its epochs whole; the next one, asked by the
    page again, resumes the run (not from scratch), laying out each epoch as it is trained, and is killed once
    six frames are laid out: every epoch and every indexed frame whole; the third finishes all 82 frames. Each
    process started is appended to ``started``, for the caller to stop."""
    config = KILLED_RUN
    store = RunStore(store_dir)

    def begin(i: int) -> tuple[subprocess.Popen, Path]:
        process, log = start(i)
        started.append(process)
        driver.get(url)
        return process, log

    try:
        process, log = begin(1)
        wait_until(lambda: store.has_run(config.run_id) and store.run_info(config.run_id).epochs_done >= 3, 120,
                   "three epochs", process, log)
        kill_9(process)
        time.sleep(1)
        done = assert_whole(store, config.run_id)
        assert store.run_info(config.run_id).state == "interrupted" and done < config.epochs + 1
        created = store.run_info(config.run_id).created

        process, log = begin(2)  # the page's job resumes the run, laying out each epoch as it is trained
        wait_until(lambda: store.run_info(config.run_id).epochs_done > done and
                   frames_index.count_ready(store, store.run_info(config.run_id), UNGUARDED) >= 6, 180,
                   "the resumed run and six frames", process, log)
        kill_9(process)
        time.sleep(1)
        resumed = assert_whole(store, config.run_id)
        info = store.run_info(config.run_id)
        assert resumed > done and info.created == created  # resumed, not retrained
        assert 6 <= assert_frames_whole(store, info, UNGUARDED) < KILLED_FRAMES

        begin(3)
        WebDriverWait(driver, 240).until(
            lambda d: f"{KILLED_FRAMES}/{KILLED_FRAMES} frames ready" in d.find_element("id", "job-message").text)
        info = store.run_info(config.run_id)
        assert info.state == "complete" and assert_frames_whole(store, info, UNGUARDED) == KILLED_FRAMES
        assert store.run_info(config.run_id).created == created
    finally:
        store.close()


@pytest.mark.browser
def test_kill_9_of_the_server_while_training_and_while_laying_out(tmp_path):
    """The page starts the job; gunicorn and its job processes are killed mid-training, restarted, the page
    resumes the run; killed again mid-layout, restarted: the run completes with every frame."""
    env = {"EPOCHSCOPE_HOME": str(tmp_path / "store"), "EPOCHSCOPE_CONFIG": KILLED_RUN.to_json(), **UNGUARDED_ENV}
    port = free_port()
    driver, started = chromium(), []

    def server(i: int) -> tuple[subprocess.Popen, Path]:
        log = tmp_path / f"gunicorn{i}.log"
        return gunicorn(port, log, env), log

    try:
        killed_twice_then_finished(tmp_path / "store", driver, f"http://127.0.0.1:{port}/", server, started)
    finally:
        driver.quit()
        for process in started:
            stop(process)
