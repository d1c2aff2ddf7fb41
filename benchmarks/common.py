"""What the benchmarks that serve the app share: the default run made ready, a free port, a liveness check."""

from __future__ import annotations

import logging
import socket
import urllib.request
from pathlib import Path

from frames import prepare as frames_prepare
from layout_engine.params import LayoutParams
from models.config import RunConfig
from models.data import MAX_PROBE
from models.store import RunInfo, RunStore

logger = logging.getLogger(__name__)


def scale_config(n: int | None) -> RunConfig:
    """The run a benchmark at ``n`` probe samples uses: the default run (digits, n = 1,797) for ``None``, else
    the default MLP on MNIST-1D with ``2 n`` samples, ``n`` of them probed (a stratified draw)."""
    if n is None:
        return RunConfig()
    if not 20 <= n <= MAX_PROBE:
        raise ValueError(f"n must be in 20..{MAX_PROBE}, got {n}")
    return RunConfig(dataset="mnist1d", n_samples=2 * n, probe_size=None if min(2 * n, MAX_PROBE) == n else n)


def prepare_default_run(store_dir: Path, config: RunConfig | None = None) -> tuple[RunInfo, int, list[int]]:
    """The default run (or ``config``'s) trained and laid out in ``store_dir`` (done there if missing): its
    info, the number of frames ready and its probe samples' data-set indices."""
    store = RunStore(store_dir)
    try:
        logger.info("preparing the run and its frames (trained and laid out if missing)...")
        info, ready = frames_prepare.prepare(store, config or RunConfig(), LayoutParams())
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
