"""Hugging Face ``Trainer``: ``Trainer(model, args, train_dataset=..., callbacks=[EpochScopeCallback("runs",
["bert.encoder.layer.0", "bert.encoder.layer.1"], probe_batch, name="my-bert")])``, where ``probe_batch`` is a
tokenizer's batch with ``labels`` (a dict of tensors): the model is called with it as keyword arguments, the
layers' token outputs are pooled over the attention mask, and the tensor of a layer's tuple or ``ModelOutput`` is
picked (:mod:`epochscope.record.capture`)."""

from __future__ import annotations

import os
from collections.abc import Sequence

from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments

from epochscope.callbacks.common import Recording, scalar_metrics
from epochscope.record.recorder import Recorder


class EpochScopeCallback(TrainerCallback):
    """Records ``layers`` of the Trainer's model on a probe set into ``logdir``.

    Parameters
    ----------
    logdir : path
    layers : sequence of str
        Names of the model's submodules (``dict(model.named_modules())`` keys).
    probe_X, probe_y
        The probe set (:class:`~epochscope.record.recorder.Recorder`); a tokenizer's batch carries its labels.
    name : str
        The run's name.
    every_n_steps : int, optional
        Record every this many optimizer steps instead of at each epoch's end.
    **options
        Further :class:`~epochscope.record.recorder.Recorder` options (``loss_fn``, ``pooling``, ``pick``,
        ``class_names``, ...).

    Each record's metrics are the scalars last logged by the Trainer (``loss``, ``eval_loss``, ...).
    """

    def __init__(self, logdir: str | os.PathLike, layers: Sequence[str], probe_X, probe_y=None, *, name: str,
                 every_n_steps: int | None = None, **options) -> None:
        self.recording = Recording(logdir, layers, probe_X, probe_y, name=name, every_n_steps=every_n_steps,
                                   options=options)
        self._logged: dict[str, float] = {}

    @property
    def recorder(self) -> Recorder | None:
        return self.recording.recorder

    def on_train_begin(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, model=None,
                       **kwargs) -> None:
        if state.is_world_process_zero and model is not None:
            self.recording.start(model)
            self._record(state)

    def _record(self, state: TrainerState) -> None:
        self.recording.record(step=state.global_step, epoch=int(state.epoch or 0), metrics=self._logged)

    def on_log(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, logs=None,
               **kwargs) -> None:
        self._logged.update(scalar_metrics(logs))

    def on_step_end(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs) -> None:
        if self.recording.schedule.at_step(state.global_step):
            self._record(state)

    def on_epoch_end(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs) -> None:
        if self.recording.schedule.at_epoch_end:
            self._record(state)

    def on_train_end(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs) -> None:
        self.recording.finish("complete")
