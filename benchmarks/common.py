"""What the benchmarks that serve the app share: the default run made ready, a free port, a liveness check."""

from __future__ import annotations

import logging
import socket
import urllib.request
from pathlib import Path

from dashboard import service
from layout_engine.pipeline import LayoutParams
from models.config import RunConfig
from models.store import RunInfo, RunStore

logger = logging.getLogger(__name__)


def prepare_default_run(store_dir: Path) -> tuple[RunInfo, int, list[int]]:
    """The default run trained and laid out in ``store_dir`` (done there if missing): its info, the number of
    frames ready and its probe samples' data-set indices."""
    store = RunStore(store_dir)
    try:
        logger.info("preparing the default run and its frames (trained and laid out if missing)...")
        info, ready = service.prepare(store, RunConfig(), LayoutParams())
        return info, ready, store.probe(info.run_id)["index"].tolist()
    finally:
        store.close()


def free_port() -> int:
    """A loopback port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answers(url: str) -> bool:
    """Whether ``url`` answers 200 within 2 s."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False
