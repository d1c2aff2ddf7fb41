"""Motion is data: EpochScope's engine against AlignedUMAP on the measures of a faithful animation.

    python -m benchmarks.motion_bench [--store DIR] [--layer 2] [--epochs 10] [--skip-aligned]

On the default run (digits, trained into the store if missing), one layer's first ``--epochs`` epochs, laid out
by each tool as a whole sequence in several versions:

- frozen: the last four frames repeat the one before them; the median displacement per frozen step (of the
  layout's RMS radius), which should be 0;
- rescaled (x(1 + 0.1 t)), tripled, rotated (a random orthogonal map) and permuted (units shuffled): the
  largest distance, over frames, between the version's layout and the original's after Procrustes alignment;
- planted: 20 samples of one class moved onto another class's samples (jittered) from the middle epoch on; the
  share of the 20 samples most displaced at that epoch that are the planted ones;
- the time of each tool's original sequence, and the shown-against-real measures of ours (mean 2-D and raw
  neighbour churn, their rank correlation over samples, the frames flagged as moving more than the data).

Prints a table and last the ``RESULT ...`` line.
"""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from layout_engine.baselines import aligned_umap_layouts
from layout_engine.motion import display_gap, frozen_drift, motion, planted_precision
from layout_engine.params import LayoutParams
from layout_engine.pipeline import layout_sequence
from models.config import RunConfig
from models.store import RunStore, default_store_dir
from models.train import train

logger = logging.getLogger("benchmarks.motion_bench")

#: samples planted in another class's cluster
PLANTED = 20
#: the versions of a sequence that should be displayed as the original
INVARIANT = ("rescaled", "tripled", "rotated", "permuted")


def ours(frames: list[np.ndarray]) -> list[np.ndarray]:
    return [frame.display for frame in layout_sequence(frames, LayoutParams())]


def versions(frames: list[np.ndarray], labels: np.ndarray, seed: int = 0) -> tuple[dict, np.ndarray, int]:
    """The sequence's versions (name -> frames), the planted samples and the epoch they are planted at."""
    rng = np.random.default_rng(seed)
    d = frames[0].shape[1]
    rotation, _ = np.linalg.qr(rng.normal(size=(d, d)))
    permutation = rng.permutation(d)
    at = len(frames) // 2
    classes = np.unique(labels)
    planted = rng.choice(np.flatnonzero(labels == classes[0]), size=PLANTED, replace=False)
    hosts = rng.choice(np.flatnonzero(labels == classes[1]), size=PLANTED, replace=False)
    moved = []
    for t, X in enumerate(frames):
        X = X.copy()
        if t >= at:
            X[planted] = X[hosts] + 0.05 * X.std(axis=0) * rng.normal(size=(PLANTED, d)).astype(np.float32)
        moved.append(X)
    return {"frozen": frames[:-4] + [frames[-5]] * 4,
            "rescaled": [x * np.float32(1 + 0.1 * t) for t, x in enumerate(frames)],
            "tripled": [x * np.float32(3) for x in frames],
            "rotated": [(x @ rotation).astype(np.float32) for x in frames],
            "permuted": [x[:, permutation] for x in frames],
            "planted": moved}, planted, at


def measure(tool: Callable[[list[np.ndarray]], list[np.ndarray]], frames: list[np.ndarray], labels: np.ndarray
            ) -> dict[str, float]:
    """The motion measures of one tool (see the module's docstring)."""
    variants, planted, at = versions(frames, labels)
    start = time.perf_counter()
    original = tool(frames)
    row = {"seconds": time.perf_counter() - start}
    n = len(frames)
    row["frozen_drift"] = frozen_drift(tool(variants["frozen"]), range(n - 4, n))
    for name in INVARIANT:
        shown = tool(variants[name])
        row[name] = max(display_gap(a, b) for a, b in zip(original, shown))
        logger.info("  %s done", name)
    shown = tool(variants["planted"])
    row["planted_precision"] = planted_precision(shown[at - 1], shown[at], planted)
    steps = [motion(frames[t - 1], frames[t], original[t - 1], original[t]) for t in range(1, n)]
    row["shown_churn"] = float(np.mean([s.shown_churn.mean() for s in steps]))
    row["real_churn"] = float(np.mean([s.real_churn.mean() for s in steps]))
    row["rho"] = float(np.nanmedian([s.rank_correlation for s in steps]))
    row["flagged"] = sum(s.moves_more_than_data for s in steps)
    return row


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", default=None, help=f"store directory (default {default_store_dir()})")
    parser.add_argument("--layer", type=int, default=2, help="hidden layer, 0-based (default 2: h3)")
    parser.add_argument("--epochs", type=int, default=10, help="epochs 0 .. N - 1 of the default run (default 10)")
    parser.add_argument("--skip-aligned", action="store_true", help="ours only")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    store = RunStore(Path(args.store) if args.store else default_store_dir())
    config = RunConfig()
    if not store.has_run(config.run_id) or store.run_info(config.run_id).epochs_done < args.epochs:
        logger.info("training the default run...")
        train(config, store)
    frames = [store.activations(config.run_id, e, args.layer).astype(np.float32) for e in range(args.epochs)]
    labels = store.probe(config.run_id)["y"]
    tools = {"ours": ours} if args.skip_aligned else {"ours": ours, "AlignedUMAP": aligned_umap_layouts}
    rows = {}
    for name, tool in tools.items():
        logger.info("%s...", name)
        rows[name] = measure(tool, frames, labels)
    columns = ["seconds", "frozen_drift", *INVARIANT, "planted_precision", "shown_churn", "real_churn", "rho",
               "flagged"]
    print(f"\nmotion on the default run, layer h{args.layer + 1}, epochs 0..{args.epochs - 1} "
          f"(n = {len(labels)}; displacement and gaps in layout radii)")
    print(f"{'tool':<12}" + "".join(f"{c:>18}" for c in columns))
    for name, row in rows.items():
        print(f"{name:<12}" + "".join(f"{row[c]:>18.4f}" if isinstance(row[c], float) else f"{row[c]:>18}"
                                      for c in columns))
    ours_row = rows["ours"]
    result = (f"RESULT frozen_drift={ours_row['frozen_drift']:.4f} "
              f"invariance_gap={max(ours_row[c] for c in INVARIANT):.4f} "
              f"planted_precision={ours_row['planted_precision']:.2f} rho={ours_row['rho']:.2f}")
    if "AlignedUMAP" in rows:
        other = rows["AlignedUMAP"]
        result += (f" aligned_frozen_drift={other['frozen_drift']:.4f} aligned_invariance_gap="
                   f"{max(other[c] for c in INVARIANT):.4f} "
                   f"aligned_planted_precision={other['planted_precision']:.2f} "
                   f"cost_ratio={other['seconds'] / ours_row['seconds']:.1f}")
    print(result)


if __name__ == "__main__":
    main()
