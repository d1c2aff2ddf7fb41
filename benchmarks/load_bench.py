"""Many users at once: concurrent simulated users against gunicorn over real HTTP, loopback only.

    python -m benchmarks.load_bench [--store DIR] [--clients 20] [--seconds 60] [--workers 4] [--threads 4]

On the default run (trained and laid out first if the store lacks it) it starts gunicorn as the README's
production command does, then runs ``--clients`` simulated users for ``--seconds`` (and at most
``--max-requests`` requests each). A user sends what the page sends, through the same endpoints: it loads the
page (the page, its layout, the run's samples, the sequence of the layer on show and that epoch's frames);
then, with ``--think-ms`` between actions, it steps the epoch slider (70%: the new epoch's frame and the next
one ahead by ``GET /frames/...?v=<version>``, each fetched once, as the browser keeps versioned frames; then,
as the slider rests, every server callback the rested epoch feeds: inspector, analysis, neurons, beta-VAE
panel), clicks a node (20%: selection, then the inspector) or switches layers (10%: that layer's sequence,
readiness, inspector, curves, and its frames at the epoch on show), each sending every server callback the
changed value feeds, as the page does (read from the app's ``/_dash-dependencies``); the page's readiness poll
runs every 2 s. Every request's latency is recorded; an error is any status but 200 / 204 or a failed
connection. Prints a table per request kind and last
``RESULT clients=<n> requests=<n> errors=<n> p50_ms=<f> p95_ms=<f>``.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import answers, free_port, prepare_default_run
from dashboard.client import DashClient
from models.store import default_store_dir

logger = logging.getLogger("benchmarks.load_bench")
ROOT = Path(__file__).resolve().parent.parent
READINESS_POLL_S = 2.0


class User:
    """One simulated user on one run: what the page holds, and the requests its actions send."""

    def __init__(self, client: DashClient, run_id: str, n_layers: int, last_epoch: int, samples: list[int],
                 rng: random.Random, record) -> None:
        self.client, self.rng, self.record = client, rng, record
        self.run_id, self.samples, self.n_layers, self.last_epoch = run_id, samples, n_layers, last_epoch
        self.view: dict[str, Any] = {"run-picker.value": run_id, "layer-slider.value": 0, "epoch-slider.value": 0,
                     "epoch-rested.data": 0, "graph-mode.value": "knn", "method.value": "ours",
                     "map-flags.value": ["glide"], "selected.data": None, "selected-neuron.data": None,
                     "job-message.children": "ready", "map-poll.n_intervals": 0, "readiness-poll.n_intervals": 0}
        self.versions: dict[int, dict[str, str]] = {}  # per layer, each ready epoch's frame version
        self.fetched: set[tuple[int, int]] = set()  # what the browser holds (versioned frames are kept)

    def call(self, kind: str, output: str, changed: str, state: dict | None = None) -> dict | None:
        start = time.perf_counter()
        try:
            reply = self.client.post(self.client.body(output, self.view, {**self.view, **(state or {})},
                                                      changed=changed))
            ok = reply.status in (200, 204)
        except OSError:
            reply, ok = None, False
        self.record(kind, 1000 * (time.perf_counter() - start), ok)
        return reply.json() if reply is not None and ok and reply.status == 200 and reply.text else None

    def get(self, kind: str, path: str) -> None:
        start = time.perf_counter()
        try:
            with urllib.request.urlopen(self.client.base + path, timeout=self.client.timeout) as response:
                response.read()
                ok = response.status == 200
        except OSError:
            ok = False
        self.record(kind, 1000 * (time.perf_counter() - start), ok)

    def changed(self, action: str, prop: str) -> None:
        """Send what the page sends when ``prop`` changes: each server callback it feeds (the map's sequence
        as the page holds it: none yet when the run or layer changed)."""
        for output in self.client.triggered_by(prop):
            name = output.strip(".").split(".")[0]
            answer = self.call(f"{action}: {name}", output, prop, state={"sequence.data": None})
            sequence = ((answer or {}).get("response", {}).get("sequence") or {}).get("data")
            if isinstance(sequence, dict) and "frames" in sequence:
                self.versions[sequence["layer"]] = {e: f["version"] for e, f in sequence["frames"].items()}

    def frames(self, epochs: list[int]) -> None:
        """Fetch the frames of the layer on show at ``epochs`` that the browser does not hold yet."""
        layer = self.view["layer-slider.value"]
        for epoch in epochs:
            version = self.versions.get(layer, {}).get(str(epoch))
            if version is None or (layer, epoch) in self.fetched or not 0 <= epoch <= self.last_epoch:
                continue
            self.get("frame", f"/frames/{self.run_id}/{layer}/{epoch}?graph=knn&method=ours&v={version}")
            self.fetched.add((layer, epoch))

    def open_page(self) -> None:
        self.get("page", "/")
        self.get("page", "/_dash-layout")
        self.get("page: samples", f"/samples/{self.run_id}")
        self.changed("page", "run-picker.value")
        self.frames([0, 1])

    def step_epoch(self) -> None:
        step = self.rng.choice((-1, 1))
        epoch = min(max(self.view["epoch-slider.value"] + step, 0), self.last_epoch)
        self.view["epoch-slider.value"] = epoch
        self.frames([epoch, epoch + step])  # on show, and the next one ahead
        self.changed("epoch", "epoch-slider.value")
        self.view["epoch-rested.data"] = epoch  # the slider rests: the panels that read the epoch follow
        self.changed("epoch", "epoch-rested.data")

    def click(self) -> None:
        sample = self.rng.choice(self.samples)
        self.view["map.clickData"] = {"points": [{"customdata": [sample, 0, 0, 0.9, 0.1, 0]}]}
        self.changed("click", "map.clickData")
        self.view["selected.data"] = sample
        self.changed("click", "selected.data")

    def switch_layer(self) -> None:
        self.view["layer-slider.value"] = (self.view["layer-slider.value"] + 1) % self.n_layers
        self.changed("layer", "layer-slider.value")
        epoch = self.view["epoch-slider.value"]
        self.frames([epoch, epoch + 1, epoch - 1])

    def run(self, deadline: float, max_requests: int, think_s: float, count) -> None:
        self.open_page()
        next_poll = time.perf_counter() + READINESS_POLL_S
        while time.perf_counter() < deadline and count() < max_requests:
            action = self.rng.random()
            if action < 0.7:
                self.step_epoch()
            elif action < 0.9:
                self.click()
            else:
                self.switch_layer()
            if time.perf_counter() >= next_poll:
                self.view["readiness-poll.n_intervals"] += 1
                self.changed("poll", "readiness-poll.n_intervals")
                next_poll += READINESS_POLL_S
            time.sleep(think_s * self.rng.uniform(0.5, 1.5))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", default=None, help=f"store directory (default {default_store_dir()})")
    parser.add_argument("--clients", type=int, default=20, help="simulated users, 1..200 (default %(default)s)")
    parser.add_argument("--seconds", type=float, default=60, help="duration, 1..3600 s (default %(default)s)")
    parser.add_argument("--max-requests", type=int, default=20000,
                        help="requests per user at most, 1..10^6 (default %(default)s)")
    parser.add_argument("--think-ms", type=float, default=150, help="pause between a user's actions, 0..10000 ms "
                                                                    "(default %(default)s)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers, 1..64 (default %(default)s)")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker, 1..64 (default %(default)s)")
    args = parser.parse_args(argv)
    for name, lo, hi in (("clients", 1, 200), ("seconds", 1, 3600), ("max_requests", 1, 10**6),
                         ("think_ms", 0, 10000), ("workers", 1, 64), ("threads", 1, 64)):
        if not lo <= getattr(args, name) <= hi:
            parser.error(f"argument --{name.replace('_', '-')}: must be in {lo}..{hi}, got {getattr(args, name)}")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    store_dir = Path(args.store or default_store_dir())
    info, ready, samples = prepare_default_run(store_dir)

    port = free_port()
    log = tempfile.NamedTemporaryFile("w+", prefix="load_bench-gunicorn-", suffix=".log", delete=False)
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--worker-class", "epochscope.app.http_worker.Worker",
         "--workers", str(args.workers), "--threads", str(args.threads),
         "--bind", f"127.0.0.1:{port}", "--timeout", "120", "epochscope.app.wsgi:server"],
        cwd=ROOT, env={**os.environ, "EPOCHSCOPE_HOME": str(store_dir), "EPOCHSCOPE_RUN": info.run_id},
        stdout=log, stderr=subprocess.STDOUT)
    latencies: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    lock = threading.Lock()
    per_user: dict[int, int] = defaultdict(int)

    def record(kind: str, ms: float, ok: bool) -> None:
        with lock:
            latencies[kind].append(ms)
            per_user[threading.get_ident()] += 1
            if not ok:
                errors[kind] += 1

    try:
        deadline = time.time() + 90
        while not answers(f"http://127.0.0.1:{port}/_dash-layout"):
            if time.time() > deadline or server.poll() is not None:
                raise RuntimeError(f"gunicorn did not start: see {log.name}")
            time.sleep(0.3)
        client = DashClient(f"http://127.0.0.1:{port}")
        users = [User(client, info.run_id, len(info.layer_sizes), info.epochs_done - 1, samples,
                      random.Random(seed), record) for seed in range(args.clients)]
        logger.info("%d users for %.0f s against gunicorn (%d workers x %d threads)...", args.clients,
                    args.seconds, args.workers, args.threads)
        end = time.perf_counter() + args.seconds
        threads = [threading.Thread(target=u.run, args=(end, args.max_requests, args.think_ms / 1000,
                                                        lambda: per_user[threading.get_ident()]))
                   for u in users]
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(timeout=30)

    everything = [ms for values in latencies.values() for ms in values]
    n_errors = sum(errors.values())
    print(f"\nuptime: {os.popen('uptime').read().strip()}   {os.cpu_count()} cpus; n = {info.n_probe} samples, "
          f"{ready} frames; gunicorn {args.workers} workers x {args.threads} threads; think {args.think_ms:g} ms")
    print(f"{'request':<26}{'n':>7}{'errors':>8}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}")
    for kind in sorted(latencies):
        values = latencies[kind]
        print(f"{kind:<26}{len(values):>7}{errors[kind]:>8}{np.percentile(values, 50):>9.1f}"
              f"{np.percentile(values, 95):>9.1f}{max(values):>9.1f}")
    print(f"{len(everything)} requests in {elapsed:.1f} s ({len(everything) / elapsed:.0f}/s); server log {log.name}")
    print(f"RESULT clients={args.clients} requests={len(everything)} errors={n_errors} "
          f"p50_ms={np.percentile(everything, 50):.1f} p95_ms={np.percentile(everything, 95):.1f}")


if __name__ == "__main__":
    main()
