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
gradients) and reduced to (n_probe, units) (:mod:`models.capture`): the tensor is taken out of a tuple, list,
dict or ``ModelOutput`` (by position or key, per layer: ``pick``), then pooled (``pooling``, per layer or for all:
a sequence (batch, tokens, hidden) by its mean over the non-padding tokens by default, or its first or last
token; an image (batch, channels, h, w) flattened by default, or by channel means), recorded as float32 whatever
the model computes in, and a layer wider than ``max_units`` is narrowed by a seeded random projection (with a
warning naming the layer and the width kept). How each layer was reduced is stated in the run
(:attr:`models.store.RunInfo.layer_notes`). The probe may be a tensor, an array, a dict of tensors (a Hugging
Face batch: the model is called with it as keyword arguments, its ``attention_mask`` masks the pooling, its
``labels`` are the probe's labels unless ``probe_y`` is given), a ``Dataset`` or a ``DataLoader`` (of
``(inputs, label)`` pairs or of dicts). If the model's output is one logit per class, the predictions and their
softmax confidence are recorded too. Leaving the ``with`` block normally marks the run complete; an exception
marks it failed, keeping the epochs recorded so far.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from models.capture import POOLINGS, Projection, default_pooling, describe_pooling, pick_tensor, pool
from models.config import RunConfig
from models.store import EpochRecord, RunStore

logger = logging.getLogger(__name__)

#: a layer wider than this is narrowed by a seeded random projection (the layout's cost grows with the width)
MAX_UNITS = 4096
#: the keys of a Hugging Face batch that hold the labels
LABEL_KEYS = ("labels", "label")

#: a probe's inputs: one tensor, or a dict of tensors (keyword arguments of the model)
Inputs = torch.Tensor | dict[str, torch.Tensor]


def _stack(values: list) -> torch.Tensor:
    try:
        return torch.stack([torch.as_tensor(v) for v in values])
    except RuntimeError as exc:
        raise ValueError(f"probe items must have one shape to be stacked (pad your sequences): {exc}") from None


def _collect(items: Iterable, batched: bool) -> tuple[Inputs, np.ndarray | None]:
    """The inputs and labels of a ``Dataset``'s items (``batched`` False) or a ``DataLoader``'s batches."""
    xs: list = []
    ys: list = []
    for item in items:
        if isinstance(item, Mapping):
            item = dict(item)
            label = next((item.pop(k) for k in LABEL_KEYS if k in item), None)
            xs.append(item)
        elif isinstance(item, (tuple, list)):
            xs.append(item[0])
            label = item[1] if len(item) > 1 else None
        else:
            xs.append(item)
            label = None
        if label is not None:
            ys.append(label)
    if not xs:
        raise ValueError("the probe is empty")
    join = (lambda v: torch.cat([torch.as_tensor(t) for t in v])) if batched else _stack
    inputs: Inputs = ({k: join([x[k] for x in xs]) for k in xs[0]} if isinstance(xs[0], Mapping) else join(xs))
    labels = None
    if ys:
        labels = np.concatenate([np.asarray(y).reshape(-1) for y in ys]) if batched else np.asarray(
            [np.asarray(y).item() for y in ys])
    return inputs, labels


def gather_probe(probe_X: object, probe_y: object | None) -> tuple[Inputs, np.ndarray]:
    """The probe as one tensor or dict of tensors, and its labels (n,) int64: from a tensor, an array, a dict of
    tensors (its ``labels`` taken out), a ``Dataset`` or a ``DataLoader`` (of pairs or dicts); ``probe_y``, when
    given, are the labels. ``ValueError`` naming what is missing or mismatched."""
    labels = None
    if isinstance(probe_X, DataLoader):
        inputs, labels = _collect(probe_X, batched=True)
    elif isinstance(probe_X, Dataset):
        inputs, labels = _collect((probe_X[i] for i in range(len(probe_X))), batched=False)  # type: ignore[arg-type]
    elif isinstance(probe_X, Mapping):
        batch = {str(k): torch.as_tensor(v) for k, v in probe_X.items()}
        labels = next((batch.pop(k).numpy() for k in LABEL_KEYS if k in batch), None)
        inputs = batch
    else:
        inputs = probe_X if torch.is_tensor(probe_X) else torch.as_tensor(np.asarray(probe_X))
    if probe_y is not None:
        labels = np.asarray(probe_y)
    if labels is None:
        raise ValueError("probe_y is needed: the probe holds no labels")
    n = len(next(iter(inputs.values()))) if isinstance(inputs, dict) else len(inputs)
    if isinstance(inputs, dict) and any(len(v) != n for v in inputs.values()):
        raise ValueError(f"the probe's inputs must have one length: {({k: len(v) for k, v in inputs.items()})}")
    if labels.ndim != 1 or len(labels) != n:
        raise ValueError(f"probe_y must have shape ({n},), got {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer) or (len(labels) and labels.min() < 0):
        raise ValueError("probe_y must hold integer class labels >= 0")
    return inputs, labels.astype(np.int64)


def _rows(inputs: Inputs, start: int, stop: int) -> Inputs:
    return {k: v[start:stop] for k, v in inputs.items()} if isinstance(inputs, dict) else inputs[start:stop]


def _model_output(out: object) -> torch.Tensor | None:
    """The tensor of the model's own output that may hold class logits: itself, a tuple's first, a dict's
    ``logits`` (else its first tensor); ``None`` when there is none."""
    if isinstance(out, Mapping) or hasattr(out, "keys"):
        try:
            return pick_tensor(out, "logits" if "logits" in out.keys() else None, "the model")
        except ValueError:
            return None
    try:
        return pick_tensor(out, None, "the model")
    except ValueError:
        return None


class Recorder:
    """Records chosen layers of a model on a fixed probe set, once per call.

    Parameters
    ----------
    store : RunStore
    model : nn.Module
    layers : sequence of str
        Names of submodules (``dict(model.named_modules())`` keys) whose outputs to record, in display order.
    probe_X : tensor, array, dict of tensors, Dataset or DataLoader
        Inputs as the model takes them (e.g. (n, 1, 8, 8) images, or a tokenizer's batch); see the module doc.
    probe_y : array-like of shape (n_probe,), optional
        Integer class labels, ``0 .. n_classes - 1``; needed unless ``probe_X`` holds them.
    name : str
        The run's name (letters, digits, ``_ . -``); shown as its data set.
    class_names : sequence of str, optional
        Defaults to the label numbers.
    image_shape : (int, int), optional
        (height, width) to show a probe sample as an image in the inspector; by default the last two axes of
        ``probe_X`` when it holds single-channel images ((n, h, w) or (n, 1, h, w)), else none.
    seed : int
        Part of the run's id: the same name, layers and seed restart the same run; also seeds projections.
    batch_size : int
        Probe samples per forward pass.
    pooling : str or mapping of layer -> str
        How a layer's output becomes one row per sample (:data:`models.capture.POOLINGS`; ``auto``: by shape),
        for every layer or per layer (the others ``auto``).
    pick : mapping of layer -> int or str, optional
        Which tensor of a layer's tuple (position) or dict / ``ModelOutput`` (key) output to record.
    max_units : int
        A layer with more units (after pooling) is narrowed to this many by a seeded random projection.
    loss_fn : callable, optional
        ``loss_fn(output, labels) -> (batch,)``: one loss per sample from the model's output tensor (its logits)
        and the labels, e.g. ``lambda out, y: F.cross_entropy(out, y, reduction="none")``. Given, each epoch also
        records every sample's loss and its sensitivity at each layer (the norm of the gradient of its loss
        reaching the layer's output, as the built-in trainer records it), for the sensitivity colouring.
    """

    def __init__(self, store: RunStore, model: nn.Module, layers: Sequence[str], probe_X, probe_y=None, *,
                 name: str, class_names: Sequence[str] | None = None, image_shape: tuple[int, int] | None = None,
                 seed: int = 0, batch_size: int = 1024, pooling: str | Mapping[str, str] = "auto",
                 pick: Mapping[str, int | str] | None = None, max_units: int = MAX_UNITS,
                 loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None) -> None:
        modules = dict(model.named_modules())
        layers = list(layers)
        if not layers:
            raise ValueError("layers must name at least one layer of the model")
        unknown = [n for n in layers if n not in modules or n == ""]
        if unknown:
            known = ", ".join(n for n in modules if n) or "none"
            raise ValueError(f"layers {', '.join(map(repr, unknown))} not in the model; its layers are: {known}")
        per_layer = {n: pooling for n in layers} if isinstance(pooling, str) else {n: "auto" for n in layers}
        if not isinstance(pooling, str):
            strays = sorted(set(pooling) - set(layers))
            if strays:
                raise ValueError(f"pooling names layers not recorded: {', '.join(strays)}")
            per_layer.update(pooling)
        for layer, how in per_layer.items():
            if how not in POOLINGS:
                raise ValueError(f"pooling of layer {layer!r} must be one of {', '.join(POOLINGS)}, got {how!r}")
        if not 1 <= max_units <= 1_000_000:
            raise ValueError(f"max_units must be in 1..1000000, got {max_units}")
        self.store, self.model, self.layers, self.name = store, model, layers, name
        self._modules = [modules[n] for n in layers]
        self.pooling, self.pick, self.max_units, self.loss_fn = per_layer, dict(pick or {}), max_units, loss_fn
        self.inputs, self.probe_y = gather_probe(probe_X, probe_y)
        n_classes = int(self.probe_y.max()) + 1 if len(self.probe_y) else 0
        self.class_names = tuple(class_names) if class_names is not None else tuple(str(c) for c in range(n_classes))
        if len(self.class_names) < n_classes:
            raise ValueError(f"class_names has {len(self.class_names)} names for {n_classes} classes")
        shape = tuple(self.inputs.shape[1:]) if torch.is_tensor(self.inputs) else ()
        if image_shape is None and (len(shape) == 2 or (len(shape) == 3 and shape[0] == 1)):
            image_shape = (int(shape[-2]), int(shape[-1]))
        self.image_shape = image_shape
        self.seed, self.batch_size = seed, batch_size
        self.run_id: str | None = None
        self._epoch = 0
        self._projections: list[Projection | None] | None = None
        self._notes: list[str] = []
        self._warned_outputs = False

    def _reduce(self, i: int, out: object, mask: torch.Tensor | None, notes: dict[int, str]) -> torch.Tensor:
        layer = self.layers[i]
        t = pick_tensor(out, self.pick.get(layer), layer)
        how = self.pooling[layer]
        resolved = default_pooling(tuple(t.shape)) if how == "auto" else how
        rows = pool(t, resolved, layer, mask)
        if i not in notes:
            notes[i] = describe_pooling(resolved, tuple(t.shape), mask is not None and t.ndim == 3)
        return rows.cpu()

    def _probe_pass(self) -> tuple[list[np.ndarray], torch.Tensor | None]:
        captured: list[list[torch.Tensor]] = [[] for _ in self._modules]
        current: dict[str, torch.Tensor | None] = {"mask": None}
        notes: dict[int, str] = {}  # how each layer was reduced, in words

        def hook(i: int):
            def capture(_module, _inputs, out) -> None:
                captured[i].append(self._reduce(i, out, current["mask"], notes))
            return capture

        hooks = [m.register_forward_hook(hook(i)) for i, m in enumerate(self._modules)]
        was_training = self.model.training
        device = next(self.model.parameters(), torch.empty(0)).device
        n = len(self.probe_y)
        outputs = []
        try:
            self.model.eval()
            with torch.no_grad():
                for start in range(0, n, self.batch_size):
                    rows = _rows(self.inputs, start, start + self.batch_size)
                    current["mask"] = rows.get("attention_mask") if isinstance(rows, dict) else None
                    logits = _model_output(self._forward(rows, device))
                    outputs.append(logits.detach().float().cpu() if logits is not None else None)
        finally:
            for h in hooks:
                h.remove()
            self.model.train(was_training)
        if not self._notes:
            missing = [self.layers[i] for i in range(len(self.layers)) if i not in notes]
            if missing:
                raise ValueError(f"layers {', '.join(map(repr, missing))} did not run in the model's forward pass")
            self._notes = [notes[i] for i in range(len(self.layers))]
        tensors = [o for o in outputs if o is not None]
        output = torch.cat(tensors) if tensors and len(tensors) == len(outputs) else None
        return [self._narrow(i, torch.cat(c)) for i, c in enumerate(captured)], output

    def _forward(self, rows: Inputs, device: torch.device) -> object:
        if isinstance(rows, dict):
            return self.model(**{k: v.to(device) for k, v in rows.items()})
        return self.model(rows.to(device))

    def _sensitivity_pass(self) -> tuple[list[np.ndarray], np.ndarray]:
        """Per layer, each sample's sensitivity (n,): the norm of the gradient of its own loss reaching the layer's
        output; and each sample's loss (n,). The model's parameters' gradients are left untouched."""
        loss_fn = self.loss_fn
        if loss_fn is None:
            raise ValueError("sensitivity needs a loss_fn")
        held: list[torch.Tensor | None] = [None] * len(self._modules)

        def hook(i: int):
            def hold(_module, _inputs, out) -> None:
                held[i] = pick_tensor(out, self.pick.get(self.layers[i]), self.layers[i])
            return hold

        hooks = [m.register_forward_hook(hook(i)) for i, m in enumerate(self._modules)]
        was_training = self.model.training
        device = next(self.model.parameters(), torch.empty(0)).device
        norms: list[list[torch.Tensor]] = [[] for _ in self._modules]
        losses = []
        try:
            self.model.eval()
            with torch.enable_grad():
                for start in range(0, len(self.probe_y), self.batch_size):
                    out = _model_output(self._forward(_rows(self.inputs, start, start + self.batch_size), device))
                    if out is None:
                        raise ValueError("loss_fn needs the model to output a tensor (its logits)")
                    y = torch.as_tensor(self.probe_y[start:start + self.batch_size], device=out.device)
                    loss = loss_fn(out, y)
                    if tuple(loss.shape) != (len(y),):
                        raise ValueError(f"loss_fn must return one loss per sample, shape ({len(y)},), got "
                                         f"{tuple(loss.shape)} (use reduction='none')")
                    tensors = [t for t in held if t is not None and t.requires_grad]
                    if len(tensors) != len(held):
                        raise ValueError("loss_fn: every recorded layer's output must depend on the model's "
                                         "parameters to have a gradient")
                    # summed, so each sample's layer outputs get the gradient of its own loss
                    grads = torch.autograd.grad(loss.sum(), tensors)
                    for i, g in enumerate(grads):
                        norms[i].append(g.detach().float().flatten(1).norm(dim=1).cpu())
                    losses.append(loss.detach().float().cpu())
        finally:
            for h in hooks:
                h.remove()
            self.model.train(was_training)
        return [torch.cat(n).numpy().astype(np.float32) for n in norms], torch.cat(losses).numpy().astype(np.float32)

    def _narrow(self, i: int, rows: torch.Tensor) -> np.ndarray:
        """A layer's rows, narrowed by its projection when wider than ``max_units`` (chosen at the first epoch)."""
        if self._projections is None:
            self._projections = [None] * len(self.layers)
        width = rows.shape[1]
        if self._projections[i] is None and width > self.max_units and self.run_id is None:
            self._projections[i] = Projection(width, self.max_units, seed=self.seed * 1009 + i)
            logger.warning("Layer %r has %d units after pooling: recording a seeded random projection to %d "
                           "(max_units)", self.layers[i], width, self.max_units)
            self._notes[i] += f", randomly projected from {width} to {self.max_units} units"
        projection = self._projections[i]
        return (projection(rows) if projection is not None else rows).numpy().astype(np.float32)

    def _predictions(self, output: torch.Tensor | None) -> tuple[np.ndarray | None, np.ndarray | None,
                                                                  np.ndarray | None]:
        """Predictions, their confidence and the probability given to each sample's label, when the model's output
        is one logit per class, else none (said once when the output has one number per sample but not one per
        class)."""
        n_classes = len(self.class_names)
        if output is None or output.ndim != 2 or len(output) != len(self.probe_y):
            return None, None, None
        if output.shape[1] != n_classes:
            if not self._warned_outputs:
                logger.warning("probe_y has %d classes but the model outputs %d numbers per sample: no predictions "
                               "are recorded (give class_names for the model's classes)", n_classes, output.shape[1])
                self._warned_outputs = True
            return None, None, None
        probs = torch.softmax(output, dim=1)
        confidence, predictions = probs.max(dim=1)
        label_prob = probs.gather(1, torch.as_tensor(self.probe_y)[:, None])[:, 0]
        return (predictions.numpy().astype(np.int64), confidence.numpy().astype(np.float32),
                label_prob.numpy().astype(np.float32))

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
            features = (self.inputs.flatten(1).float().numpy() if torch.is_tensor(self.inputs)
                        else np.zeros((len(self.probe_y), 0), dtype=np.float32))
            probe: dict[str, np.ndarray] = {"index": np.arange(len(self.probe_y)), "X": features.astype(np.float32),
                                            "y": self.probe_y}
            self.run_id = self.store.create_run(config, probe, config.layer_sizes, self.class_names,
                                                image_shape=self.image_shape if features.shape[1] else None,
                                                layer_notes=tuple(self._notes))
            logger.info("Recording run %s (layers %s)", self.run_id,
                        ", ".join(f"{n}: {note}" for n, note in zip(self.layers, self._notes)))
        predictions, confidence, label_prob = self._predictions(output)
        values = {k: float(v) for k, v in (metrics or {}).items()}
        if predictions is not None and "probe_acc" not in values:
            values["probe_acc"] = float((predictions == self.probe_y).mean())
        extras = {"label_prob": label_prob} if label_prob is not None else {}
        if self.loss_fn is not None:
            sens, loss = self._sensitivity_pass()
            extras |= {f"sens{i}": s for i, s in enumerate(sens)} | {"loss": loss}
            values.setdefault("probe_loss", float(loss.mean()))
        self.store.put_epoch(self.run_id, EpochRecord(epoch=epoch, activations=activations, predictions=predictions,
                                                      confidence=confidence, metrics=values, extras=extras))
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
