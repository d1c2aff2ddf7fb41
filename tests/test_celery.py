"""Background jobs on Celery workers over a real Redis: the page, served by gunicorn, trains a run and lays
out its frames through the workers, and the results land in the shared store."""

import re
import sys

import pytest
from selenium.webdriver.support.ui import WebDriverWait

from frames import index as frames_index
from layout_engine.params import LayoutParams
from models.config import RunConfig
from models.store import RunStore
from tests.processes import chromium, free_port, gunicorn, start, stop, wait_until

pytestmark = pytest.mark.browser

def redis_answers(url: str) -> bool:
    import redis

    try:
        return redis.Redis.from_url(url, socket_timeout=1).ping()
    except redis.RedisError:
        return False


def start_redis(tmp_path) -> tuple[object, str]:
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    process = start(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                    tmp_path / "redis.log")
    wait_until(lambda: redis_answers(url), 30, "redis-server", process, tmp_path / "redis.log")
    return process, url


def start_worker(log, env: dict[str, str]):
    process = start([sys.executable, "-m", "celery", "--app", "epochscope.app.worker:celery_app", "worker",
                     "--loglevel", "INFO", "--concurrency", "1", "--hostname", f"test-{free_port()}@%h"], log, env)
    wait_until(lambda: " ready." in log.read_text(), 90, "the Celery worker", process, log)
    return process


def test_training_and_frames_run_on_celery_workers_over_redis_with_the_layers_spread_over_them(tmp_path):
    """The page, served by gunicorn, trains a run through two Celery workers: the job sends its layers' chains
    to the other worker, which lays them out as the epochs are recorded; every frame is laid out once, by one
    worker or the other, and the results land in the shared store. The neuron x sample graph of the layer on show
    is a job on the workers too."""
    config = RunConfig(hidden=(16, 8, 8), epochs=3, probe_size=150, seed=3)
    store_dir = tmp_path / "store"
    port = free_port()
    processes, driver = [], None
    try:
        redis_server, url = start_redis(tmp_path)
        processes.append(redis_server)
        env = {"EPOCHSCOPE_HOME": str(store_dir), "EPOCHSCOPE_REDIS_URL": url, "EPOCHSCOPE_CONFIG": config.to_json()}
        logs = [tmp_path / "worker1.log", tmp_path / "worker2.log"]
        processes.extend(start_worker(log, env) for log in logs)
        processes.append(gunicorn(port, tmp_path / "gunicorn.log", env))

        # opening the page starts the job that trains the run and lays out its frames: on the workers
        driver = chromium()
        driver.get(f"http://127.0.0.1:{port}/")
        WebDriverWait(driver, 180).until(
            lambda d: "12/12 frames ready" in d.find_element("id", "job-message").text)
        store = RunStore(store_dir)
        info = store.run_info(config.run_id)
        assert info.state == "complete" and info.epochs_done == 4
        assert frames_index.count_ready(store, info, LayoutParams()) == 12
        laid_out = [[(int(layer), int(n)) for layer, n in re.findall(
            rf"Chain {config.run_id} layer (\d) *: (\d+) frames laid out here", log.read_text())] for log in logs]
        assert all(sum(n for _, n in found) > 0 for found in laid_out), laid_out  # both workers laid out frames
        assert sum(n for found in laid_out for _, n in found) == 12, laid_out  # each frame once
        assert {layer for found in laid_out for layer, n in found if n} == {0, 1, 2}

        # the neuron x sample graph of the layer on show: a frame job, on a worker too
        driver.find_element("css selector", "#graph-mode input[value='bipartite']").click()
        WebDriverWait(driver, 120).until(
            lambda d: "4/4 frames ready" in d.find_element("id", "graph-job-message").text)
        assert frames_index.readiness(store, config.run_id, LayoutParams())[("bipartite", "ours")][0] == 4
        store.close()
        assert sum(log.read_text().count("succeeded in") for log in logs) >= 3
        assert [e for e in driver.get_log("browser") if e["level"] == "SEVERE"] == []
    finally:
        if driver is not None:
            driver.quit()
        for process in reversed(processes):
            stop(process)


def test_kill_9_of_a_celery_worker_while_training_and_while_laying_out(tmp_path):
    """The worker (and its pool) is killed mid-training: the run shows as interrupted; a new worker, asked by
    the page again, resumes it; killed mid-layout: every indexed frame is whole, and the next worker finishes."""
    from tests.test_faults import KILLED_RUN, UNGUARDED_ENV, killed_twice_then_finished

    processes, driver, workers = [], None, []
    try:
        redis_server, url = start_redis(tmp_path)
        processes.append(redis_server)
        env = {"EPOCHSCOPE_HOME": str(tmp_path / "store"), "EPOCHSCOPE_REDIS_URL": url,
               "EPOCHSCOPE_CONFIG": KILLED_RUN.to_json(), **UNGUARDED_ENV}
        port = free_port()
        processes.append(gunicorn(port, tmp_path / "gunicorn.log", env))
        driver = chromium()

        def worker(i: int):
            log = tmp_path / f"worker{i}.log"
            return start_worker(log, env), log

        killed_twice_then_finished(tmp_path / "store", driver, f"http://127.0.0.1:{port}/", worker, workers)
    finally:
        if driver is not None:
            driver.quit()
        for process in [*workers, *reversed(processes)]:
            stop(process)
