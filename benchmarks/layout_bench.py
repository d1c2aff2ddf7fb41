"""Layout speed and faithfulness: EpochScope's engine against umap-learn on the default run's frames.

    python -m benchmarks.layout_bench [--store DIR] [--epochs 1,10,20,30] [--layers all]

Trains the default run into the store if it is missing. For each chosen (layer, epoch) frame, interleaved so
both see the same machine load, it times:

- ours, cold: kNN graph + spectral start + force layout, from scratch;
- ours, in sequence: the same frame as the dashboard computes it, warm-started from the previous epoch
  (the whole layer sequence 0..epoch is laid out once; the per-frame time is its mean);
- umap-learn ``UMAP(n_neighbors=15)``, default settings, all threads.

Prints a table and, last, ``RESULT speedup_vs_umap=<f> trust_min=<f> frames=<n>`` where the speedup is
median UMAP seconds / median ours-cold seconds and trust_min is our lowest trustworthiness (k=15, cold and
in sequence) over the frames.
"""

from __future__ import annotations

import argparse
import logging
import os
import time
import warnings

import numpy as np

from layout_engine.metrics import trustworthiness
from layout_engine.pipeline import LayoutParams, layout_frame, layout_sequence
from models.config import RunConfig
from models.store import RunStore, default_store_dir
from models.train import train

logger = logging.getLogger("benchmarks.layout_bench")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", default=None, help=f"store directory (default {default_store_dir()})")
    parser.add_argument("--epochs", default="1,10,20,30", help="comma-separated epochs, or 'all'")
    parser.add_argument("--layers", default="all", help="comma-separated hidden layer indices (0-based), or 'all'")
    return parser.parse_args(argv)


def pick(spec: str, available: int, name: str) -> list[int]:
    if spec == "all":
        return list(range(available))
    values = sorted({int(v) for v in spec.split(",")})
    if values[0] < 0 or values[-1] >= available:
        raise SystemExit(f"--{name} must be within 0..{available - 1}, got {spec}")
    return values


def umap_layout(X: np.ndarray) -> np.ndarray:
    import umap  # imported here: costly, and only the benchmark needs it

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return umap.UMAP(n_neighbors=15).fit_transform(X)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    store = RunStore(args.store or default_store_dir())
    config = RunConfig()
    if not (store.has_run(config.run_id) and store.run_info(config.run_id).state == "complete"):
        logger.info("training the default run %s", config.run_id)
        train(config, store)
    info = store.run_info(config.run_id)
    layers = pick(args.layers, len(info.layer_sizes), "layers")
    epochs = pick(args.epochs, info.epochs_done, "epochs")
    params = LayoutParams()
    acts = {(layer, e): store.epoch(config.run_id, e).activations[layer]
            for layer in layers for e in range(max(epochs) + 1)}

    t0 = time.perf_counter()
    layout_frame(acts[(layers[0], 0)][:200], params)
    ours_warmup = time.perf_counter() - t0
    t0 = time.perf_counter()
    umap_layout(acts[(layers[0], 0)][:200])
    umap_warmup = time.perf_counter() - t0

    # in-sequence times: the dashboard's path, each epoch warm-started from the previous one
    seq_time, seq_coords = {}, {}
    for layer in layers:
        t0 = time.perf_counter()
        frames = list(layout_sequence([acts[(layer, e)] for e in range(max(epochs) + 1)], params))
        per_frame = (time.perf_counter() - t0) / len(frames)
        for e in epochs:
            seq_time[(layer, e)], seq_coords[(layer, e)] = per_frame, frames[e].raw

    rows = []
    for layer in layers:
        for e in epochs:
            X = acts[(layer, e)]
            t0 = time.perf_counter()
            ours = layout_frame(X, params)
            t_ours = time.perf_counter() - t0
            t0 = time.perf_counter()
            theirs = umap_layout(X)
            t_umap = time.perf_counter() - t0
            rows.append(dict(layer=f"h{layer + 1}", epoch=e, n=len(X), t_ours=t_ours, t_seq=seq_time[(layer, e)],
                             t_umap=t_umap, tr_ours=trustworthiness(X, ours),
                             tr_seq=trustworthiness(X, seq_coords[(layer, e)]), tr_umap=trustworthiness(X, theirs)))
            logger.info("  %s epoch %2d done", rows[-1]["layer"], e)

    print(f"\nuptime: {os.popen('uptime').read().strip()}")
    print(f"one-off compile / warm-up: ours {ours_warmup:.2f} s, umap-learn {umap_warmup:.2f} s (200 points)\n")
    header = (f"{'layer':<6}{'epoch':>6}{'n':>6} | {'ours s':>8}{'seq s':>8}{'umap s':>8}{'ratio':>8} | "
              f"{'T ours':>8}{'T seq':>8}{'T umap':>8}")
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r['layer']:<6}{r['epoch']:>6}{r['n']:>6} | {r['t_ours']:>8.3f}{r['t_seq']:>8.3f}{r['t_umap']:>8.3f}"
              f"{r['t_umap'] / r['t_ours']:>8.1f} | {r['tr_ours']:>8.4f}{r['tr_seq']:>8.4f}{r['tr_umap']:>8.4f}")
    med = {k: float(np.median([r[k] for r in rows])) for k in ("t_ours", "t_seq", "t_umap", "tr_ours", "tr_seq",
                                                                "tr_umap")}
    print("-" * len(header))
    print(f"{'median':<18} | {med['t_ours']:>8.3f}{med['t_seq']:>8.3f}{med['t_umap']:>8.3f}"
          f"{med['t_umap'] / med['t_ours']:>8.1f} | {med['tr_ours']:>8.4f}{med['tr_seq']:>8.4f}{med['tr_umap']:>8.4f}")
    print(f"\nratio = umap s / ours s (cold). seq = per frame inside the warm-started epoch sequence "
          f"(speedup vs umap {med['t_umap'] / med['t_seq']:.1f}x). T = trustworthiness, k = 15.")
    trust_min = min(min(r["tr_ours"], r["tr_seq"]) for r in rows)
    print(f"RESULT speedup_vs_umap={med['t_umap'] / med['t_ours']:.2f} trust_min={trust_min:.4f} frames={len(rows)}")
    store.close()


if __name__ == "__main__":
    main()
