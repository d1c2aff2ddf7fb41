"""What the callbacks share: when to record, and the framework's logged numbers as a record's metrics."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping

import torch


class Schedule:
    """When a callback records: before training (epoch or step 0), then at each epoch's end, or every
    ``every_n_steps`` steps when given.

    ``ValueError`` naming ``every_n_steps`` and its range when it is not a positive integer.
    """

    def __init__(self, every_n_steps: int | None) -> None:
        if every_n_steps is not None and (isinstance(every_n_steps, bool) or not isinstance(every_n_steps, int)
                                          or not 1 <= every_n_steps <= 10**9):
            raise ValueError(f"every_n_steps must be an integer in 1..1000000000 or None, got {every_n_steps!r}")
        self.every_n_steps = every_n_steps

    @property
    def unit(self) -> str:
        return "epoch" if self.every_n_steps is None else "step"

    def at_step(self, step: int) -> bool:
        """Whether to record after training step ``step`` (counted from 1)."""
        return self.every_n_steps is not None and step > 0 and step % self.every_n_steps == 0

    @property
    def at_epoch_end(self) -> bool:
        return self.every_n_steps is None


def scalar_metrics(values: Mapping[str, object] | None) -> dict[str, float]:
    """The finite scalars of ``values`` (numbers, one-element tensors or arrays) as floats; the rest left out."""
    found: dict[str, float] = {}
    for key, value in (values or {}).items():
        if torch.is_tensor(value):
            if value.numel() != 1:
                continue
            value = value.detach().float().cpu().item()
        elif hasattr(value, "item") and getattr(value, "size", 0) == 1:
            value = value.item()
        if isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(float(value)):
            found[str(key)] = float(value)
    return found
