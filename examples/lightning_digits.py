"""PyTorch Lightning: an MLP on the digits, recorded by EpochScope's callback at each epoch's end (or every N
steps).

    python examples/lightning_digits.py [--epochs 10] [--every-n-steps N] [--logdir runs]
    epochscope serve --logdir runs
"""

from __future__ import annotations

import argparse
import logging

import numpy as np
import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from epochscope.callbacks.lightning import EpochScopeCallback


class DigitsMLP(pl.LightningModule):
    """64 -> 64 -> 32 -> 10, ReLU; logs its training loss and accuracy each epoch."""

    def __init__(self, lr: float = 3e-3) -> None:
        super().__init__()
        self.lr = lr
        self.net = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], _index: int) -> torch.Tensor:
        x, y = batch
        logits = self(x)
        loss = F.cross_entropy(logits, y)
        self.log("train_loss", loss, on_epoch=True, on_step=False)
        self.log("train_acc", (logits.argmax(1) == y).float().mean(), on_epoch=True, on_step=False)
        return loss

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=self.lr)


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=10, help="epochs, 1..200 (default %(default)s)")
    parser.add_argument("--every-n-steps", type=int, default=None, help="record every N steps instead of each epoch")
    parser.add_argument("--logdir", default="runs", help="log directory (default %(default)s)")
    args = parser.parse_args(argv)
    if not 1 <= args.epochs <= 200:
        parser.error(f"argument --epochs: must be in 1..200, got {args.epochs}")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    pl.seed_everything(0, verbose=False)
    digits = load_digits()
    X = torch.from_numpy((digits.data / 16.0).astype(np.float32))
    y = torch.from_numpy(digits.target.astype(np.int64))
    callback = EpochScopeCallback(args.logdir, ["net.1", "net.3"], X[:500], y[:500], name="lightning-digits",
                                  every_n_steps=args.every_n_steps,
                                  loss_fn=lambda out, t: F.cross_entropy(out, t, reduction="none"))
    trainer = pl.Trainer(max_epochs=args.epochs, callbacks=[callback], logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, accelerator="auto")
    trainer.fit(DigitsMLP(), DataLoader(TensorDataset(X[500:], y[500:]), batch_size=64, shuffle=True))
    assert callback.recorder is not None
    print(callback.recorder.path)
    return str(callback.recorder.path)


if __name__ == "__main__":
    main()
