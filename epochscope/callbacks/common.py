"""What the callbacks share: when to record, and the framework's logged numbers as a record's metrics."""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Mapping, Sequence

import torch

from epochscope.record.recorder import Recorder
from epochscope.record.taps import Tap


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


class Recording:
    """What every callback does with its recorder: keeps the :class:`~epochscope.record.recorder.Recorder`'s
    arguments until training starts and the model is known (:meth:`start`), then records an epoch or a step
    as the schedule's unit asks (:meth:`record`) and ends the run (:meth:`finish`). Before :meth:`start` (on a
    process that does not record), :meth:`record` and :meth:`finish` do nothing."""

    def __init__(self, logdir: str | os.PathLike, layers: Sequence[str], probe_X, probe_y, *, name: str,
                 every_n_steps: int | None, options: Mapping[str, object]) -> None:
        self.schedule = Schedule(every_n_steps)
        self.logdir, self.layers, self.probe_X, self.probe_y = logdir, list(layers), probe_X, probe_y
        self.options = {"name": name, **options}
        self.recorder: Recorder | None = None

    def start(self, model: torch.nn.Module | Tap) -> None:
        self.recorder = Recorder(self.logdir, model, self.layers, self.probe_X, self.probe_y,
                                 unit=self.schedule.unit, **self.options)  # type: ignore[arg-type]

    def record(self, *, step: int, epoch: int, metrics: Mapping[str, float]) -> None:
        """The next record: by steps, at ``step`` (of ``epoch``); by epochs, the next epoch."""
        if self.recorder is None:
            return
        if self.schedule.unit == "step":
            self.recorder.record(step=step, epoch=epoch, metrics=metrics)
        else:
            self.recorder.record(metrics=metrics)

    def finish(self, state: str = "complete", message: str = "") -> None:
        if self.recorder is not None:
            self.recorder.finish(state, message)


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
