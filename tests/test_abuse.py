"""Abuse and faults (issue 23), each reproduced as the attack or fault was found: with plain HTTP requests to a
real server, or real processes racing on a real store."""

from __future__ import annotations

import multiprocessing
import shutil
import threading
import time

import numpy as np
import psutil
import pytest

from dashboard.background import MAX_JOBS
from dashboard.client import DashClient
from models.store import RunStore
from tests.processes import free_port, gunicorn, stop


def job_processes(server: psutil.Process) -> list[psutil.Process]:
    """The background jobs a server started: its spawned descendants (not gunicorn's own workers)."""
    found = []
    for child in server.children(recursive=True):
        try:
            if "spawn_main" in " ".join(child.cmdline()):
                found.append(child)
        except psutil.Error:
            pass
    return found


def test_background_jobs_are_bounded_before_a_process_exists(trained_store_dir, tiny_config, tmp_path):
    """8 POSTs at once to the graph-job callback (each a UMAP job) used to start 8 processes (4.1 GB): at most
    MAX_JOBS run, over both gunicorn workers, and each refused request is told why in the page's words."""
    store_dir = tmp_path / "store"
    shutil.copytree(trained_store_dir, store_dir)
    port = free_port()
    server = gunicorn(port, tmp_path / "gunicorn.log", {"EPOCHSCOPE_HOME": str(store_dir),
                                                       "EPOCHSCOPE_RUN": tiny_config.run_id})
    try:
        client = DashClient(f"http://127.0.0.1:{port}")
        key = client.output_key("graph-job-message.children")
        bodies = [client.body(key, {"graph-job-start.data": {"run": tiny_config.run_id, "graph": "knn",
                                                             "method": "umap", "layer": layer % 2, "epoch": e}})
                  for layer in range(2) for e in range(4)]
        replies: list = [None] * len(bodies)

        def send(i: int) -> None:
            replies[i] = client.post(bodies[i])

        threads = [threading.Thread(target=send, args=(i,)) for i in range(len(bodies))]
        peak = 0
        for thread in threads:
            thread.start()
        while any(t.is_alive() for t in threads):
            peak = max(peak, len(job_processes(psutil.Process(server.pid))))
            time.sleep(0.02)
        peak = max(peak, len(job_processes(psutil.Process(server.pid))))
        assert all(r.status == 200 for r in replies), [r.text[:200] for r in replies]
        assert 1 <= peak <= MAX_JOBS
        # each refused job answers at once, in the page's words; the admitted ones run
        refused = 0
        for body, reply in zip(bodies, replies):
            handles = reply.json()
            poll = client.post(body, query={"cacheKey": handles["cacheKey"], "job": handles["job"]})
            if poll.status == 200 and "sideUpdate" in poll.text:
                problem = poll.json()["sideUpdate"]["server-problems"]["children"]
                assert f"at most {MAX_JOBS} at once" in problem and "Traceback" not in problem
                refused += 1
        assert refused >= len(bodies) - MAX_JOBS
    finally:
        for job in job_processes(psutil.Process(server.pid)):
            job.kill()
        stop(server)


def _claim(directory: str, claim: str, go, done, results) -> None:
    store = RunStore(directory)
    go.wait()
    results.put((claim, store.claim_training(claim, 2)))
    done.wait()  # hold the claim until every process has tried
    store.close()


def test_runs_started_together_cannot_all_pass_the_training_bound(tmp_path):
    """The bound of 2 runs training at once was checked in each job after its imports, so submissions sent
    together all passed it (4 trained at once): the check and the claim are one transaction."""
    context = multiprocessing.get_context("spawn")
    go, done, results = context.Event(), context.Event(), context.Queue()
    RunStore(tmp_path).close()
    processes = [context.Process(target=_claim, args=(str(tmp_path), f"run-{i}", go, done, results))
                 for i in range(4)]
    for process in processes:
        process.start()
    go.set()
    outcomes = dict(results.get(timeout=60) for _ in processes)
    done.set()
    for process in processes:
        process.join(timeout=30)
    taken = [claim for claim, holders in outcomes.items() if not holders]
    assert len(taken) == 2, outcomes
    assert all(sorted(holders) == sorted(taken) for holders in outcomes.values() if holders)
    # a claim lapses with its process: the places are free again
    store = RunStore(tmp_path)
    assert store.claim_training("later", 2) == [] and store.claim_training("later-2", 2) == []
    assert store.claim_training("third", 2) == ["later", "later-2"]
    store.release_training("later")
    assert store.claim_training("third", 2) == []
    store.close()


def zip_bomb(rows: int, columns: int) -> bytes:
    """An .npz whose X is ``rows`` x ``columns`` float64 zeros, deflated: ~1/1000 of its size."""
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        with archive.open("X.npy", "w", force_zip64=True) as fh:
            np.lib.format.write_array_header_1_0(fh, {"descr": "<f8", "fortran_order": False,
                                                      "shape": (rows, columns)})
            chunk = bytes(columns * 8 * 256)
            for _ in range(rows // 256):
                fh.write(chunk)
        with archive.open("y.npy", "w") as fh:
            np.lib.format.write_array(fh, np.arange(rows) % 3)
    return out.getvalue()


def test_a_zip_bomb_is_refused_before_it_is_inflated(tmp_path):
    """A 1.9 MB upload took the server from 0.8 to 2.7 GB: the arrays' sizes are read from their headers and
    checked first."""
    import base64

    from dashboard.uploads import UPLOADS, save_uploaded
    from models.datafile import MAX_ARRAY_BYTES, DataFileError

    bomb = zip_bomb(17_408, 4096)  # 570 MB of zeros
    assert len(bomb) < 4 * 2**20  # a few MB: well within the 16 MiB upload limit
    process = psutil.Process()
    before = process.memory_info().rss
    with pytest.raises(DataFileError, match=f"bomb.npz: its arrays X and y would take 570,564,608 bytes once read; "
                                            f"the limit is {MAX_ARRAY_BYTES:,} bytes"):
        save_uploaded(tmp_path, "data:application/octet-stream;base64," + base64.b64encode(bomb).decode(),
                      "bomb.npz", None)
    assert process.memory_info().rss - before < 100 * 2**20  # nothing was inflated
    assert not (tmp_path / UPLOADS).exists() or not any((tmp_path / UPLOADS).iterdir())


def test_class_names_are_bounded_where_data_enters(tmp_path):
    """100 classes of 120,000-character names made every sequence answer 11.4 MiB: refused by name and length
    from a file, a log directory's run and the store itself."""
    from epochscope.record.logdir import CLASS_NAME_MAX, RunHeader
    from models.config import RunConfig
    from models.datafile import DataFileError, read_bytes

    long = "n" * (CLASS_NAME_MAX + 1)
    table = "a,label\n" + "".join(f"{i},{['x', 'y', long][i % 3]}\n" for i in range(30))
    with pytest.raises(DataFileError, match=f"each class name must be 1..{CLASS_NAME_MAX} characters; class 0 has 65"):
        read_bytes("t.csv", table.encode(), label_column="label")
    with pytest.raises(ValueError, match="each class name must be 1..64 characters"):
        RunHeader(name="r", layers=("h",), layer_sizes=(2,), n_probe=3, class_names=("a", long))
    store = RunStore(tmp_path)
    probe = {"index": np.arange(3), "X": np.zeros((3, 2)), "y": np.zeros(3, dtype=int)}
    with pytest.raises(ValueError, match="class_names must be at most 1000 names, got 1001"):
        store.create_run(RunConfig(), probe, (4,), [str(i) for i in range(1001)])
    assert not store.has_run(RunConfig().run_id)
    store.close()


def damage_epoch(store: RunStore, run_id: str, epoch: int) -> None:
    """Cut an epoch's stored record short, as a disk or a killed copy might."""
    key = f"run/{run_id}/epoch/{epoch}"
    store.runs.set(key, store.runs.get(key)[:100])


def test_a_damaged_epoch_is_named_and_the_rest_of_the_run_stays_usable(store_copy, tiny_config):
    """A truncated record answered 500 (BadZipFile) for every request of it and crashed the preparing job: it is
    named, the run ends before it, the frame answers 410 with the message, and a job goes on with the run (a
    page-trained run is trained again: deterministic, so whole again)."""
    from dashboard.context import AppContext
    from dashboard.sequences import frame_response
    from frames.prepare import prepare
    from layout_engine.params import LayoutParams
    from models.store import DamagedEpoch

    fast = LayoutParams(n_iter=80, warm_n_iter=20)
    run = tiny_config.run_id
    before = store_copy.activations(run, 3, 0)
    damage_epoch(store_copy, run, 2)
    with pytest.raises(DamagedEpoch, match=f"epoch 2 of run {run} is damaged .*: the run ends at epoch 1"):
        store_copy.activations(run, 2, 0)
    info = store_copy.run_info(run)
    assert info.epochs_done == 2 and info.state == "failed" and "epoch 2" in info.message
    np.testing.assert_array_equal(store_copy.activations(run, 1, 0).shape, before.shape)  # the rest is usable
    ctx = AppContext(store_dir=store_copy.directory, config=tiny_config, params=fast)
    assert frame_response(ctx, run, "0", "2", "knn", "ours")[1] == 400  # beyond the run's end now: named range
    # a job on the run goes on: trained again from its seed, every epoch whole
    info, ready = prepare(store_copy, tiny_config, fast)
    assert info.state == "complete" and ready == 8
    np.testing.assert_array_equal(store_copy.activations(run, 3, 0), before)


@pytest.mark.browser
def test_a_frame_that_fails_is_not_asked_for_again_at_once(dash_duo, trained_store_dir, tiny_config, tmp_path):
    """One tab sent 3,267 requests in 80 s for a frame answering 500: a failed fetch rests 15 s, and the page
    shows the frame once the run is whole again."""
    from flask import request

    from dashboard.factory import create_app
    from frames.compute import compute_frames
    from layout_engine.params import LayoutParams

    fast = LayoutParams(n_iter=80, warm_n_iter=20)
    store_dir = tmp_path / "store"
    shutil.copytree(trained_store_dir, store_dir)
    store = RunStore(store_dir)
    compute_frames(store, store.run_info(tiny_config.run_id), fast)
    damage_epoch(store, tiny_config.run_id, 3)  # its frame is laid out; the epoch's outputs cannot be read
    store.close()
    app = create_app(store_dir=store_dir, config=tiny_config, params=fast)
    asked: list[int] = []

    @app.server.after_request
    def count(response):  # what the server answered for the damaged epoch's frame, as the browser asked
        if request.path == f"/frames/{tiny_config.run_id}/0/3":
            asked.append(response.status_code)
        return response

    dash_duo.start_server(app)
    dash_duo.driver.get(dash_duo.server_url + f"/?run={tiny_config.run_id}&layer=0&epoch=3")
    # the job finds the damaged epoch, ends the run before it and trains it again (from its seed): the map then
    # shows epoch 3, asked for once more with its new version
    dash_duo.wait_for_contains_text("#frame-info", "h1 (24 units), epoch 3", timeout=60)
    assert 410 in asked and len(asked) <= 4, asked


def test_every_array_of_an_exported_figure_counts_toward_its_bound():
    """A trace of one x and 10 million y values took 25 s and 0.8 GB; a 300,000-point SVG ran 118 s."""
    from dashboard.export import MAX_IMAGE_POINTS, MAX_SVG_POINTS, map_image, safe_figure

    long_y = {"data": [{"type": "scattergl", "x": [0.0], "y": [0.0] * (MAX_IMAGE_POINTS + 1)}], "layout": {}}
    with pytest.raises(ValueError, match=f"figure must hold at most {MAX_IMAGE_POINTS} points, got "
                                         f"{MAX_IMAGE_POINTS + 1}"):
        safe_figure(long_y)
    colours = {"data": [{"type": "scattergl", "x": [0.0], "y": [0.0],
                         "marker": {"color": [1.0] * (MAX_IMAGE_POINTS + 1)}}], "layout": {}}
    with pytest.raises(ValueError, match="figure must hold at most"):
        safe_figure(colours)
    n = MAX_SVG_POINTS + 1
    many = {"data": [{"type": "scattergl", "x": [float(i) for i in range(n)], "y": [0.0] * n}], "layout": {}}
    with pytest.raises(ValueError, match=f"an SVG holds at most {MAX_SVG_POINTS:,} points .* export it as PNG"):
        map_image(many, "svg")


def test_an_exported_label_is_escaped_once():
    """Legends showed a label <img …> as &lt;img …&gt;: the page sends it escaped, and it was escaped again."""
    from dashboard.export import safe_figure

    for sent in ("<img src=x onerror=alert(1)>", "&lt;img src=x onerror=alert(1)&gt;"):
        figure = {"data": [{"type": "scattergl", "x": [0.0], "y": [0.0], "name": sent}], "layout": {}}
        assert safe_figure(figure)["data"][0]["name"] == "&lt;img src=x onerror=alert(1)&gt;"


def test_the_development_server_names_a_path_too_long_for_a_number(store_copy, tiny_config):
    """``/frames/<run>/<5000 digits>/0`` answered 500 (int() refuses over 4,300 digits); under gunicorn the
    request line's own limit answers 414 first."""
    from dashboard.factory import create_app

    app = create_app(store_dir=store_copy.directory, config=tiny_config)
    client = app.server.test_client()
    for path in (f"/frames/{tiny_config.run_id}/{'9' * 5000}/0", f"/frames/{tiny_config.run_id}/0/{'9' * 5000}"):
        reply = client.get(path)
        assert reply.status_code == 400 and "must be in 0.." in reply.get_json()["error"]
    reply = client.get("/_dash-component-suites/dash/..%2F..%2F..%2Fsetup.py")
    assert reply.status_code == 404 and reply.get_json() == {"error": "no such file"}


def test_a_damaged_store_database_is_named_and_a_damaged_cache_is_started_again(tmp_path, tiny_config):
    """A corrupted runs/cache.db stopped app.py with a raw sqlite traceback; a run interrupted before its first
    epoch was listed with "epochs -1"."""
    import socket
    import subprocess
    import sys

    from dashboard.catalogue import describe
    from models.store import StoreDamaged

    store = RunStore(tmp_path / "store")
    dead = f"{socket.gethostname()}:{2**22 + 1}"  # a process of this host that is not running: interrupted
    store.create_run(tiny_config, {"index": np.arange(3), "X": np.zeros((3, 2)), "y": np.zeros(3, dtype=int)}, (4,),
                     writer=dead)
    info = store.run_info(tiny_config.run_id)
    assert "no epoch yet" in describe(info) and "-1 epochs" not in describe(info)
    store.close()
    listed = subprocess.run([sys.executable, "-m", "epochscope", "list", "--store", str(tmp_path / "store")],
                            capture_output=True, text=True, timeout=120)
    assert "no epoch yet" in listed.stdout and "epochs   -1" not in listed.stdout
    # the derived cache is computed data: a damaged one is moved aside and started again
    (tmp_path / "store" / "derived" / "cache.db").write_bytes(b"not a database" * 100)
    store = RunStore(tmp_path / "store")
    assert store.has_run(tiny_config.run_id) and list((tmp_path / "store").glob("derived.damaged-*"))
    store.close()
    # the runs are the user's: named, never replaced
    (tmp_path / "store" / "runs" / "cache.db").write_bytes(b"not a database" * 100)
    with pytest.raises(StoreDamaged, match="runs/cache.db cannot be read .*Restore it from a copy"):
        RunStore(tmp_path / "store")
    for command in (["list"], ["serve", "--port", str(free_port())]):
        done = subprocess.run([sys.executable, "-m", "epochscope", *command, "--store", str(tmp_path / "store")],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 2 and "Traceback" not in done.stderr
        assert "runs/cache.db cannot be read (file is not a database)" in done.stderr


def test_uploads_count_toward_the_store_limit_and_go_with_their_runs(tmp_path):
    """Every valid upload was kept, also when the form was refused, never removed, and not counted toward
    EPOCHSCOPE_STORE_LIMIT."""
    import base64

    from dashboard.catalogue import delete
    from dashboard.uploads import UPLOADS, discard_unused, save_uploaded
    from models.config import RunConfig
    from models.datafile import DataFileError
    from models.store import MIN_DERIVED_BYTES
    from models.train import train

    rows = "a,b,label\n" + "".join(f"{i % 7},{(i * 3) % 5},{'xy'[i % 2]}\n" for i in range(60))
    contents = "data:text/csv;base64," + base64.b64encode(rows.encode()).decode()
    store = RunStore(tmp_path, size_limit=MIN_DERIVED_BYTES + 2**20)
    room = store.room()
    path = save_uploaded(tmp_path, contents, "t.csv", "label", room=store.room())
    assert store.uploads_bytes() == len(rows) and store.room() == room - len(rows)
    with pytest.raises(DataFileError, match="t.csv: the store is full .* raise EPOCHSCOPE_STORE_LIMIT"):
        save_uploaded(tmp_path, contents, "t.csv", "label", room=len(rows) - 1)
    # a refused form's upload is not kept; one a run trains on stays until the run is deleted
    assert discard_unused(store, path) and not path.exists()
    path = save_uploaded(tmp_path, contents, "t.csv", "label")
    config = RunConfig(dataset="file", data_path=str(path), label_column="label", hidden=(4,), epochs=1)
    train(config, store)
    assert not discard_unused(store, path) and path.exists()
    delete(store, config.run_id)
    assert not path.exists() and not any((tmp_path / UPLOADS).iterdir())
    store.close()
