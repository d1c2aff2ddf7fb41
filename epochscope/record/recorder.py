"""Record your own torch model from your own training loop into a log directory, which EpochScope shows
(``epochscope serve --logdir runs``) live while it grows::

    from epochscope import Recorder

    with Recorder("runs", model, layers=["conv2", "fc1"], probe_X=X_probe, probe_y=y_probe, name="my-cnn",
                  loss_fn=lambda out, y: F.cross_entropy(out, y, reduction="none")) as recorder:
        recorder.record(metrics={"test_acc": evaluate(model)})   # epoch 0, before training
        for epoch in range(1, n_epochs + 1):
            train_one_epoch(model)
            recorder.record(metrics={"test_acc": evaluate(model)})

Each chosen layer's output is captured by a forward hook during a pass over the probe set (in eval mode) and
reduced to (n_probe, units) (:mod:`epochscope.record.capture`): the tensor is taken out of a tuple, list, dict or
``ModelOutput`` (by position or key, per layer: ``pick``), then pooled (``pooling``, per layer or for all: a
sequence (batch, tokens, hidden) by its mean over the non-padding tokens by default, or its first or last token;
an image (batch, channels, h, w) flattened by default, or by channel means), recorded as float32 whatever the
model computes in, and a layer wider than ``max_units`` is narrowed by a seeded random projection (with a warning
naming the layer and the width kept). How each layer was reduced is stated in the run (``layer_notes``). The probe
may be a tensor, an array, a dict of tensors (a Hugging Face batch: the model is called with it as keyword
arguments, its ``attention_mask`` masks the pooling, its ``labels`` are the probe's labels unless ``probe_y`` is
given), a ``Dataset`` or a ``DataLoader`` (:mod:`epochscope.record.probe`). If the model's output is one logit per
class, the predictions, their softmax confidence and each sample's label probability are recorded too.

Records stand for epochs (``unit="epoch"``: record ``k`` is epoch ``k``, epoch 0 before training) or for training
steps (``unit="step"``: each record names its step, and the page's slider shows steps). Leaving the ``with`` block
normally marks the run complete; an exception marks it failed; a killed process leaves it interrupted. The files
are described in :mod:`epochscope.record.logdir`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import torch

from epochscope.record.capture import POOLINGS, Projection, default_pooling, describe_pooling, pick_tensor, pool
from epochscope.record.logdir import NAME, UNITS, LogWriter, RunHeader
from epochscope.record.probe import Inputs, gather_probe, rows_of
from epochscope.record.taps import ModuleTap, Tap

logger = logging.getLogger(__name__)

#: a layer wider than this is narrowed by a seeded random projection (the layout's cost grows with the width)
MAX_UNITS = 4096
#: the widest ``max_units`` accepted
MAX_UNITS_LIMIT = 65536

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _per_layer_pooling(pooling: str | Mapping[str, str], layers: Sequence[str]) -> dict[str, str]:
    per_layer = {n: pooling for n in layers} if isinstance(pooling, str) else {n: "auto" for n in layers}
    if not isinstance(pooling, str):
        strays = sorted(set(pooling) - set(layers))
        if strays:
            raise ValueError(f"pooling names layers not recorded: {', '.join(strays)}")
        per_layer.update(pooling)
    for layer, how in per_layer.items():
        if how not in POOLINGS:
            raise ValueError(f"pooling of layer {layer!r} must be one of {', '.join(POOLINGS)}, got {how!r}")
    return per_layer


class Recorder:
    """Records chosen layers of a model on a fixed probe set into a log directory, once per call of
    :meth:`record`.

    Parameters
    ----------
    logdir : path
        The log directory; the run is written to ``logdir / name`` (``name-2``, ... when taken).
    model : nn.Module or Tap
        The model (its layers found by name), or a :class:`~epochscope.record.taps.Tap` that runs it (the Keras
        callback's).
    layers : sequence of str
        Names of submodules (``dict(model.named_modules())`` keys) whose outputs to record, in display order.
    probe_X : tensor, array, dict of tensors, Dataset or DataLoader
        Inputs as the model takes them (e.g. (n, 1, 8, 8) images, or a tokenizer's batch); see the module doc.
    probe_y : array-like of shape (n_probe,), optional
        Integer class labels, ``0 .. n_classes - 1``; needed unless ``probe_X`` holds them.
    name : str
        The run's name (1..64 letters, digits, ``_ . -``).
    class_names : sequence of str, optional
        Defaults to the label numbers.
    image_shape : (int, int), optional
        (height, width) to show a probe sample as an image in the inspector; by default the last two axes of
        ``probe_X`` when it holds single-channel images ((n, h, w) or (n, 1, h, w)), else none.
    seed : int
        Seeds the projections of wide layers.
    batch_size : int
        Probe samples per forward pass.
    pooling : str or mapping of layer -> str
        How a layer's output becomes one row per sample (:data:`~epochscope.record.capture.POOLINGS`; ``auto``:
        by shape), for every layer or per layer (the others ``auto``).
    pick : mapping of layer -> int or str, optional
        Which tensor of a layer's tuple (position) or dict / ``ModelOutput`` (key) output to record.
    max_units : int
        A layer with more units (after pooling) is narrowed to this many by a seeded random projection.
    loss_fn : callable, optional
        ``loss_fn(output, labels) -> (batch,)``: one loss per sample from the model's output tensor (its logits)
        and the labels, e.g. ``lambda out, y: F.cross_entropy(out, y, reduction="none")``. Given, each record also
        holds every sample's loss and its sensitivity at each layer (the norm of the gradient of its loss reaching
        the layer's output, as the built-in trainer records it), for the data map and the sensitivity colouring.
    unit : {"epoch", "step"}
        What a record stands for.
    """

    def __init__(self, logdir: str | os.PathLike, model: torch.nn.Module | Tap, layers: Sequence[str], probe_X,
                 probe_y=None, *, name: str, class_names: Sequence[str] | None = None,
                 image_shape: tuple[int, int] | None = None, seed: int = 0, batch_size: int = 1024,
                 pooling: str | Mapping[str, str] = "auto", pick: Mapping[str, int | str] | None = None,
                 max_units: int = MAX_UNITS, loss_fn: LossFn | None = None, unit: str = "epoch") -> None:
        layers = list(layers)
        if not isinstance(name, str) or not NAME.match(name):
            raise ValueError(f"name must be 1..64 letters, digits or _.-, got {name!r}")
        self.tap = model if isinstance(model, Tap) else ModuleTap(model, layers)
        if unit not in UNITS:
            raise ValueError(f"unit must be one of {', '.join(UNITS)}, got {unit!r}")
        if not 1 <= max_units <= MAX_UNITS_LIMIT:
            raise ValueError(f"max_units must be in 1..{MAX_UNITS_LIMIT}, got {max_units}")
        if not 1 <= batch_size <= 1_000_000:
            raise ValueError(f"batch_size must be in 1..1000000, got {batch_size}")
        self.layers, self.name, self.unit, self.seed, self.batch_size = layers, name, unit, seed, batch_size
        self.pooling, self.pick = _per_layer_pooling(pooling, layers), dict(pick or {})
        self.max_units, self.loss_fn = max_units, loss_fn
        self.inputs, self.probe_y = gather_probe(probe_X, probe_y)
        n_classes = int(self.probe_y.max()) + 1 if len(self.probe_y) else 0
        self.class_names = tuple(class_names) if class_names is not None else tuple(str(c) for c in range(n_classes))
        if len(self.class_names) < n_classes:
            raise ValueError(f"class_names has {len(self.class_names)} names for {n_classes} classes")
        shape = tuple(self.inputs.shape[1:]) if torch.is_tensor(self.inputs) else ()
        if image_shape is None and (len(shape) == 2 or (len(shape) == 3 and shape[0] == 1)):
            image_shape = (int(shape[-2]), int(shape[-1]))
        self.image_shape = image_shape
        self.logdir = Path(logdir)
        self._writer: LogWriter | None = None
        self._last_step: int | None = None
        self._projections: list[Projection | None] = [None] * len(layers)
        self._notes: list[str] = []
        self._warned_outputs = False

    @property
    def path(self) -> Path | None:
        """The run's folder, once the first record is written."""
        return self._writer.path if self._writer is not None else None

    @property
    def records(self) -> int:
        """How many records are written."""
        return self._writer.records if self._writer is not None else 0

    @property
    def last_step(self) -> int | None:
        """The step of the last record, for a run recorded by steps."""
        return self._last_step

    # -- one pass over the probe ------------------------------------------------------------------------
    def _reduce(self, i: int, out: object, mask: torch.Tensor | None) -> torch.Tensor:
        layer = self.layers[i]
        t = pick_tensor(out, self.pick.get(layer), layer)
        how = self.pooling[layer]
        resolved = default_pooling(tuple(t.shape)) if how == "auto" else how
        rows = pool(t, resolved, layer, mask).cpu()
        if len(self._notes) == i:
            self._notes.append(describe_pooling(resolved, tuple(t.shape), mask is not None and t.ndim == 3))
        return rows

    def _batch(self, rows: Inputs, start: int, captured: list[list[torch.Tensor]], outputs: list,
               norms: list[list[torch.Tensor]], losses: list[torch.Tensor]) -> None:
        """One probe batch: each layer's rows, the model's output and, with a ``loss_fn``, each sample's loss
        and the gradient norm reaching each layer (the model's own gradients left untouched)."""
        mask = rows.get("attention_mask") if isinstance(rows, dict) else None
        raw, logits = self.tap(rows, grad=self.loss_fn is not None)
        for i, out in enumerate(raw):
            captured[i].append(self._reduce(i, out, mask))
        outputs.append(logits.detach().float().cpu() if logits is not None else None)
        if self.loss_fn is None:
            return
        if logits is None:
            raise ValueError("loss_fn needs the model to output a tensor (its logits)")
        y = torch.as_tensor(self.probe_y[start:start + len(captured[0][-1])], device=logits.device)
        loss = self.loss_fn(logits, y)
        if tuple(loss.shape) != (len(y),):
            raise ValueError(f"loss_fn must return one loss per sample, shape ({len(y)},), got {tuple(loss.shape)} "
                             f"(use reduction='none')")
        tensors = [pick_tensor(out, self.pick.get(layer), layer) for out, layer in zip(raw, self.layers)]
        if not all(t.requires_grad for t in tensors):
            raise ValueError("loss_fn: every recorded layer's output must depend on the model's parameters to have "
                             "a gradient")
        # summed, so each sample's layer outputs get the gradient of its own loss
        for i, g in enumerate(torch.autograd.grad(loss.sum(), tensors)):
            norms[i].append(g.detach().float().flatten(1).norm(dim=1).cpu())
        losses.append(loss.detach().float().cpu())

    def _probe_pass(self) -> tuple[list[np.ndarray], torch.Tensor | None, dict[str, np.ndarray]]:
        """Each layer's (n, units) rows, the model's output (n, ...) when it has one, and the per-sample extras
        of a ``loss_fn`` (``loss``, ``sens<i>``)."""
        n_layers = len(self.layers)
        captured: list[list[torch.Tensor]] = [[] for _ in range(n_layers)]
        norms: list[list[torch.Tensor]] = [[] for _ in range(n_layers)]
        outputs: list = []
        losses: list[torch.Tensor] = []
        for start in range(0, len(self.probe_y), self.batch_size):
            self._batch(rows_of(self.inputs, start, start + self.batch_size), start, captured, outputs, norms, losses)
        tensors = [o for o in outputs if o is not None]
        output = torch.cat(tensors) if tensors and len(tensors) == len(outputs) else None
        extras: dict[str, np.ndarray] = {}
        if losses:
            extras = {f"sens{i}": torch.cat(n).numpy().astype(np.float32) for i, n in enumerate(norms)}
            extras["loss"] = torch.cat(losses).numpy().astype(np.float32)
        return [self._narrow(i, torch.cat(c)) for i, c in enumerate(captured)], output, extras

    def _narrow(self, i: int, rows: torch.Tensor) -> np.ndarray:
        """A layer's rows, narrowed by its projection when wider than ``max_units`` (chosen at the first record)."""
        width = rows.shape[1]
        if self._projections[i] is None and width > self.max_units and self._writer is None:
            self._projections[i] = Projection(width, self.max_units, seed=self.seed * 1009 + i)
            logger.warning("Layer %r has %d units after pooling: recording a seeded random projection to %d "
                           "(max_units)", self.layers[i], width, self.max_units)
            self._notes[i] += f", randomly projected from {width} to {self.max_units} units"
        projection = self._projections[i]
        return (projection(rows) if projection is not None else rows).numpy().astype(np.float32)

    def _predictions(self, output: torch.Tensor | None) -> dict[str, np.ndarray]:
        """``predictions``, their ``confidence`` and ``x_label_prob``, the probability given to each sample's label,
        when the model's output is one logit per class; else none (said once when the output has one row per
        sample but not one number per class)."""
        n_classes = len(self.class_names)
        if output is None or output.ndim != 2 or len(output) != len(self.probe_y):
            return {}
        if output.shape[1] != n_classes:
            if not self._warned_outputs:
                logger.warning("probe_y has %d classes but the model outputs %d numbers per sample: no predictions "
                               "are recorded (give class_names for the model's classes)", n_classes, output.shape[1])
                self._warned_outputs = True
            return {}
        probs = torch.softmax(output, dim=1)
        confidence, predictions = probs.max(dim=1)
        label_prob = probs.gather(1, torch.as_tensor(self.probe_y)[:, None])[:, 0]
        return {"predictions": predictions.numpy().astype(np.int64),
                "confidence": confidence.numpy().astype(np.float32),
                "x_label_prob": label_prob.numpy().astype(np.float32)}

    # -- records ------------------------------------------------------------------------------------------
    def _check_position(self, epoch: int | None, step: int | None) -> int | None:
        """The record's epoch, checked against what a record of this run's unit must say."""
        if self.unit == "epoch":
            epoch = self.records if epoch is None else epoch
            if epoch != self.records:
                raise ValueError(f"epoch must be {self.records} (epochs are recorded in order, 0 first), got {epoch}")
            return epoch
        if step is None or isinstance(step, bool) or not isinstance(step, (int, np.integer)) or step < 0:
            raise ValueError(f"step must be an integer >= 0 for a run recorded by steps, got {step!r}")
        if self._last_step is not None and step <= self._last_step:
            raise ValueError(f"step must grow: the last record was step {self._last_step}, got {step}")
        return epoch

    def _start(self, activations: list[np.ndarray]) -> None:
        features = (self.inputs.flatten(1).float().cpu().numpy() if torch.is_tensor(self.inputs)
                    else np.zeros((len(self.probe_y), 0), dtype=np.float32))
        image_shape = self.image_shape if features.shape[1] else None
        if image_shape is not None and image_shape[0] * image_shape[1] != features.shape[1]:
            raise ValueError(f"image_shape {image_shape} must hold the {features.shape[1]} features of a sample")
        header = RunHeader(name=self.name, layers=tuple(self.layers),
                           layer_sizes=tuple(a.shape[1] for a in activations),
                           n_probe=len(self.probe_y), class_names=tuple(str(c) for c in self.class_names),
                           unit=self.unit, layer_notes=tuple(self._notes), image_shape=image_shape, seed=self.seed)
        writer = LogWriter(self.logdir, header)
        writer.start({"index": np.arange(len(self.probe_y)), "X": features.astype(np.float32), "y": self.probe_y})
        self._writer = writer
        logger.info("Recording run %s (layers %s)", writer.path,
                    ", ".join(f"{n}: {note}" for n, note in zip(self.layers, self._notes)))

    def record(self, epoch: int | None = None, *, step: int | None = None,
               metrics: Mapping[str, float] | None = None) -> int:
        """Record the chosen layers on the probe set; returns the record's index (its epoch, for a run by
        epochs). ``epoch``: by epochs, the next one (the default); ``step``: by steps, the training step, growing.
        ``metrics``: numbers to plot beside the run (``probe_acc`` and ``probe_loss`` are added when known)."""
        epoch = self._check_position(epoch, step)
        activations, output, extras = self._probe_pass()
        if self._writer is None:
            self._start(activations)
        assert self._writer is not None
        arrays: dict[str, np.ndarray] = {f"act{i}": a for i, a in enumerate(activations)}
        arrays |= self._predictions(output)
        arrays |= {f"x_{k}": v for k, v in extras.items()}
        values = {str(k): float(v) for k, v in (metrics or {}).items()}
        if "predictions" in arrays:
            values.setdefault("probe_acc", float((arrays["predictions"] == self.probe_y).mean()))
        if "x_loss" in arrays:
            values.setdefault("probe_loss", float(arrays["x_loss"].mean()))
        self._last_step = step if step is not None else self._last_step
        return self._writer.append(arrays, epoch=epoch, step=step, metrics=values)

    def finish(self, state: str = "complete", message: str = "") -> None:
        """Mark the run ``complete`` (or ``failed`` with a message)."""
        if self._writer is not None:
            self._writer.finish(state, message)

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc is None:
            self.finish("complete")
        else:
            self.finish("failed", f"recording stopped: {exc_type.__name__}: {exc}")
