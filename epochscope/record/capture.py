"""What a recorded layer's forward output becomes: one row of numbers per probe sample.

Real models return more than one tensor and more than one number per sample: a Hugging Face layer returns a
tuple (or a ``ModelOutput``, a dict) whose first element is ``(batch, tokens, hidden)``; a convolution returns
``(batch, channels, height, width)``. :func:`pick_tensor` takes the tensor out of an output, :func:`pool` reduces
it to ``(batch, units)``, and :class:`Projection` narrows a layer wider than a limit by a seeded random
projection (the same at every epoch, so frames stay comparable). Pure functions of torch tensors.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch

#: how a layer's output is reduced to one row per sample: ``auto`` chooses by shape (:func:`default_pooling`)
POOLINGS = ("auto", "flatten", "mean", "first", "last", "channels")
#: the keys tried, in order, for the tensor of a dict-like output (a ``ModelOutput``) when none is named
OUTPUT_KEYS = ("last_hidden_state", "hidden_states", "logits")


def pick_tensor(output: object, pick: int | str | None, layer: str) -> torch.Tensor:
    """The tensor in a module's ``output``: the output itself; of a tuple or list, the element at index ``pick``
    (default 0); of a dict or ``ModelOutput``, the value under key ``pick`` (default: the first of
    :data:`OUTPUT_KEYS` present, else the first tensor). ``ValueError`` naming the layer and what it holds."""
    if torch.is_tensor(output):
        return output
    if isinstance(output, Mapping) or hasattr(output, "keys"):
        items = {str(k): output[k] for k in output.keys()}  # type: ignore[index]
        key = pick if isinstance(pick, str) else next((k for k in OUTPUT_KEYS if torch.is_tensor(items.get(k))),
                                                      next((k for k, v in items.items() if torch.is_tensor(v)), None))
        if key is None or not torch.is_tensor(items.get(key)):
            raise ValueError(f"layer {layer!r} outputs keys {', '.join(items) or 'none'}: pick one that holds a "
                             f"tensor, got {pick!r}")
        return items[key]
    if isinstance(output, (tuple, list)):
        index = 0 if pick is None else pick
        if not isinstance(index, int) or not -len(output) <= index < len(output) or not torch.is_tensor(output[index]):
            kinds = ", ".join(type(o).__name__ for o in output)
            raise ValueError(f"layer {layer!r} outputs a {type(output).__name__} of {len(output)} ({kinds}): pick "
                             f"the position of a tensor, got {pick!r}")
        return output[index]
    raise ValueError(f"layer {layer!r} outputs a {type(output).__name__}, not a tensor")


def default_pooling(shape: tuple[int, ...]) -> str:
    """The pooling ``auto`` stands for, by the output's shape (batch first): ``flatten`` for (batch, units) and
    for images (batch, channels, height, width) (every unit at every place, as a convolution's activations are
    usually compared), ``mean`` for a sequence (batch, tokens, hidden): one token-averaged row per sample."""
    return "mean" if len(shape) == 3 else "flatten"


def pool(t: torch.Tensor, pooling: str, layer: str, mask: torch.Tensor | None = None) -> torch.Tensor:
    """``t`` (batch, ...) as (batch, units), float32.

    Parameters
    ----------
    t : Tensor of shape (batch, ...)
    pooling : str
        One of :data:`POOLINGS`: ``flatten`` every unit; ``mean`` over tokens (batch, tokens, hidden), only the
        non-padding ones when ``mask`` is given; ``first`` / ``last`` token (``last``: the last non-padding one
        with a mask); ``channels``: the mean of each channel over its places (batch, channels, ...).
    layer : str
        Named in errors.
    mask : Tensor of shape (batch, tokens), optional
        The attention mask (1: a token, 0: padding).
    """
    if pooling not in POOLINGS:
        raise ValueError(f"pooling of layer {layer!r} must be one of {', '.join(POOLINGS)}, got {pooling!r}")
    t = t.detach()
    if pooling == "auto":
        pooling = default_pooling(tuple(t.shape))
    if pooling in ("mean", "first", "last") and t.ndim != 3:
        raise ValueError(f"pooling {pooling!r} of layer {layer!r} needs a (batch, tokens, hidden) output, got shape "
                         f"{tuple(t.shape)}")
    if pooling == "channels" and t.ndim < 3:
        raise ValueError(f"pooling 'channels' of layer {layer!r} needs a (batch, channels, ...) output, got shape "
                         f"{tuple(t.shape)}")
    t = t.float()
    if mask is not None and t.ndim == 3 and tuple(mask.shape) != tuple(t.shape[:2]):
        mask = None  # not this layer's tokens (e.g. a pooled or reshaped output): every token counts
    if pooling == "flatten":
        return t.flatten(1)
    if pooling == "channels":
        return t.flatten(2).mean(dim=2)
    if pooling == "first":
        return t[:, 0]
    if pooling == "last":
        if mask is None:
            return t[:, -1]
        last = (mask.long().cumsum(dim=1).argmax(dim=1)).clamp(min=0)
        return t[torch.arange(len(t)), last]
    if mask is None:
        return t.mean(dim=1)
    weights = mask.to(t.dtype).unsqueeze(-1)
    return (t * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)


def describe_pooling(pooling: str, shape: tuple[int, ...], masked: bool) -> str:
    """How a layer was reduced, in words, as the run states it (``pooling`` already resolved from ``auto``)."""
    words = {"flatten": "every unit", "mean": "mean over tokens" + (" (attention mask)" if masked else ""),
             "first": "first token", "last": "last token" + (" (attention mask)" if masked else ""),
             "channels": "mean of each channel"}[pooling]
    return f"{words} of {tuple(shape[1:])}"


@dataclass(frozen=True)
class Projection:
    """A seeded sparse random projection (a signed count sketch) from ``width`` units to ``kept``: each unit is
    added, with a random sign, to one of the ``kept`` outputs. Inner products, hence distances, are kept in
    expectation, it costs O(width) memory whatever the width (a dense Gaussian matrix from 100,000 units to 4,096
    would take 1.6 GB), and it is the same at every epoch, so frames stay comparable."""

    width: int
    kept: int
    seed: int

    def __call__(self, rows: torch.Tensor) -> torch.Tensor:
        """``rows`` (batch, width) as (batch, kept), float32."""
        g = torch.Generator().manual_seed(self.seed)
        bucket = torch.randint(self.kept, (self.width,), generator=g)
        sign = torch.randint(2, (self.width,), generator=g).float() * 2 - 1
        rows = rows.float().cpu()
        return torch.zeros(len(rows), self.kept).index_add_(1, bucket, rows * sign)
