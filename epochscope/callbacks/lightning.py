"""PyTorch Lightning: ``trainer = Trainer(callbacks=[EpochScopeCallback("runs", ["encoder.1"], X, y,
name="my-run")])``. Uses ``lightning.pytorch`` when installed, else ``pytorch_lightning``."""

from __future__ import annotations

import os
from collections.abc import Sequence

try:
    import lightning.pytorch as pl
except ImportError:  # the standalone package
    import pytorch_lightning as pl

from epochscope.callbacks.common import Schedule, scalar_metrics
from epochscope.record.recorder import Recorder


class EpochScopeCallback(pl.Callback):
    """Records ``layers`` of the ``LightningModule`` on a probe set into ``logdir``.

    Parameters
    ----------
    logdir : path
    layers : sequence of str
        Names of the module's submodules (``dict(module.named_modules())`` keys).
    probe_X, probe_y
        The probe set (:class:`~epochscope.record.recorder.Recorder`).
    name : str
        The run's name.
    every_n_steps : int, optional
        Record every this many optimizer steps instead of at each epoch's end.
    **options
        Further :class:`~epochscope.record.recorder.Recorder` options (``loss_fn``, ``pooling``, ``pick``,
        ``class_names``, ...).

    Each record's metrics are the trainer's ``callback_metrics`` (what ``self.log`` logged) that are scalars.
    """

    def __init__(self, logdir: str | os.PathLike, layers: Sequence[str], probe_X, probe_y=None, *, name: str,
                 every_n_steps: int | None = None, **options) -> None:
        super().__init__()
        self.schedule = Schedule(every_n_steps)
        self._args = (logdir, list(layers), probe_X, probe_y)
        self._options = {"name": name, **options}
        self.recorder: Recorder | None = None

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not trainer.is_global_zero:
            return
        logdir, layers, probe_X, probe_y = self._args
        self.recorder = Recorder(logdir, pl_module, layers, probe_X, probe_y, unit=self.schedule.unit,
                                 **self._options)
        self._record(trainer)

    def _record(self, trainer: pl.Trainer) -> None:
        if self.recorder is None:
            return
        metrics = scalar_metrics(trainer.callback_metrics)
        if self.schedule.unit == "step":
            self.recorder.record(step=trainer.global_step, epoch=trainer.current_epoch, metrics=metrics)
        else:
            self.recorder.record(metrics=metrics)

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs, batch,
                           batch_idx: int) -> None:
        # with gradient accumulation, several batches end on one optimizer step: recorded once
        if (self.recorder is not None and self.schedule.at_step(trainer.global_step)
                and trainer.global_step != self.recorder.last_step):
            self._record(trainer)

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.schedule.at_epoch_end:
            self._record(trainer)

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.recorder is not None:
            self.recorder.finish("complete")

    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException) -> None:
        if self.recorder is not None:
            self.recorder.finish("failed", f"training stopped: {type(exception).__name__}: {exception}")
