"""PyTorch Lightning: ``trainer = Trainer(callbacks=[EpochScopeCallback("runs", ["encoder.1"], X, y,
name="my-run")])``. Uses ``lightning.pytorch`` when installed, else ``pytorch_lightning``."""

from __future__ import annotations

import os
from collections.abc import Sequence

try:
    import lightning.pytorch as pl
except ImportError:  # the standalone package
    import pytorch_lightning as pl

from epochscope.callbacks.common import Recording, scalar_metrics
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
        self.recording = Recording(logdir, layers, probe_X, probe_y, name=name, every_n_steps=every_n_steps,
                                   options=options)

    @property
    def recorder(self) -> Recorder | None:
        return self.recording.recorder

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.is_global_zero:
            self.recording.start(pl_module)
            self._record(trainer)

    def _record(self, trainer: pl.Trainer) -> None:
        self.recording.record(step=trainer.global_step, epoch=trainer.current_epoch,
                              metrics=scalar_metrics(trainer.callback_metrics))

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs, batch,
                           batch_idx: int) -> None:
        # with gradient accumulation, several batches end on one optimizer step: recorded once
        if (self.recorder is not None and self.recording.schedule.at_step(trainer.global_step)
                and trainer.global_step != self.recorder.last_step):
            self._record(trainer)

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.recording.schedule.at_epoch_end:
            self._record(trainer)

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.recording.finish("complete")

    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException) -> None:
        self.recording.finish("failed", f"training stopped: {type(exception).__name__}: {exception}")
