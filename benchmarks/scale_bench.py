"""The engine at real sizes: MNIST-1D runs with n = 2,000, 10,000 and 50,000 probe samples against umap-learn.

    python -m benchmarks.scale_bench [--store DIR] [--sizes 2000,10000,50000] [--epochs 6] [--layer 1] [--full]

For each n, on the default MLP trained on MNIST-1D with 2n samples, n of them probed
(:func:`benchmarks.common.scale_config`; trained first if the store lacks it), it lays out ``--epochs`` epochs of
one layer as the page does (one chain, warm-started, guarded) with a fresh seed (nothing cached) and reports:
seconds per frame (the first, cold, and the warm ones), the approximate kNN index's recall against brute force
and both one's times, trustworthiness (k = 15, on a seeded 2,000-sample subset) of our last frame and of
umap-learn's ``UMAP(n_neighbors=15)`` (unseeded, so on every core) on the same activations, after one small fit
that pays its compilation, UMAP's seconds, and the bytes the page fetches
per epoch (``GET /frames/...``). ``--full`` also lays out the whole run at the largest n (every layer, every
epoch: 4 x 31 frames), timed, as the page's job does. Prints tables; last line
``RESULT n=<sizes> s_per_frame=<...> umap_s=<...> recall=<...> trust=<...> umap_trust=<...> epoch_bytes=<...>
[full_run_s=<f>]`` (values per size, comma-separated).
"""

from __future__ import annotations

import argparse
import logging
import os
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import orjson

from benchmarks.common import scale_config
from dashboard import service
from frames import chains as frames_chains
from frames import compute as frames_compute
from frames import prepare as frames_prepare
from layout_engine.graph import nearest_neighbours
from layout_engine.metrics import neighbour_recall, trustworthiness
from layout_engine.params import LayoutParams
from models.data import MAX_PROBE
from models.store import RunStore, default_store_dir

logger = logging.getLogger("benchmarks.scale_bench")
#: trustworthiness is estimated on a seeded subset of this many samples (exact: O(n^2))
TRUST_POINTS = 2000


def sampled_trust(X: np.ndarray, layout: np.ndarray) -> float:
    subset = np.sort(np.random.default_rng(0).choice(len(X), size=min(len(X), TRUST_POINTS), replace=False))
    return trustworthiness(X[subset], layout[subset], n_neighbors=15)


def umap_layout(X: np.ndarray) -> tuple[np.ndarray, float]:
    import umap  # costly import: only here

    start = time.perf_counter()
    # unseeded: a seed makes umap-learn run on one thread, and our engine uses every core
    layout = umap.UMAP(n_neighbors=15).fit_transform(X)
    return layout, time.perf_counter() - start


def measure_size(store: RunStore, n: int, epochs: int, layer: int, params: LayoutParams) -> dict:
    info = frames_prepare.ensure_run(store, scale_config(n))
    epochs = min(epochs, info.epochs_done)
    info = replace(info, epochs_done=epochs)  # the first ``epochs`` epochs of the run
    times, last = [], time.perf_counter()
    for _ in frames_chains.lay_out_chain(store, info, params, layer):
        now = time.perf_counter()
        times.append(now - last)
        last = now
    X = store.activations(info.run_id, epochs - 1, layer)
    view = service.frame_view(store, info.run_id, layer, epochs - 1, params)
    if view is None:
        raise RuntimeError(f"layer {layer}, epoch {epochs - 1} is not laid out")
    ours = view.coords
    start = time.perf_counter()
    approx, _ = nearest_neighbours(X, 15, approximate=True)
    approx_s = time.perf_counter() - start
    start = time.perf_counter()
    exact, _ = nearest_neighbours(X, 15, approximate=False)
    exact_s = time.perf_counter() - start
    theirs, umap_s = umap_layout(X)
    frame = service.frame_arrays(store, info.run_id, layer, epochs - 1, params)
    return {"n": len(X), "cold_s": times[0], "warm_s": float(np.mean(times[1:])) if len(times) > 1 else float("nan"),
            "recall": neighbour_recall(approx, exact), "approx_s": approx_s, "exact_s": exact_s,
            "trust": sampled_trust(X, ours), "umap_trust": sampled_trust(X, theirs), "umap_s": umap_s,
            "epoch_bytes": len(orjson.dumps(frame))}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", default=None, help=f"store directory (default {default_store_dir()})")
    parser.add_argument("--sizes", default="2000,10000,50000", help="probe sizes, each 20..50000 (default %(default)s)")
    parser.add_argument("--epochs", type=int, default=6, help="epochs laid out per size, 2..31 (default %(default)s)")
    parser.add_argument("--layer", type=int, default=1, help="hidden layer, 0..3 (default %(default)s: h2, 128 units)")
    parser.add_argument("--seed", type=int, default=1,
                        help="layout seed: a new one lays out afresh (default %(default)s)")
    parser.add_argument("--full", action="store_true", help="also lay out the whole run at the largest size, timed")
    args = parser.parse_args(argv)
    try:
        sizes = [int(s) for s in args.sizes.split(",")]
    except ValueError:
        parser.error(f"argument --sizes: comma-separated whole numbers, got {args.sizes!r}")
    if not all(20 <= n <= MAX_PROBE for n in sizes):
        parser.error(f"argument --sizes: each must be in 20..{MAX_PROBE}, got {args.sizes}")
    if not 2 <= args.epochs <= 31 or not 0 <= args.layer <= 3:
        parser.error("argument --epochs must be in 2..31 and --layer in 0..3")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    params = LayoutParams(random_state=args.seed)
    store = RunStore(Path(args.store or default_store_dir()))
    try:
        umap_layout(np.random.default_rng(0).random((300, 8)))  # umap-learn's first fit compiles (~20 s)
        rows = []
        for n in sizes:
            logger.info("n = %d: training if needed, laying out %d epochs, UMAP...", n, args.epochs)
            rows.append(measure_size(store, n, args.epochs, args.layer, params))
        full_s = None
        if args.full:
            info = frames_prepare.ensure_run(store, scale_config(max(sizes)))
            logger.info("the whole run at n = %d: %d frames...", max(sizes), len(info.layer_sizes) * info.epochs_done)
            start = time.perf_counter()
            frames_compute.compute_frames(store, info, replace(params, random_state=args.seed + 1))
            full_s = time.perf_counter() - start
    finally:
        store.close()
    print(f"\nuptime: {os.popen('uptime').read().strip()}   layer {args.layer}, {args.epochs} epochs per size")
    print(f"{'n':>7}{'cold s':>8}{'warm s':>8}{'UMAP s':>8}{'speed-up':>9}{'recall':>8}{'approx s':>9}"
          f"{'exact s':>8}{'trust':>7}{'UMAP tr':>8}{'kB/epoch':>9}")
    for r in rows:
        print(f"{r['n']:>7}{r['cold_s']:>8.2f}{r['warm_s']:>8.2f}{r['umap_s']:>8.1f}{r['umap_s'] / r['warm_s']:>9.1f}"
              f"{r['recall']:>8.4f}{r['approx_s']:>9.2f}{r['exact_s']:>8.2f}{r['trust']:>7.4f}{r['umap_trust']:>8.4f}"
              f"{r['epoch_bytes'] / 1e3:>9.0f}")
    if full_s is not None:
        print(f"whole run at n = {max(sizes)}: {full_s:.0f} s ({full_s / 60:.1f} min)")

    def joined(key: str, fmt: str) -> str:
        return ",".join(format(r[key], fmt) for r in rows)

    print(f"RESULT n={joined('n', 'd')} s_per_frame={joined('warm_s', '.2f')} umap_s={joined('umap_s', '.1f')} "
          f"recall={joined('recall', '.4f')} trust={joined('trust', '.4f')} umap_trust={joined('umap_trust', '.4f')} "
          f"epoch_bytes={joined('epoch_bytes', 'd')}" + (f" full_run_s={full_s:.0f}" if full_s is not None else ""))


if __name__ == "__main__":
    main()
