"""Record a model EpochScope did not define: a small CNN on the digits as 8x8 images, trained by a plain loop.

    python examples/cnn_digits.py [--epochs 15] [--logdir runs]
    epochscope serve --logdir runs          # (or python app.py --logdir runs) while it trains, or after

Needs only ``pip install <checkout>`` (numpy and torch) and scikit-learn for the digits.
"""

from __future__ import annotations

import argparse
import logging

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn

from epochscope import Recorder


class SmallCNN(nn.Module):
    """conv(1->8, 3x3) -> ReLU -> conv(8->16, 3x3, stride 2) -> ReLU -> fc(256->32) -> ReLU -> fc(32->10)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 16, 3, stride=2, padding=1)
        self.fc1 = nn.Linear(16 * 4 * 4, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        x = F.relu(self.fc1(x.flatten(1)))
        return self.fc2(x)


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=15, help="training epochs, 1..200 (default %(default)s)")
    parser.add_argument("--logdir", default="runs", help="log directory (default %(default)s)")
    args = parser.parse_args(argv)
    if not 1 <= args.epochs <= 200:
        parser.error(f"argument --epochs: must be in 1..200, got {args.epochs}")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    torch.manual_seed(0)

    digits = load_digits()
    images = torch.from_numpy((digits.images / 16.0).astype(np.float32)).unsqueeze(1)  # (n, 1, 8, 8)
    labels = torch.from_numpy(digits.target.astype(np.int64))
    train_idx, test_idx = train_test_split(np.arange(len(labels)), test_size=0.2, stratify=labels.numpy(),
                                           random_state=0)
    model = SmallCNN()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)

    def test_accuracy() -> float:
        model.eval()
        with torch.no_grad():
            return float((model(images[test_idx]).argmax(1) == labels[test_idx]).float().mean())

    probe = np.sort(test_idx)[:500]
    with Recorder(args.logdir, model, layers=["conv2", "fc1"], probe_X=images[probe], probe_y=labels[probe].numpy(),
                  name="small-cnn-digits", loss_fn=lambda out, y: F.cross_entropy(out, y, reduction="none")
                  ) as recorder:
        recorder.record(metrics={"test_acc": test_accuracy()})
        for epoch in range(1, args.epochs + 1):
            model.train()
            for batch in torch.randperm(len(train_idx)).split(64):
                idx = train_idx[batch.numpy()]
                loss = F.cross_entropy(model(images[idx]), labels[idx])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            accuracy = test_accuracy()
            recorder.record(metrics={"test_acc": accuracy, "train_loss": float(loss)})
            logging.info("epoch %d: test accuracy %.3f", epoch, accuracy)
    print(recorder.path)
    return str(recorder.path)


if __name__ == "__main__":
    main()
