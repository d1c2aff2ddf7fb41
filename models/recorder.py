"""Record your own torch model into EpochScope from your own training loop.

Choose layers by name (as in ``model.named_modules()``), give a probe set, and call :meth:`Recorder.record`
once per epoch (epoch 0 before training, if you like); the run then appears in the store, and in the dashboard,
like any other::

    from models.recorder import Recorder
    from models.store import RunStore, default_store_dir

    with Recorder(RunStore(default_store_dir()), model, layers=["conv2", "fc1"], probe_X=X_probe,
                  probe_y=y_probe, name="my-cnn") as recorder:
        recorder.record(metrics={"test_acc": evaluate(model)})   # epoch 0
        for epoch in range(1, n_epochs + 1):
            train_one_epoch(model)
            recorder.record(metrics={"test_acc": evaluate(model)})

Each chosen layer's output is captured by a forward hook during the probe pass (in eval mode, without
gradients) and flattened to (n_probe, units). If the model's output is one logit per class, the predictions and
their softmax confidence are recorded too. Leaving the ``with`` block normally marks the run complete; an
exception marks it failed, keeping the epochs recorded so far.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from models.config import RunConfig
from models.store import EpochRecord, RunStore

logger = logging.getLogger(__name__)


class Recorder:
    """Records chosen layers of a model on a fixed probe set, once per call.

    Parameters
    ----------
    store : RunStore
    model : nn.Module
    layers : sequence of str
        Names of submodules (``dict(model.named_modules())`` keys) whose outputs to record, in display order.
    probe_X : array-like of shape (n_probe, ...)
        Inputs as the model takes them (a tensor or an array; e.g. (n, 1, 8, 8) images).
    probe_y : array-like of shape (n_probe,)
        Integer class labels, ``0 .. n_classes - 1``.
    name : str
        The run's name (letters, digits, ``_ . -``); shown as its data set.
    class_names : sequence of str, optional
        Defaults to the label numbers.
    image_shape : (int, int), optional
        (height, width) to show a probe sample as an image in the inspector; by default the last two axes of
        ``probe_X`` when it holds single-channel images ((n, h, w) or (n, 1, h, w)), else none.
    seed : int
        Part of the run's id: the same name, layers and seed restart the same run.
    batch_size : int
        Probe samples per forward pass.
    """

    def __init__(self, store: RunStore, model: nn.Module, layers: Sequence[str], probe_X, probe_y, *, name: str,
                 class_names: Sequence[str] | None = None, image_shape: tuple[int, int] | None = None, seed: int = 0,
                 batch_size: int = 1024) -> None:
        modules = dict(model.named_modules())
        layers = list(layers)
        if not layers:
            raise ValueError("layers must name at least one layer of the model")
        unknown = [n for n in layers if n not in modules or n == ""]
        if unknown:
            known = ", ".join(n for n in modules if n) or "none"
            raise ValueError(f"layers {', '.join(map(repr, unknown))} not in the model; its layers are: {known}")
        self.store, self.model, self.layers, self.name = store, model, layers, name
        self._modules = [modules[n] for n in layers]
        self.probe_X = torch.as_tensor(np.asarray(probe_X) if not torch.is_tensor(probe_X) else probe_X)
        y = np.asarray(probe_y)
        if y.ndim != 1 or len(y) != len(self.probe_X):
            raise ValueError(f"probe_y must have shape ({len(self.probe_X)},), got {y.shape}")
        if not np.issubdtype(y.dtype, np.integer) or (len(y) and y.min() < 0):
            raise ValueError("probe_y must hold integer class labels >= 0")
        self.probe_y = y.astype(np.int64)
        n_classes = int(self.probe_y.max()) + 1 if len(y) else 0
        self.class_names = tuple(class_names) if class_names is not None else tuple(str(c) for c in range(n_classes))
        if len(self.class_names) < n_classes:
            raise ValueError(f"class_names has {len(self.class_names)} names for {n_classes} classes")
        shape = tuple(self.probe_X.shape[1:])
        if image_shape is None and (len(shape) == 2 or (len(shape) == 3 and shape[0] == 1)):
            image_shape = shape[-2:]
        self.image_shape = image_shape
        self.seed, self.batch_size = seed, batch_size
        self.run_id: str | None = None
        self._epoch = 0

    def _probe_pass(self) -> tuple[list[np.ndarray], torch.Tensor]:
        captured: list[list[torch.Tensor]] = [[] for _ in self._modules]
        hooks = [m.register_forward_hook(lambda _m, _in, out, i=i: captured[i].append(out.detach().flatten(1).cpu()))
                 for i, m in enumerate(self._modules)]
        was_training = self.model.training
        device = next(self.model.parameters(), torch.empty(0)).device
        outputs = []
        try:
            self.model.eval()
            with torch.no_grad():
                for start in range(0, len(self.probe_X), self.batch_size):
                    out = self.model(self.probe_X[start:start + self.batch_size].to(device))
                    outputs.append((out[0] if isinstance(out, (tuple, list)) else out).detach().cpu())
        finally:
            for h in hooks:
                h.remove()
            self.model.train(was_training)
        return [torch.cat(c).numpy().astype(np.float32) for c in captured], torch.cat(outputs)

    def record(self, epoch: int | None = None, metrics: dict[str, float] | None = None) -> int:
        """Record the chosen layers on the probe set as the next epoch (or ``epoch``, which must be the next
        one); returns the epoch recorded. The first call creates the run."""
        epoch = self._epoch if epoch is None else epoch
        if epoch != self._epoch:
            raise ValueError(f"epoch must be {self._epoch} (epochs are recorded in order), got {epoch}")
        activations, output = self._probe_pass()
        if self.run_id is None:
            config = RunConfig(model="custom", dataset=self.name, hidden=tuple(a.shape[1] for a in activations),
                               layers=tuple(self.layers), epochs=0, seed=self.seed, probe_size=len(self.probe_y))
            probe: dict[str, np.ndarray] = {"index": np.arange(len(self.probe_y)),
                                            "X": self.probe_X.flatten(1).numpy().astype(np.float32),
                                            "y": self.probe_y}
            self.run_id = self.store.create_run(config, probe, config.layer_sizes, self.class_names,
                                                image_shape=self.image_shape)
            logger.info("Recording run %s (layers %s)", self.run_id, ", ".join(self.layers))
        predictions = confidence = None
        if output.ndim == 2 and output.shape[1] == len(self.class_names):
            confidence_t, predictions_t = torch.softmax(output.float(), dim=1).max(dim=1)
            predictions, confidence = predictions_t.numpy().astype(np.int64), confidence_t.numpy().astype(np.float32)
        values = {k: float(v) for k, v in (metrics or {}).items()}
        if predictions is not None and "probe_acc" not in values:
            values["probe_acc"] = float((predictions == self.probe_y).mean())
        self.store.put_epoch(self.run_id, EpochRecord(epoch=epoch, activations=activations, predictions=predictions,
                                                      confidence=confidence, metrics=values))
        self._epoch += 1
        return epoch

    def finish(self, state: str = "complete", message: str = "") -> None:
        """Mark the run ``complete`` (or ``failed`` with a message)."""
        if self.run_id is not None:
            self.store.finish_run(self.run_id, state, message)

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc is None:
            self.finish("complete")
        else:
            self.finish("failed", f"recording stopped: {exc_type.__name__}: {exc}")
