"""The service layer, without a browser."""

import time
from dataclasses import replace

import numpy as np
import pytest
from dash import no_update

from analysis import stage
from dashboard import service
from dashboard.context import AppContext
from dashboard.sequences import sequence_update
from dashboard.typed import decode
from derived.keys import scores_key
from frames import chains as frames_chains
from frames import compute as frames_compute
from frames import index as frames_index
from frames import prepare as frames_prepare
from frames import scores as frames_scores
from layout_engine.params import LayoutParams
from layout_engine.pipeline import layout_sequence
from models.config import RunConfig
from models.train import TRAINING, train

FAST = LayoutParams(n_iter=80, warm_n_iter=20)


def test_prepare_lays_out_every_frame_then_reuses_the_cache(store_copy, tiny_config, monkeypatch):
    stages = []
    info, ready = frames_prepare.prepare(store_copy, tiny_config, FAST, lambda s, d, t: stages.append((s, d, t)))
    total = len(tiny_config.hidden) * (tiny_config.epochs + 1)
    assert ready == total == frames_index.count_ready(store_copy, info, FAST)
    assert (frames_chains.LAYOUT, total, total) in stages
    assert stages[-1] == (stage.MEASURING, total + 1, total + 1)  # every frame measured, then the run's CKA
    assert stage.count_measured(store_copy, info) == total and stage.run_cka(store_copy, info.run_id) is not None
    view = service.frame_view(store_copy, tiny_config.run_id, 1, tiny_config.epochs, FAST)
    assert view.coords.shape == (240, 2) and np.isfinite(view.silhouette)
    assert view.silhouette > 0.1  # trained classes separate in the last hidden layer
    # the payload's per-epoch extent (what the page frames the map by) is the frame's, read from its own entry
    payload = service.sequence_payload(store_copy, tiny_config.run_id, 1, FAST)
    lo, hi = view.coords.min(axis=0), view.coords.max(axis=0)
    np.testing.assert_allclose(payload["frames"][str(tiny_config.epochs)]["box"], [lo[0], hi[0], lo[1], hi[1]],
                               atol=1e-4)

    def tripwire(*args, **kwargs):
        raise AssertionError("a cached frame was laid out again")

    monkeypatch.setattr(frames_chains, "next_frame", tripwire)
    monkeypatch.setattr(frames_chains, "build_graph", tripwire)
    monkeypatch.setattr(frames_chains, "knn_graph", tripwire)
    monkeypatch.setattr(frames_prepare, "train", tripwire)
    monkeypatch.setattr(stage, "measure_frame", tripwire)
    assert frames_prepare.prepare(store_copy, tiny_config, FAST)[1] == total


def test_layer_chains_in_parallel_processes_give_the_frames_of_one_process(store_copy, tiny_config):
    info = store_copy.run_info(tiny_config.run_id)
    stages = []
    assert frames_compute.compute_frames(store_copy, info, FAST, lambda *a: stages.append(a), workers=2) == 8
    assert stages[-1] == (frames_chains.LAYOUT, 8, 8)  # the parent follows the chains' progress in the store
    for layer in range(2):
        activations = [store_copy.activations(info.run_id, epoch, layer) for epoch in range(4)]
        # the engine in this process, frame by frame: the chains' processes stored the same frames
        for epoch, frame in enumerate(layout_sequence(activations, FAST)):
            np.testing.assert_array_equal(frame.display,
                                          service.frame_view(store_copy, info.run_id, layer, epoch, FAST).coords)
    assert frames_compute.chain_workers(1_797, 4, cores=16) == 1
    assert frames_compute.chain_workers(50_000, 4, cores=2) == 1
    assert frames_compute.chain_workers(50_000, 4, cores=16) == 4


def _follow_chain_in_a_process(directory: str, run_id: str, params: LayoutParams, layer: int) -> None:
    from models.store import RunStore

    store = RunStore(directory)
    try:
        frames_chains.follow_chain(store, run_id, params, layer)
    finally:
        store.close()


def test_a_job_sends_layer_chains_to_other_workers_and_they_store_the_frames_of_one_process(
        store_copy, tiny_config, monkeypatch):
    """The job keeps the first layer and sends the others to workers (here spawned processes, as Celery tasks
    would be); the frames are those one process lays out."""
    import multiprocessing

    monkeypatch.setattr(frames_chains, "CLAIM_S", 120.0)  # the workers start (a spawned process takes seconds)
    workers, context = [], multiprocessing.get_context("spawn")

    def send(run_id, params, layers):
        for layer in layers:
            workers.append(context.Process(target=_follow_chain_in_a_process,
                                           args=(str(store_copy.directory), run_id, params, layer)))
            workers[-1].start()

    chains = frames_chains.LayerChains(store_copy, tiny_config.run_id, FAST, [0, 1], send)
    try:
        assert chains.finish(poll_s=0.05) == 8
    finally:
        for worker in workers:
            worker.join(60)
    assert [w.exitcode for w in workers] == [0]
    assert chains.chains[0].laid_out == 4 and 1 not in chains.chains  # layer 1 came from the worker
    for layer in range(2):
        activations = [store_copy.activations(tiny_config.run_id, epoch, layer) for epoch in range(4)]
        for epoch, frame in enumerate(layout_sequence(activations, FAST)):
            np.testing.assert_array_equal(
                frame.display, service.frame_view(store_copy, tiny_config.run_id, layer, epoch, FAST).coords)


def test_a_chain_sent_to_workers_that_never_start_it_is_laid_out_by_the_job(store_copy, tiny_config,
                                                                              monkeypatch):
    monkeypatch.setattr(frames_chains, "CLAIM_S", 0.2)
    sent = []
    chains = frames_chains.LayerChains(store_copy, tiny_config.run_id, FAST, [0, 1], lambda *a: sent.append(a))
    assert chains.finish(poll_s=0.05) == 8
    assert sent == [(tiny_config.run_id, FAST, [1])]
    assert chains.chains[0].laid_out == chains.chains[1].laid_out == 4
    # a worker that comes late finds the chain done: it lays out nothing
    monkeypatch.setattr(frames_chains, "next_frame", lambda *a, **k: pytest.fail("a laid-out frame was laid out again"))
    assert frames_chains.follow_chain(store_copy, tiny_config.run_id, FAST, 1) == 4


def test_changing_force_parameters_recomputes_layouts_not_the_run_or_the_graphs(store_copy, tiny_config,
                                                                               monkeypatch):
    frames_prepare.prepare(store_copy, tiny_config, FAST)
    monkeypatch.setattr(frames_prepare, "train", lambda *a, **k: pytest.fail("the run was retrained"))
    monkeypatch.setattr(frames_chains, "build_graph", lambda *a, **k: pytest.fail("a kNN graph was rebuilt"))
    monkeypatch.setattr(frames_chains, "knn_graph", lambda *a, **k: pytest.fail("a kNN graph was rebuilt"))
    other = LayoutParams(n_iter=60, warm_n_iter=10, repulsion=1.5)
    info = store_copy.run_info(tiny_config.run_id)
    assert frames_index.count_ready(store_copy, info, other) == 0
    assert frames_prepare.prepare(store_copy, tiny_config, other)[1] == 8


def test_a_second_job_follows_the_one_holding_the_run(store_copy, tiny_config):
    lock = f"prepare/{tiny_config.run_id}/{FAST.digest()}"
    assert store_copy.try_lock(lock, "other-job", ttl=30)
    stages = []

    def report(stage, done, total):
        stages.append(stage)
        return True  # give up at once

    with pytest.raises(frames_prepare.JobStopped, match="waiting for another job"):
        frames_prepare.prepare(store_copy, tiny_config, FAST, report, poll_s=0.01)
    assert stages == [frames_prepare.WAITING]


def test_frame_view_is_none_until_computed(store_copy, tiny_config):
    assert service.frame_view(store_copy, tiny_config.run_id, 0, 0, FAST) is None


def test_the_sequence_goes_to_the_browser_as_frames_get_ready(store_copy, tiny_config):
    ctx = AppContext(store_dir=store_copy.directory, config=tiny_config, params=FAST)
    payload, poll_disabled = sequence_update(ctx, 0, 0)
    assert payload["frames"] == {} and poll_disabled is False  # nothing laid out yet: keep polling
    frames_prepare.prepare(store_copy, tiny_config, FAST)
    payload, poll_disabled = sequence_update(ctx, 1, 0)
    assert poll_disabled is True and payload["complete"] and payload["name"] == "h2 (12 units)"
    assert sorted(payload["frames"]) == ["0", "1", "2", "3"] and payload["last_epoch"] == 3
    scalars = payload["frames"]["2"]
    probe = store_copy.probe(tiny_config.run_id)
    samples = service.sample_arrays(store_copy, tiny_config.run_id)  # once per run, for every layer and epoch
    assert samples["version"] == payload["samples_version"]
    np.testing.assert_array_equal(decode(samples["index"]), probe["index"])
    np.testing.assert_array_equal(decode(samples["labels"]), probe["y"])
    assert "test_acc" in scalars["metrics"] and -1 <= scalars["silhouette"] <= 1
    # each epoch's arrays come on their own, as typed arrays
    frame = service.frame_arrays(store_copy, tiny_config.run_id, 1, 2, FAST)
    assert frame["version"] == scalars["version"] and frame["x"]["dtype"] == "u2"
    assert len(decode(frame["x"])) == len(decode(frame["pred"])) == len(decode(frame["sens"])) == 240
    view = service.frame_view(store_copy, tiny_config.run_id, 1, 2, FAST)
    box = scalars["box"]
    assert box == pytest.approx([view.coords[:, 0].min(), view.coords[:, 0].max(), view.coords[:, 1].min(),
                                 view.coords[:, 1].max()], abs=1e-4)
    # 16-bit positions: within half a step (1/131,070 of the frame's extent) of the layout
    np.testing.assert_allclose(decode(frame["x"]), view.coords[:, 0], atol=(box[1] - box[0]) / 131_000 + 1e-6)
    np.testing.assert_allclose(decode(frame["conf"]) / 255, store_copy.outputs(tiny_config.run_id, 2)[1],
                               atol=0.5 / 255 + 1e-6)
    assert service.frame_arrays(store_copy, tiny_config.run_id, 1, 9, FAST) is None
    assert sequence_update(ctx, 1, 4)[0] is no_update  # the browser has every frame: nothing is sent again


def test_an_evicted_frame_is_recomputed_alone_and_identically(store_copy, tiny_config, monkeypatch):
    frames_prepare.prepare(store_copy, tiny_config, FAST)
    key = store_copy.derived.get(f"frames/{tiny_config.run_id}/{FAST.digest()}/0/2")
    before = store_copy.get_derived(key)["display"]
    store_copy.derived.delete(key)
    calls = []
    real_next_frame = frames_chains.next_frame

    def counting_next_frame(*args, **kwargs):
        calls.append(1)
        return real_next_frame(*args, **kwargs)

    monkeypatch.setattr(frames_chains, "next_frame", counting_next_frame)
    frames_prepare.prepare(store_copy, tiny_config, FAST)
    assert len(calls) == 1  # frames after it keep their keys: the recomputed frame is the same
    np.testing.assert_array_equal(store_copy.get_derived(key)["display"], before)


@pytest.mark.parametrize(("layer", "message"), [
    (7, "layer must be in 0..1, got 7"),
    (-1, "layer must be in 0..1, got -1"),
    ("x", "layer must be a whole number"),
])
def test_out_of_range_layers_get_a_message_not_an_error(store_copy, tiny_config, layer, message):
    ctx = AppContext(store_dir=store_copy.directory, config=tiny_config, params=FAST)
    payload, poll_disabled = sequence_update(ctx, layer, 0)
    assert payload == {"error": message} and poll_disabled is True


def test_a_layout_two_runs_share_is_scored_against_each_runs_own_labels(store_copy, tiny_config):
    """Epoch 0 of a run and of its shuffled-label control has the same activations, so the same cached layout;
    its scores must still follow each run's labels (the control's trained labels are noise)."""
    control = replace(tiny_config, scramble="labels", scramble_fraction=1.0)
    train(control, store_copy)
    for config in (tiny_config, control):
        frames_compute.compute_frames(store_copy, store_copy.run_info(config.run_id), FAST)
    index = f"frames/{{}}/{FAST.digest()}/0/0"
    shared = store_copy.derived.get(index.format(tiny_config.run_id))
    assert shared == store_copy.derived.get(index.format(control.run_id))
    # neighbourhood hit: the share of a sample's 2-D neighbours with its label (chance: 1 in 10)
    real = service.scores(store_copy, tiny_config.run_id, 0, FAST)["nh"][0]
    shuffled = service.scores(store_copy, control.run_id, 0, FAST)["nh"][0]
    assert real > 0.4 and shuffled < 0.2


def test_scores_evicted_from_the_cache_come_back_with_the_next_job(store_copy, tiny_config):
    run = tiny_config.run_id
    info = store_copy.run_info(run)
    frames_compute.compute_frames(store_copy, info, FAST)
    key = store_copy.derived.get(f"frames/{run}/{FAST.digest()}/1/2")
    store_copy.derived.delete(scores_key(key, frames_scores.score_labels(store_copy.probe(run))))
    assert service.scores(store_copy, run, 1, FAST)["trust"][2] is None
    frames_compute.compute_frames(store_copy, info, FAST)
    scores = service.scores(store_copy, run, 1, FAST)
    assert 0.5 < scores["trust"][2] <= 1 and scores["ratio"][2] is not None


def test_the_layout_follows_the_training_epoch_by_epoch(tmp_path):
    """Each stored epoch is laid out while the training goes on (the page shows the run as it trains), and the
    training does not wait for the layouts (they run beside it)."""

    from models.store import RunStore

    config = RunConfig(hidden=(16, 8), epochs=4, lr=0.01, probe_size=200, seed=3)
    store = RunStore(tmp_path / "store")
    seen = []

    def report(stage, done, total):
        if stage == TRAINING and store.has_run(config.run_id):
            time.sleep(0.5)  # a slow epoch: the layouts of those before it catch up meanwhile
            seen.append((done, frames_index.count_ready(store, store.run_info(config.run_id), FAST)))

    info, ready = frames_prepare.prepare(store, config, FAST, report)
    assert ready == 2 * 5 and info.state == "complete"
    # epochs 0..d-1 laid out in both layers (after the first, which also loads the compiled kernels)
    assert all(r >= 2 * d for d, r in seen if 2 <= d < 4), seen
    store.close()

    # layouts far slower than the training: the training ends long before them, and they all follow
    slow = replace(FAST, n_iter=10_000, warm_n_iter=10_000, guard=None)
    store = RunStore(tmp_path / "slow")
    trained = []
    info, ready = frames_prepare.prepare(store, config, slow, lambda stage, done, total: trained.append(
        (done, frames_index.count_ready(store, store.run_info(config.run_id), slow))) if stage == TRAINING
        and done == config.epochs else None)
    assert ready == 2 * 5
    assert trained and trained[-1][1] < 2 * config.epochs, trained  # the last epoch trained before most were laid out
    store.close()


def test_a_job_told_to_stop_while_training_lays_out_no_more(tmp_path):
    """Stopped at epoch 2, the training stops there and the layouts following it stop after the frame they are
    on: nothing after the stop is laid out (slow layouts, so that they lag the training)."""
    from models.store import RunStore

    config = RunConfig(hidden=(16, 8), epochs=6, lr=0.01, probe_size=200, seed=4)
    slow = replace(FAST, n_iter=10_000, warm_n_iter=10_000, guard=None)
    store = RunStore(tmp_path / "store")
    told = []

    def report(stage, done, total):  # stop at epoch 2, and stay stopped
        told.extend([True] if stage == TRAINING and done >= 2 else [])
        return bool(told)

    info, ready = frames_prepare.prepare(store, config, slow, report)
    assert info.epochs_done == 3 and info.state != "complete"
    # the frame being laid out when told (epoch 0 of the first layer, or of the second) and none after it
    assert ready <= 2, ready
    store.close()


#: a training in another process that holds after its second epoch until the file ``sys.argv[2]`` exists, so
#: that the test sees it followed while it trains on a machine of any speed
PACED_TRAINER = """
import sys, time
from pathlib import Path
from models.config import RunConfig
from models.store import RunStore
from models.train import train

go = Path(sys.argv[2])

def paced(stage, done, total):
    while done >= 2 and not go.exists():
        time.sleep(0.02)

config = RunConfig(hidden=(16, 8), epochs=12, lr=0.01, probe_size=200, seed=4)
train(config, RunStore(sys.argv[1]), progress=paced)
"""


def test_a_run_trained_by_another_process_is_laid_out_while_it_trains(tmp_path):
    import subprocess
    import sys

    from models.store import RunStore

    config = RunConfig(hidden=(16, 8), epochs=12, lr=0.01, probe_size=200, seed=4)
    store_dir, go = tmp_path / "store", tmp_path / "go"
    trainer = subprocess.Popen([sys.executable, "-c", PACED_TRAINER, str(store_dir), str(go)])
    store = RunStore(store_dir)
    try:
        while not (store.has_run(config.run_id) and store.run_info(config.run_id).epochs_done >= 2):
            assert trainer.poll() is None, "the trainer ended before its second epoch"
            time.sleep(0.05)
        following = []

        def report(stage, done, total):
            if stage == frames_prepare.FOLLOWING:
                state = store.run_info(config.run_id).state
                following.append((done, state))
                if done > 0 and state == "training":
                    go.touch()  # seen laid out while it trains: let it finish

        info, ready = frames_prepare.prepare(store, config, FAST, report)
        assert trainer.wait(timeout=120) == 0
        # the frames were laid out while the other process trained, and all of them in the end
        assert any(done > 0 and state == "training" for done, state in following)
        assert info.state == "complete" and ready == 2 * 13
    finally:
        go.touch()
        trainer.kill()
        store.close()
