"""Background jobs on a Celery worker over a real Redis: the page, served by gunicorn, trains a run and lays
out its frames through the worker, and the results land in the shared store."""

import sys
import time

import pytest
from selenium import webdriver
from selenium.webdriver.support.ui import WebDriverWait

from dashboard import service
from layout_engine.pipeline import LayoutParams
from models.config import RunConfig
from models.store import RunStore
from tests.processes import free_port, gunicorn, start, stop, wait_until

pytestmark = pytest.mark.browser

CHROMIUM_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
                  "--window-size=1366,900")


def chromium() -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    return webdriver.Chrome(options=options)


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
    process = start([sys.executable, "-m", "celery", "--app", "dashboard.worker:celery_app", "worker",
                     "--loglevel", "INFO", "--concurrency", "1", "--hostname", f"test-{free_port()}@%h"], log, env)
    wait_until(lambda: " ready." in log.read_text(), 90, "the Celery worker", process, log)
    return process


def test_training_and_frames_run_on_a_celery_worker_over_redis(tmp_path):
    config = RunConfig(hidden=(16, 8), epochs=3, probe_size=150, seed=3)
    store_dir = tmp_path / "store"
    port = free_port()
    processes, driver = [], None
    try:
        redis_server, url = start_redis(tmp_path)
        processes.append(redis_server)
        env = {"EPOCHSCOPE_HOME": str(store_dir), "EPOCHSCOPE_REDIS_URL": url, "EPOCHSCOPE_CONFIG": config.to_json()}
        worker_log = tmp_path / "worker.log"
        processes.append(start_worker(worker_log, env))
        processes.append(gunicorn(port, tmp_path / "gunicorn.log", env))

        # opening the page starts the job that trains the run and lays out its frames: on the worker
        driver = chromium()
        driver.get(f"http://127.0.0.1:{port}/")
        WebDriverWait(driver, 180).until(
            lambda d: "8/8 frames ready" in d.find_element("id", "job-message").text)
        store = RunStore(store_dir)
        info = store.run_info(config.run_id)
        assert info.state == "complete" and info.epochs_done == 4
        assert service.count_ready(store, info, LayoutParams()) == 8

        # the neuron x sample graph of the layer on show: a frame job, on the worker too
        driver.find_element("css selector", "#graph-mode input[value='bipartite']").click()
        WebDriverWait(driver, 120).until(
            lambda d: "4/4 frames ready" in d.find_element("id", "graph-job-message").text)
        assert service.readiness(store, config.run_id, LayoutParams())[("bipartite", "ours")] == [4, 0]
        store.close()
        log = worker_log.read_text()
        assert log.count("succeeded in") >= 2, log[-3000:]
        assert [e for e in driver.get_log("browser") if e["level"] == "SEVERE"] == []
    finally:
        if driver is not None:
            driver.quit()
        for process in reversed(processes):
            stop(process)


def test_kill_9_of_a_celery_worker_while_training_and_while_laying_out(tmp_path):
    """The worker (and its pool) is killed mid-training: the run shows as interrupted; a new worker, asked by
    the page again, resumes it; killed mid-layout: every indexed frame is whole, and the next worker finishes."""
    from tests.test_faults import assert_frames_whole, assert_whole, kill_9

    config = RunConfig(hidden=(256, 128), epochs=60, probe_size=1000)
    store_dir = tmp_path / "store"
    processes, driver, worker = [], None, None
    try:
        redis_server, url = start_redis(tmp_path)
        processes.append(redis_server)
        env = {"EPOCHSCOPE_HOME": str(store_dir), "EPOCHSCOPE_REDIS_URL": url, "EPOCHSCOPE_CONFIG": config.to_json()}
        port = free_port()
        processes.append(gunicorn(port, tmp_path / "gunicorn.log", env))
        store = RunStore(store_dir)
        driver = chromium()

        worker = start_worker(tmp_path / "worker1.log", env)
        driver.get(f"http://127.0.0.1:{port}/")
        wait_until(lambda: store.has_run(config.run_id) and store.run_info(config.run_id).epochs_done >= 3, 120,
                   "three epochs", worker, tmp_path / "worker1.log")
        kill_9(worker)
        time.sleep(1)
        done = assert_whole(store, config.run_id)
        assert store.run_info(config.run_id).state == "interrupted" and done < 61
        created = store.run_info(config.run_id).created

        worker = start_worker(tmp_path / "worker2.log", env)
        driver.get(f"http://127.0.0.1:{port}/")  # the page asks again: the new worker resumes the run
        info = wait_until(lambda: store.run_info(config.run_id).state == "complete" and
                          service.count_ready(store, store.run_info(config.run_id), LayoutParams()) >= 6 and
                          store.run_info(config.run_id), 180, "the resumed run and six frames", worker,
                          tmp_path / "worker2.log")
        kill_9(worker)
        time.sleep(1)
        assert assert_whole(store, config.run_id) == 61 and info.created == created
        assert 6 <= assert_frames_whole(store, info, LayoutParams()) < 122

        worker = start_worker(tmp_path / "worker3.log", env)
        driver.get(f"http://127.0.0.1:{port}/")
        WebDriverWait(driver, 240).until(lambda d: "122/122 frames ready" in d.find_element("id", "job-message").text)
        assert assert_frames_whole(store, info, LayoutParams()) == 122
        store.close()
    finally:
        if driver is not None:
            driver.quit()
        for process in [worker, *reversed(processes)]:
            if process is not None:
                stop(process)
