"""What measuring costs: the default run's preparation (training, then laying out every frame) against the
measuring stage that follows it (per frame: linear probe, TwoNN, raw silhouette / ratio / kNN purity, class
overlap, kNN table; per run: CKA), each stage timed from scratch in a fresh store, as the page's job runs them.

    python -m benchmarks.analysis_bench [--repeat 2]

Then the page's own job (:func:`frames.prepare.prepare`) on the default run from an empty store: how long its
training takes while the layouts follow it (against training alone: the slowdown), and how long until every
frame is laid out and measured (what a user opening the page on an empty store waits for).

Prints a table, the machine's load, and last ``RESULT train_s=... layout_s=... measure_s=... measure_share=...
follow_train_s=... train_slowdown=... ready_s=...`` (``measure_share``: measuring over training plus layout; the
target is at most 0.30).
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time

import numpy as np

from analysis.stage import compute_measures
from frames import compute as frames_compute
from frames.prepare import prepare
from layout_engine.params import LayoutParams
from models.config import RunConfig
from models.store import RunStore
from models.train import TRAINING, train

logger = logging.getLogger("benchmarks.analysis_bench")


def one_preparation(config: RunConfig, params: LayoutParams) -> dict[str, float]:
    """Seconds of each stage of the preparation of ``config`` in a fresh store."""
    with tempfile.TemporaryDirectory() as directory:
        store = RunStore(directory)
        t0 = time.perf_counter()
        train(config, store)
        t1 = time.perf_counter()
        info = store.run_info(config.run_id)
        frames_compute.compute_frames(store, info, params)
        t2 = time.perf_counter()
        compute_measures(store, info)
        t3 = time.perf_counter()
        store.close()
    return {"train": t1 - t0, "layout": t2 - t1, "measure": t3 - t2}


def page_preparation(config: RunConfig, params: LayoutParams) -> dict[str, float]:
    """The page's job on ``config`` in a fresh store: seconds until its training ends (the layouts following
    it) and until every frame is laid out and measured."""
    with tempfile.TemporaryDirectory() as directory:
        store = RunStore(directory)
        trained = []

        def report(stage: str, done: int, total: int) -> None:
            if stage == TRAINING and done == config.epochs:
                trained.append(time.perf_counter())

        t0 = time.perf_counter()
        prepare(store, config, params, report)
        t1 = time.perf_counter()
        store.close()
    return {"follow_train": trained[0] - t0, "ready": t1 - t0}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=2, help="preparations timed (the median is reported)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    config, params = RunConfig(), LayoutParams()
    runs = []
    for i in range(args.repeat):
        runs.append(one_preparation(config, params))
        logger.info("preparation %d: %s", i + 1, {k: round(v, 1) for k, v in runs[-1].items()})
    for i in range(args.repeat):
        runs[i] |= page_preparation(config, params)
        logger.info("the page's job %d: %s", i + 1, {k: round(v, 1) for k, v in runs[i].items()})
    med = {k: float(np.median([r[k] for r in runs])) for k in runs[0]}
    share = med["measure"] / (med["train"] + med["layout"])
    print(f"\nuptime: {os.popen('uptime').read().strip()}   {os.cpu_count()} cpus")
    print(f"\nthe default run ({'-'.join(map(str, config.hidden))} on {config.dataset}, {config.epochs + 1} epochs x "
          f"{len(config.hidden)} layers = {(config.epochs + 1) * len(config.hidden)} frames), median of {len(runs)}")
    print(f"{'stage':<34}{'seconds':>9}")
    for name, label in (("train", "training"), ("layout", "layout (every frame, warm + guard)"),
                        ("measure", "measuring (every frame + CKA)")):
        print(f"{label:<34}{med[name]:>9.1f}")
    print(f"measuring adds {100 * share:.0f}% to the preparation (training + layout)")
    slowdown = med["follow_train"] / med["train"]
    print(f"\nthe page's job: training with the layouts following {med['follow_train']:.1f} s ({slowdown:.2f}x "
          f"training alone), every frame laid out and measured {med['ready']:.1f} s after it starts")
    print(f"RESULT train_s={med['train']:.1f} layout_s={med['layout']:.1f} measure_s={med['measure']:.1f} "
          f"measure_share={share:.3f} follow_train_s={med['follow_train']:.1f} train_slowdown={slowdown:.2f} "
          f"ready_s={med['ready']:.1f}")


if __name__ == "__main__":
    main()
