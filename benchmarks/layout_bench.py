"""Layout speed, faithfulness and steadiness: EpochScope's engine against umap-learn and openTSNE.

    python -m benchmarks.layout_bench [--store DIR] [--aligned-layer 1] [--sample-epochs 1,10,20,30]
                                      [--skip-aligned] [--skip-scale] [--params JSON]

On the default run (MLP 64-128-64-32-10 on digits, all 1,797 samples probed, epochs 0..30), trained into the
store if missing:

1. ours: every hidden layer's whole epoch sequence, each epoch warm-started from the previous one, as the
   dashboard computes it; per-frame time, trustworthiness (k = 15) of every frame from epoch 1 on, and
   frame-to-frame displacement (frame t+1 Procrustes-aligned to frame t, over the layout's RMS radius);
2. AlignedUMAP on one layer's whole sequence (the same frames): total time and displacement;
3. per frame, on sampled epochs of every layer, interleaved so all see the same load: ours (warm-started
   steps timed again on the spot, per frame over a window of :data:`WINDOW` epochs ending at the sampled one),
   ``UMAP(n_neighbors=15)`` with default settings and with ``force_approximation_algorithm=True`` (all
   threads), and openTSNE (all threads);
4. scale: 10,000 samples (the digits inputs and jittered copies, run through the trained network, layer h2)
   and its first 2,000, from scratch, against UMAP's default on the 10,000;
5. start-up: the first frame in a fresh process with the numba cache warm against a later frame, and the
   one-off compile time in a fresh process with an empty cache;
6. warm against cold: on several data sets (wine, its shuffled-label control, breast cancer, iris, moons, and
   the default run on digits), every warm-started frame of every layer against a cold layout of the same frame
   (trustworthiness k = 15 on all samples), with the guard (``LayoutParams.guard``) and without.

Prints tables, the machine's load, and last the ``RESULT ...`` line.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from frames import prepare as frames_prepare
from layout_engine.baselines import aligned_umap_layouts, tsne_layout, umap_layout
from layout_engine.metrics import displacement, trustworthiness
from layout_engine.params import LayoutParams
from layout_engine.pipeline import layout_frame, next_frame
from models.config import RunConfig
from models.data import load_dataset
from models.store import RunStore, default_store_dir
from models.train import load_model, train

logger = logging.getLogger("benchmarks.layout_bench")
ROOT = Path(__file__).resolve().parent.parent


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", default=None, help=f"store directory (default {default_store_dir()})")
    parser.add_argument("--aligned-layer", type=int, default=1, help="hidden layer (0-based) for AlignedUMAP")
    parser.add_argument("--sample-epochs", default="1,10,20,30", help="epochs timed per frame against the tools")
    parser.add_argument("--skip-aligned", action="store_true", help="skip AlignedUMAP (about 6 minutes)")
    parser.add_argument("--skip-scale", action="store_true", help="skip the 10,000-sample frame")
    parser.add_argument("--skip-warm", action="store_true", help="skip warm against cold on several data sets")
    parser.add_argument("--params", default="{}",
                        help='layout parameters as JSON, e.g. \'{"negative_sample_rate": 10}\' (default: defaults)')
    args = parser.parse_args(argv)
    try:
        args.params = LayoutParams(**json.loads(args.params))
    except (ValueError, TypeError) as exc:
        parser.error(f"--params: {exc}")
    return args


def timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def sequence(frames: list[np.ndarray], params: LayoutParams) -> tuple[list, list[float], list]:
    """Our whole sequence: frames, per-frame seconds, and each frame's kNN graph."""
    out, seconds, graphs = [], [], []
    previous, graph = None, None
    for X in frames:
        t0 = time.perf_counter()
        previous, graph = next_frame(X, params, previous, previous_graph=graph)
        seconds.append(time.perf_counter() - t0)
        out.append(previous)
        graphs.append(graph)
    return out, seconds, graphs


#: section 3 times our frames over a window of this many epochs ending at the sampled one, from the sequence's
#: state before it: a frame's cost varies with its neighbour churn (the warm schedule's iterations) and with the
#: guard's restarts, so one step alone is a noisy sample of what a sequence costs per frame
WINDOW = 4


def window_seconds(frames: list[np.ndarray], ours: dict, epoch: int, params: LayoutParams) -> float:
    """Seconds per frame to lay out epochs ``epoch - WINDOW + 1 .. epoch`` of a sequence (fewer at its start),
    continuing from the frame before them as the whole sequence did."""
    start = max(1, epoch - WINDOW + 1)
    previous, graph = ours["frames"][start - 1], ours["graphs"][start - 1]
    t0 = time.perf_counter()
    for X in frames[start:epoch + 1]:
        previous, graph = next_frame(X, params, previous, previous_graph=graph)
    return (time.perf_counter() - t0) / (epoch + 1 - start)


def startup_times() -> dict[str, float]:
    """First frame vs a later one in fresh processes: numba cache warm, and with an empty cache.

    The warm measurement runs after a process of its own has filled the project's numba cache: on a fresh
    install nothing has compiled before this runs, and the "warm" process then paid the compile (first-frame
    ratio 4.64 reported; 1.8-2.7 once the cache is warm, the rest being numba's own start-up on its first call).
    """
    code = ("import time, json, numpy as np\n"
            "t0 = time.perf_counter()\n"
            "from layout_engine.pipeline import layout_frame\n"
            "X = np.random.default_rng(0).normal(size=(1797, 64)).astype(np.float32)\n"
            "t1 = time.perf_counter(); layout_frame(X); t2 = time.perf_counter(); layout_frame(X + 0.01)\n"
            "t3 = time.perf_counter()\n"
            "print(json.dumps({'import': t1 - t0, 'first': t2 - t1, 'later': t3 - t2}))\n")
    run = lambda: subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,  # noqa: E731
                                 check=True)
    run()  # fills the numba cache, if empty
    warm = json.loads(run().stdout.splitlines()[-1])
    with tempfile.TemporaryDirectory() as cache:
        cold = json.loads(subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                                         check=True, env={**os.environ, "NUMBA_CACHE_DIR": cache}
                                         ).stdout.splitlines()[-1])
    return {"first": warm["first"], "later": warm["later"], "compile": cold["first"] - cold["later"]}


#: section 6: small networks on other data sets, beside the default run on digits
WARM_SETS = {"wine": RunConfig(dataset="wine", hidden=(64, 32)),
             "wine shuffled": RunConfig(dataset="wine", hidden=(64, 32), scramble="labels", scramble_fraction=1.0),
             "breast cancer": RunConfig(dataset="breast_cancer", hidden=(64, 32)),
             "iris": RunConfig(dataset="iris", hidden=(32, 16)),
             "moons": RunConfig(dataset="moons", hidden=(32, 16), n_samples=600, noise=0.2)}


def warm_gaps(frames: list[np.ndarray], params: LayoutParams, warm: list | None = None) -> dict[str, float]:
    """Per warm frame (epoch >= 1) of one layer, cold trustworthiness minus warm (k = 15, all samples): the worst,
    the median, how many exceed 0.003, and the frames the guard restarted; ``warm`` reuses a laid-out sequence."""
    warm = warm if warm is not None else sequence(frames, params)[0]
    gaps = [trustworthiness(X, layout_frame(X, params)) - trustworthiness(X, f.raw)
            for X, f in zip(frames[1:], warm[1:])]
    return {"max": float(np.max(gaps)), "median": float(np.median(gaps)), "over": int(np.sum(np.array(gaps) > 0.003)),
            "frames": len(gaps), "restarted": sum(f.restarted for f in warm[1:])}


def warm_against_cold(store: RunStore, params: LayoutParams, default_acts: list, default_ours: list) -> list[dict]:
    """Section 6: rows of (data set, layer, guard on / off) with :func:`warm_gaps`."""
    rows = []
    unguarded = replace(params, guard=None)
    for name, config in WARM_SETS.items():
        if not frames_prepare.run_ready(store, config.run_id):
            train(config, store)
        n_layers = len(config.hidden)
        frames = [[store.activations(config.run_id, e, layer) for e in range(config.epochs + 1)]
                  for layer in range(n_layers)]
        for layer in range(n_layers):
            for label, p in (("on", params), ("off", unguarded)):
                rows.append(dict(data=name, layer=f"h{layer + 1}", guard=label, **warm_gaps(frames[layer], p)))
        logger.info("  warm against cold: %s done", name)
    for layer, frames in enumerate(default_acts):
        rows.append(dict(data="digits", layer=f"h{layer + 1}", guard="on",
                         **warm_gaps(frames, params, default_ours[layer]["frames"])))
        rows.append(dict(data="digits", layer=f"h{layer + 1}", guard="off", **warm_gaps(frames, unguarded)))
        logger.info("  warm against cold: digits h%d done", layer + 1)
    return rows


def scale_frames(store: RunStore, run_id: str, n: int = 10_000, layer: int = 1) -> np.ndarray:
    """``n`` samples through the trained network: the digits inputs, then jittered copies (noise 0.05)."""
    data = load_dataset("digits")
    rng = np.random.default_rng(0)
    copies = [data.X] + [np.clip(data.X + rng.normal(scale=0.05, size=data.X.shape), 0, 1)
                         for _ in range(n // len(data.X) + 1)]
    X = np.vstack(copies)[:n].astype(np.float32)
    with torch.no_grad():
        _, activations = load_model(store, run_id)(torch.from_numpy(X))
    return activations[layer].numpy()


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    store = RunStore(args.store or default_store_dir())
    config = RunConfig()
    frames_prepare.ensure_run(store, config)  # trains the default run when the store lacks it
    try:
        store.checkpoint(config.run_id)
    except KeyError:  # recorded by an earlier version without checkpoints
        train(config, store)
    info = store.run_info(config.run_id)
    n_layers, n_epochs = len(info.layer_sizes), info.epochs_done
    sample_epochs = [int(e) for e in args.sample_epochs.split(",")]
    params = args.params
    logger.info("layout parameters: %s", params)
    acts = [[store.epoch(config.run_id, e).activations[layer] for e in range(n_epochs)] for layer in range(n_layers)]

    startup = startup_times()
    logger.info("start-up: %s", startup)
    umap_layout(acts[0][0][:300])  # one-off numba compilation of umap-learn and pynndescent, not counted below
    umap_layout(acts[0][0][:300], fast=True)
    tsne_layout(acts[0][0][:300])

    # 1. our sequences
    ours = []
    for layer in range(n_layers):
        frames, seconds, graphs = sequence(acts[layer], params)
        trust = [trustworthiness(acts[layer][e], frames[e].raw) for e in range(1, n_epochs)]
        disp = [displacement(frames[e + 1].raw, frames[e].raw) for e in range(n_epochs - 1)]
        ours.append(dict(frames=frames, graphs=graphs, seconds=seconds, trust=trust, disp=disp))
        logger.info("ours h%d: %.2f s for %d frames", layer + 1, sum(seconds), n_epochs)

    # 2. AlignedUMAP on one layer's sequence
    aligned = None
    if not args.skip_aligned:
        layer = args.aligned_layer
        logger.info("AlignedUMAP on h%d, %d frames (minutes)...", layer + 1, n_epochs)
        embeddings, t_aligned = timed(aligned_umap_layouts, acts[layer])
        _, t_ours_again = timed(sequence, acts[layer], params)
        aligned = dict(layer=layer, seconds=t_aligned, ours_seconds=t_ours_again,
                       disp=[displacement(embeddings[e + 1], embeddings[e]) for e in range(n_epochs - 1)],
                       trust=[trustworthiness(acts[layer][e], embeddings[e]) for e in range(1, n_epochs, 5)])

    # 3. per frame against the tools, interleaved
    rows = []
    for layer in range(n_layers):
        for e in sample_epochs:
            X = acts[layer][e]
            t_ours = window_seconds(acts[layer], ours[layer], e, params)
            emb_default, t_default = timed(umap_layout, X)
            emb_fast, t_fast = timed(umap_layout, X, fast=True)
            emb_tsne, t_tsne = timed(tsne_layout, X)
            rows.append(dict(layer=f"h{layer + 1}", epoch=e, t_ours=t_ours, t_default=t_default, t_fast=t_fast,
                             t_tsne=t_tsne, tr_ours=ours[layer]["trust"][e - 1],
                             tr_default=trustworthiness(X, emb_default), tr_fast=trustworthiness(X, emb_fast),
                             tr_tsne=trustworthiness(X, emb_tsne)))
            logger.info("  frame h%d epoch %d done", layer + 1, e)

    # 4. scale
    scale = None
    if not args.skip_scale:
        big = scale_frames(store, config.run_id)
        coords_10k, t_10k = timed(layout_frame, big, params)
        _, t_2k = timed(layout_frame, big[:2000], params)
        umap_10k, t_umap_10k = timed(umap_layout, big)
        scale = dict(t_10k=t_10k, t_2k=t_2k, t_umap=t_umap_10k, tr_ours=trustworthiness(big, coords_10k),
                     tr_umap=trustworthiness(big, umap_10k))

    # 6. warm against cold
    warm = None if args.skip_warm else warm_against_cold(store, params, acts, ours)

    report(ours, aligned, rows, scale, startup, n_epochs, warm)
    store.close()


def report(ours, aligned, rows, scale, startup, n_epochs, warm) -> None:
    med = lambda xs: float(np.median(xs))  # noqa: E731
    print(f"\nuptime: {os.popen('uptime').read().strip()}   threads: {torch.get_num_threads()} (torch), "
          f"{os.cpu_count()} cpus")
    print(f"\n1. ours, whole sequences (epochs 0..{n_epochs - 1}, warm-started)")
    print(f"{'layer':<6}{'seq s':>8}{'frame s':>9}{'T min':>8}{'T med':>8}{'disp med':>10}")
    for i, o in enumerate(ours):
        print(f"h{i + 1:<5}{sum(o['seconds']):>8.2f}{med(o['seconds']):>9.3f}{min(o['trust']):>8.4f}"
              f"{med(o['trust']):>8.4f}{med(o['disp']):>10.4f}")
    all_trust = [t for o in ours for t in o["trust"]]
    print(f"{'all':<6}{'':>8}{med([s for o in ours for s in o['seconds']]):>9.3f}{min(all_trust):>8.4f}"
          f"{med(all_trust):>8.4f}{med([d for o in ours for d in o['disp']]):>10.4f}")

    seq_speedup = disp_ratio = float("nan")
    if aligned is not None:
        o = ours[aligned["layer"]]
        seq_speedup = aligned["seconds"] / aligned["ours_seconds"]
        disp_ratio = med(o["disp"]) / med(aligned["disp"])
        print(f"\n2. whole sequence of h{aligned['layer'] + 1} ({n_epochs} frames)")
        print(f"{'tool':<14}{'seconds':>9}{'disp med':>10}{'T med':>8}")
        print(f"{'ours':<14}{aligned['ours_seconds']:>9.2f}{med(o['disp']):>10.4f}{med(o['trust']):>8.4f}")
        print(f"{'AlignedUMAP':<14}{aligned['seconds']:>9.2f}{med(aligned['disp']):>10.4f}{med(aligned['trust']):>8.4f}")
        print(f"ours is {seq_speedup:.1f}x faster; displacement ratio ours / AlignedUMAP {disp_ratio:.2f}")

    print("\n3. per frame (seconds; T = trustworthiness, k = 15)")
    print(f"{'layer':<6}{'epoch':>6} | {'ours':>7}{'umap':>7}{'u-fast':>7}{'tsne':>7} | "
          f"{'T ours':>7}{'T umap':>7}{'T fast':>7}{'T tsne':>7}")
    for r in rows:
        print(f"{r['layer']:<6}{r['epoch']:>6} | {r['t_ours']:>7.3f}{r['t_default']:>7.2f}{r['t_fast']:>7.2f}"
              f"{r['t_tsne']:>7.2f} | {r['tr_ours']:>7.4f}{r['tr_default']:>7.4f}{r['tr_fast']:>7.4f}"
              f"{r['tr_tsne']:>7.4f}")
    m = {k: med([r[k] for r in rows]) for k in rows[0] if k.startswith(("t_", "tr_"))}
    print(f"{'median':<12} | {m['t_ours']:>7.3f}{m['t_default']:>7.2f}{m['t_fast']:>7.2f}{m['t_tsne']:>7.2f} | "
          f"{m['tr_ours']:>7.4f}{m['tr_default']:>7.4f}{m['tr_fast']:>7.4f}{m['tr_tsne']:>7.4f}")
    speed_fast, speed_default = m["t_fast"] / m["t_ours"], m["t_default"] / m["t_ours"]
    print(f"ours is {speed_fast:.1f}x faster than UMAP fast, {speed_default:.1f}x than UMAP default, "
          f"{m['t_tsne'] / m['t_ours']:.1f}x than openTSNE")

    speedup_10k = growth = float("nan")
    if scale is not None:
        speedup_10k, growth = scale["t_umap"] / scale["t_10k"], scale["t_10k"] / scale["t_2k"]
        print("\n4. scale (from scratch)")
        print(f"ours 2k {scale['t_2k']:.2f} s, 10k {scale['t_10k']:.2f} s (T {scale['tr_ours']:.4f}); "
              f"UMAP default 10k {scale['t_umap']:.2f} s (T {scale['tr_umap']:.4f}); "
              f"speedup {speedup_10k:.1f}x, growth 2k->10k {growth:.2f}")

    first_ratio = startup["first"] / startup["later"]
    print(f"\n5. start-up: first frame in a fresh process {startup['first']:.3f} s, later {startup['later']:.3f} s "
          f"(ratio {first_ratio:.2f}); one-off numba compile with an empty cache {startup['compile']:.1f} s")
    gap_on = gap_off = float("nan")
    if warm:
        print("\n6. warm against cold: trustworthiness of a cold layout of the same frame minus the warm one's "
              "(all samples, k = 15)")
        print(f"{'data':<15}{'layer':<6}{'guard':<6}{'frames':>7}{'max':>8}{'median':>8}{'> 0.003':>8}"
              f"{'restarted':>10}")
        for r in warm:
            print(f"{r['data']:<15}{r['layer']:<6}{r['guard']:<6}{r['frames']:>7}{r['max']:>8.4f}{r['median']:>8.4f}"
                  f"{r['over']:>8}{r['restarted']:>10}")
        gap_on = max(r["max"] for r in warm if r["guard"] == "on")
        gap_off = max(r["max"] for r in warm if r["guard"] == "off")
        print(f"worst frame: {gap_on:.4f} with the guard, {gap_off:.4f} without")
    print(f"RESULT seq_speedup_vs_aligned_umap={seq_speedup:.2f} frame_speedup_vs_umap_fast={speed_fast:.2f} "
          f"frame_speedup_vs_umap_default={speed_default:.2f} trust_min={min(all_trust):.4f} "
          f"trust_median={med(all_trust):.4f} disp_ratio_vs_aligned_umap={disp_ratio:.2f} "
          f"speedup_10k_vs_umap={speedup_10k:.2f} growth_2k_10k={growth:.2f} first_frame_ratio={first_ratio:.2f} "
          f"warm_gap_max={gap_on:.4f} warm_gap_max_unguarded={gap_off:.4f}")


if __name__ == "__main__":
    main()
