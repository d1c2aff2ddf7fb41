"""Shared fixtures: tiny seeded data, and one tiny trained run shared by the session."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import multiprocess
import numpy as np
import psutil
import pytest
from selenium.webdriver.chrome.options import Options

from models.config import RunConfig
from models.store import RunStore
from models.train import train

#: small enough to train in about a second, big enough that layouts mean something
TINY = RunConfig(hidden=(24, 12), epochs=3, lr=0.01, probe_size=240, seed=1)


@pytest.fixture(autouse=True)
def _jobs_end_with_their_test() -> Iterator[None]:
    """Background jobs a test's server started (spawned processes, with their own workers) are stopped when the
    test ends, so that a long run it trained does not go on training and laying out beside the tests after it."""
    before = {p.pid for p in multiprocess.active_children()}
    yield
    for job in multiprocess.active_children():
        if job.pid in before:
            continue
        try:
            tree = [*psutil.Process(job.pid).children(recursive=True), psutil.Process(job.pid)]
        except psutil.NoSuchProcess:
            continue
        for process in tree:
            try:
                process.kill()
            except psutil.NoSuchProcess:
                pass
        psutil.wait_procs(tree, timeout=10)


@pytest.fixture(scope="session")
def tiny_config() -> RunConfig:
    return TINY


@pytest.fixture(scope="session")
def trained_store_dir(tmp_path_factory) -> str:
    """A store directory holding the finished run of :data:`TINY` (no frames laid out)."""
    path = tmp_path_factory.mktemp("store")
    store = RunStore(path)
    train(TINY, store)
    store.close()
    return str(path)


@pytest.fixture()
def store_copy(trained_store_dir, tmp_path) -> Iterator[RunStore]:
    """A private copy of the trained store, for tests that write to it."""
    path = tmp_path / "store"
    shutil.copytree(trained_store_dir, path)
    store = RunStore(path)
    yield store
    store.close()


@pytest.fixture()
def blobs() -> tuple[np.ndarray, np.ndarray]:
    """Three well-separated Gaussian blobs in 10-D, 60 points each, and their labels."""
    rng = np.random.default_rng(0)
    centres = rng.normal(scale=10.0, size=(3, 10))
    labels = np.repeat(np.arange(3), 60)
    return (centres[labels] + rng.normal(size=(180, 10))).astype(np.float32), labels


def pytest_setup_options():
    """Chromium for dash.testing: Debian's build, headless, no network chatter."""
    options = Options()
    options.binary_location = os.environ.get("DASH_TEST_CHROMEPATH", "/usr/bin/chromium")
    for arg in ("--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1366,768"):
        options.add_argument(arg)
    return options
