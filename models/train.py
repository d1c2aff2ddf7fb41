"""Training loop with a per-epoch recorder on the fixed probe set.

Epoch 0 is recorded before any update, then every epoch after training on it. Deterministic on the CPU for a
given seed; uses CUDA when present.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from models.config import RunConfig
from models.data import Dataset, load_dataset
from models.mlp import MLP
from models.store import EpochRecord, RunStore

logger = logging.getLogger(__name__)

#: ``progress(epochs_done, epochs_total) -> stop?``; return True to stop training after this epoch.
ProgressCallback = Callable[[int, int], bool | None]


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the epochs recorded before it are kept."""


def pick_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@torch.no_grad()
def evaluate(model: MLP, X: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of ``model`` on ``(X, y)``."""
    model.eval()
    logits, _ = model(X)
    return float(F.cross_entropy(logits, y)), float((logits.argmax(1) == y).float().mean())


@torch.no_grad()
def record_epoch(model: MLP, epoch: int, X_probe: torch.Tensor, metrics: dict[str, float]) -> EpochRecord:
    """Activations of every hidden layer and predictions on the probe set."""
    model.eval()
    logits, activations = model(X_probe)
    probs = torch.softmax(logits, dim=1)
    confidence, predictions = probs.max(dim=1)
    return EpochRecord(epoch=epoch, activations=[a.cpu().numpy().astype(np.float32) for a in activations],
                       predictions=predictions.cpu().numpy().astype(np.int64),
                       confidence=confidence.cpu().numpy().astype(np.float32), metrics=metrics)


def train_epoch(model: MLP, optimizer: torch.optim.Optimizer, X: torch.Tensor, y: torch.Tensor,
                batch_size: int, generator: torch.Generator) -> float:
    """One pass over ``(X, y)`` in shuffled minibatches; returns the mean training loss."""
    model.train()
    order = torch.randperm(len(X), generator=generator).to(X.device)
    total = 0.0
    for start in range(0, len(X), batch_size):
        batch = order[start:start + batch_size]
        logits, _ = model(X[batch])
        loss = F.cross_entropy(logits, y[batch])
        if not torch.isfinite(loss):
            raise TrainingDiverged(f"loss became {loss.item()} at batch starting at sample {start}")
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += float(loss.detach()) * len(batch)
    return total / len(X)


def train(config: RunConfig, store: RunStore, *, progress: ProgressCallback | None = None,
          device: torch.device | None = None) -> str:
    """Train ``config`` from scratch, recording every epoch into ``store``; returns the run id.

    A diverging run is marked ``diverged`` with a message and keeps its recorded epochs; a stop requested by
    ``progress`` leaves the run in state ``training`` with the epochs recorded so far.
    """
    device = device or pick_device()
    data: Dataset = load_dataset(config.dataset, seed=config.seed, probe_size=config.probe_size)
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    model = MLP(data.n_features, config.hidden, data.n_classes).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)

    def tensors(idx: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.from_numpy(data.X[idx]).to(device), torch.from_numpy(data.y[idx]).to(device)

    X_train, y_train = tensors(data.train_idx)
    X_test, y_test = tensors(data.test_idx)
    X_probe, _ = tensors(data.probe_idx)
    run_id = store.create_run(config, {"index": data.probe_idx, "X": data.X[data.probe_idx],
                                       "y": data.y[data.probe_idx]}, config.hidden)
    logger.info("Training run %s (%d epochs) on %s", run_id, config.epochs, device)

    def record(epoch: int) -> None:
        tr_loss, tr_acc = evaluate(model, X_train, y_train)
        te_loss, te_acc = evaluate(model, X_test, y_test)
        if not (np.isfinite(tr_loss) and np.isfinite(te_loss)):
            raise TrainingDiverged(f"evaluation loss is not finite after epoch {epoch}")
        metrics = {"train_loss": tr_loss, "train_acc": tr_acc, "test_loss": te_loss, "test_acc": te_acc}
        store.put_epoch(run_id, record_epoch(model, epoch, X_probe, metrics))

    try:
        record(0)
        for epoch in range(1, config.epochs + 1):
            if progress is not None and progress(epoch - 1, config.epochs):
                logger.info("Training of %s stopped after epoch %d", run_id, epoch - 1)
                return run_id
            train_epoch(model, optimizer, X_train, y_train, config.batch_size, generator)
            record(epoch)
    except TrainingDiverged as exc:
        message = f"Training diverged in epoch {store.run_info(run_id).epochs_done}: {exc}. Lower the learning rate."
        logger.error("%s (run %s)", message, run_id)
        store.finish_run(run_id, "diverged", message)
        return run_id
    if progress is not None:
        progress(config.epochs, config.epochs)
    store.put_checkpoint(run_id, {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()})
    store.finish_run(run_id, "complete")
    return run_id


def load_model(store: RunStore, run_id: str) -> MLP:
    """The trained network of a finished run, on the CPU, in eval mode."""
    info = store.run_info(run_id)
    data = load_dataset(info.config.dataset, seed=info.config.seed, probe_size=info.config.probe_size)
    model = MLP(data.n_features, info.config.hidden, data.n_classes)
    model.load_state_dict({k: torch.from_numpy(v) for k, v in store.checkpoint(run_id).items()})
    return model.eval()
