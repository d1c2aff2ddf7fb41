"""What recording costs a training loop: the same loop with and without a :class:`epochscope.record.recorder.Recorder`.

    python -m benchmarks.recorder_bench [--epochs 10] [--repeats 3] [--probe 1000]

A small CNN (the one of ``examples/cnn_digits.py``'s shape) trains on scikit-learn's digits as 8x8 images, one
pass over the 1,437 training images per epoch at batch 32. Three loops, interleaved (so that all see the same
machine load) and each timed per epoch over ``--repeats`` runs: no recorder; a recorder on two layers over a
probe of ``--probe`` images, written to a log directory; the same with a per-sample ``loss_fn`` (the probe pass then
runs with gradients, for each sample's loss and sensitivity). Printed as a table of median seconds per epoch and
the ratio to the loop alone; the last
line is ``RESULT epoch_s=<f> recorded_s=<f> with_loss_s=<f> overhead=<f> overhead_with_loss=<f>``.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time

import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch import nn

from epochscope.record.recorder import Recorder

logger = logging.getLogger("benchmarks.recorder_bench")


class SmallCNN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU())
        self.conv2 = nn.Sequential(nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.fc1 = nn.Sequential(nn.Flatten(), nn.Linear(16 * 4 * 4, 32), nn.ReLU())
        self.head = nn.Linear(32, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.fc1(self.conv2(self.conv1(x))))


def per_sample_loss(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(out, y, reduction="none")


def epoch_times(mode: str, epochs: int, probe: int, logdir: str, seed: int) -> list[float]:
    """Seconds per epoch of one run of the loop: ``plain``, ``recorded`` or ``with_loss``."""
    digits = load_digits()
    X = torch.tensor(digits.images / 16.0, dtype=torch.float32)[:, None]
    y = torch.tensor(digits.target)
    train_X, train_y = X[:1437], y[:1437]
    torch.manual_seed(seed)
    model = SmallCNN()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    recorder = None
    if mode != "plain":
        recorder = Recorder(logdir, model, ["conv2", "fc1"], X[:probe], y[:probe].numpy(),
                            name=f"bench-{mode}-{seed}", seed=seed,
                            loss_fn=per_sample_loss if mode == "with_loss" else None)
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        order = torch.randperm(len(train_X))
        model.train()
        for i in range(0, len(order), 32):
            batch = order[i:i + 32]
            optimizer.zero_grad()
            F.cross_entropy(model(train_X[batch]), train_y[batch]).backward()
            optimizer.step()
        if recorder is not None:
            recorder.record()
        times.append(time.perf_counter() - start)
    if recorder is not None:
        recorder.finish()
    return times


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=10, help="epochs per run, 1..200 (default %(default)s)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each loop, 1..20 (default %(default)s)")
    parser.add_argument("--probe", type=int, default=1000, help="probe images, 10..1797 (default %(default)s)")
    args = parser.parse_args(argv)
    for name, value, lo, hi in (("epochs", args.epochs, 1, 200), ("repeats", args.repeats, 1, 20),
                                ("probe", args.probe, 10, 1797)):
        if not lo <= value <= hi:
            parser.error(f"argument --{name}: must be in {lo}..{hi}, got {value}")
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    modes = ("plain", "recorded", "with_loss")
    times: dict[str, list[float]] = {m: [] for m in modes}
    with tempfile.TemporaryDirectory() as logdir:
        for repeat in range(args.repeats):  # interleaved: every loop sees the same machine load
            for mode in modes:
                times[mode] += epoch_times(mode, args.epochs, args.probe, logdir, seed=repeat)
    median = {m: statistics.median(times[m]) for m in modes}
    print(f"{'loop':<40} {'s / epoch (median)':>18} {'ratio':>7}")
    labels = {"plain": "training alone", "recorded": f"+ Recorder (2 layers, {args.probe} probe)",
              "with_loss": "+ Recorder with loss_fn (sensitivity)"}
    for m in modes:
        print(f"{labels[m]:<40} {median[m]:>18.3f} {median[m] / median['plain']:>7.2f}")
    print(f"RESULT epoch_s={median['plain']:.4f} recorded_s={median['recorded']:.4f} "
          f"with_loss_s={median['with_loss']:.4f} overhead={median['recorded'] / median['plain'] - 1:.3f} "
          f"overhead_with_loss={median['with_loss'] / median['plain'] - 1:.3f}")


if __name__ == "__main__":
    main()
