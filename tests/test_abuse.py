"""Abuse and faults (issue 23), each reproduced as the attack or fault was found: with plain HTTP requests to a
real server, or real processes racing on a real store."""

from __future__ import annotations

import multiprocessing
import shutil
import threading
import time

import psutil

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
