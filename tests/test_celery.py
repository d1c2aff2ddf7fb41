"""Background jobs on a Celery worker over a real Redis: the page, served by gunicorn, trains a run and lays
out its frames through the worker, and the results land in the shared store."""

import sys

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


def test_training_and_frames_run_on_a_celery_worker_over_redis(tmp_path):
    config = RunConfig(hidden=(16, 8), epochs=3, probe_size=150, seed=3)
    store_dir = tmp_path / "store"
    redis_port, port = free_port(), free_port()
    url = f"redis://127.0.0.1:{redis_port}/0"
    env = {"EPOCHSCOPE_HOME": str(store_dir), "EPOCHSCOPE_REDIS_URL": url, "EPOCHSCOPE_CONFIG": config.to_json()}
    processes, driver = [], None
    try:
        processes.append(start(["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no"], tmp_path / "redis.log"))
        wait_until(lambda: redis_answers(url), 30, "redis-server", processes[-1], tmp_path / "redis.log")
        worker_log = tmp_path / "worker.log"
        processes.append(start([sys.executable, "-m", "celery", "--app", "dashboard.worker:celery_app", "worker",
                                "--loglevel", "INFO", "--concurrency", "1", "--hostname", "test@%h"], worker_log, env))
        wait_until(lambda: " ready." in worker_log.read_text(), 90, "the Celery worker", processes[-1], worker_log)
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
