"""Does sensitivity mean something? Silence the units it ranks highest, and as many random ones.

    python -m benchmarks.sensitivity_bench [--store DIR] [--fraction 0.1]

On the default run (MLP 64-128-64-32-10 on digits, trained into the store if missing): for every hidden layer,
rank its units by mean |gradient x activation| (``abs``) and by mean (gradient x activation)^2 (``fisher``)
over the probe set with the final weights, silence the top ``fraction`` of them, and, averaged over 50 draws,
as many random units; print the test accuracies. Last line: ``RESULT layers=<n> abs_top_below_random=<n>
fisher_top_below_random=<n> mean_abs_top_acc=<f> mean_fisher_top_acc=<f> mean_random_acc=<f>``.
"""

from __future__ import annotations

import argparse
import logging

import numpy as np
import torch

from frames import prepare as frames_prepare
from models.config import RunConfig
from models.mlp import MLP
from models.sensitivity import ablation
from models.store import RunStore, default_store_dir
from models.train import load_model, training_data

logger = logging.getLogger("benchmarks.sensitivity_bench")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", default=None, help=f"store directory (default {default_store_dir()})")
    parser.add_argument("--fraction", type=float, default=0.1, help="share of a layer's units silenced (0, 1)")
    args = parser.parse_args(argv)
    if not 0.0 < args.fraction < 1.0:
        parser.error(f"argument --fraction: must be in (0, 1), got {args.fraction}")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    store = RunStore(args.store or default_store_dir())
    config = RunConfig()
    frames_prepare.ensure_run(store, config)  # trains the default run when the store lacks it
    model = load_model(store, config.run_id)
    if not isinstance(model, MLP):
        raise SystemExit("the sensitivity benchmark needs the default MLP run")
    prepared = training_data(config)
    data = prepared.dataset
    tensor = lambda a: torch.from_numpy(np.ascontiguousarray(a))  # noqa: E731
    probe = (tensor(prepared.X[data.probe_idx]), tensor(prepared.y[data.probe_idx]))
    test = (tensor(data.X[data.test_idx]), tensor(data.y[data.test_idx]))
    print(f"\nsilencing {args.fraction:.0%} of a layer's units; test accuracy (n = {len(data.test_idx)})")
    print(f"{'layer':<7}{'units':>6}{'silenced':>9}{'intact':>8}{'top abs':>9}{'top fisher':>11}{'random':>8}")
    rows = []
    for layer, name in enumerate(config.layer_names):
        a, f = (ablation(model, *probe, *test, layer, criterion=c, fraction=args.fraction) for c in ("abs", "fisher"))
        rows.append((a, f))
        print(f"{name:<7}{config.hidden[layer]:>6}{a.n_units:>9}{a.intact:>8.3f}{a.top:>9.3f}{f.top:>11.3f}"
              f"{a.random:>8.3f}")
    store.close()
    print(f"RESULT layers={len(rows)} abs_top_below_random={sum(a.top < a.random for a, _ in rows)} "
          f"fisher_top_below_random={sum(f.top < f.random for _, f in rows)} "
          f"mean_abs_top_acc={np.mean([a.top for a, _ in rows]):.4f} "
          f"mean_fisher_top_acc={np.mean([f.top for _, f in rows]):.4f} "
          f"mean_random_acc={np.mean([a.random for a, _ in rows]):.4f}")


if __name__ == "__main__":
    main()
