"""A probe set as the model takes it, gathered from what a user has: a tensor, an array, a dict of tensors (a
Hugging Face batch), a ``Dataset`` or a ``DataLoader``; and the model's own output tensor."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from epochscope.record.capture import pick_tensor

#: the keys of a Hugging Face batch that hold the labels
LABEL_KEYS = ("labels", "label")

#: a probe's inputs: one tensor, or a dict of tensors (keyword arguments of the model)
Inputs = torch.Tensor | dict[str, torch.Tensor]


def _array(value: object) -> np.ndarray:
    """A tensor (on any device) or array-like as a numpy array."""
    return value.detach().cpu().numpy() if torch.is_tensor(value) else np.asarray(value)


def _stack(values: list) -> torch.Tensor:
    try:
        return torch.stack([torch.as_tensor(v).cpu() for v in values])
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
    join = (lambda v: torch.cat([torch.as_tensor(t).cpu() for t in v])) if batched else _stack
    inputs: Inputs = ({k: join([x[k] for x in xs]) for k in xs[0]} if isinstance(xs[0], Mapping) else join(xs))
    labels = None
    if ys:
        labels = np.concatenate([_array(y).reshape(-1) for y in ys]) if batched else np.asarray(
            [_array(y).item() for y in ys])
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
        batch = {str(k): torch.as_tensor(v).detach().cpu() for k, v in probe_X.items()}
        labels = next((batch.pop(k).numpy() for k in LABEL_KEYS if k in batch), None)
        inputs = batch
    else:
        # kept on the CPU: each batch goes to the model's device as it is run
        inputs = probe_X.detach().cpu() if torch.is_tensor(probe_X) else torch.as_tensor(np.asarray(probe_X))
    if probe_y is not None:
        labels = _array(probe_y)
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


def rows_of(inputs: Inputs, start: int, stop: int) -> Inputs:
    return {k: v[start:stop] for k, v in inputs.items()} if isinstance(inputs, dict) else inputs[start:stop]


def model_output(out: object) -> torch.Tensor | None:
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
