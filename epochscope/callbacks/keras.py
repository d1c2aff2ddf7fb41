"""Keras 3 on the torch backend (``KERAS_BACKEND=torch``): ``model.fit(x, y, callbacks=[EpochScopeCallback("runs",
["dense", "dense_1"], x_probe, y_probe, name="my-mlp")])``. The model must know its inputs (built from a
``keras.Input``, as a functional or ``Sequential`` model with one), so that its layers' outputs can be asked for.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import keras
import torch

from epochscope.callbacks.common import Recording, scalar_metrics
from epochscope.record.probe import Inputs
from epochscope.record.recorder import Recorder
from epochscope.record.taps import Tap

if keras.backend.backend() != "torch":
    raise ImportError(f"epochscope.callbacks.keras needs Keras on the torch backend (set KERAS_BACKEND=torch before "
                      f"importing keras); this one runs on {keras.backend.backend()!r}")


class KerasTap(Tap):
    """A Keras model's named layers' outputs and its own output, from one call of a model that returns them all.

    A model whose last layer ends in a softmax hands back the log of its probabilities as its logits (their
    softmax is the model's output again), so that predictions, confidence and a ``loss_fn`` taking logits hold.
    ``ValueError`` listing the model's layers when one of ``layers`` is not among them.
    """

    def __init__(self, model: keras.Model, layers: Sequence[str]) -> None:
        known = [layer.name for layer in model.layers]
        unknown = [n for n in layers if n not in known]
        if not layers or unknown:
            raise ValueError(f"layers {', '.join(map(repr, unknown)) or '[]'} not in the model; its layers are: "
                             f"{', '.join(known) or 'none'}")
        try:
            inputs = model.inputs
        except (AttributeError, ValueError):
            inputs = None
        if not inputs:
            raise ValueError("the Keras model must know its inputs to record its layers: build it from a "
                             "keras.Input(shape=...)")
        self.layers = list(layers)
        outputs = [model.get_layer(n).output for n in layers]
        self._model = keras.Model(inputs=inputs, outputs=[*outputs, model.outputs[0]])
        last = model.layers[-1]
        self._softmax = getattr(last, "activation", None) is keras.activations.softmax

    def __call__(self, rows: Inputs, grad: bool) -> tuple[list[object], torch.Tensor | None]:
        with torch.set_grad_enabled(grad):
            values = self._model(rows, training=False)
            output = values[-1]
            if self._softmax:
                output = torch.log(output.clamp_min(1e-30))
        return list(values[:-1]), output


class EpochScopeCallback(keras.callbacks.Callback):
    """Records ``layers`` (Keras layer names, ``[layer.name for layer in model.layers]``) on a probe set into
    ``logdir``.

    Parameters
    ----------
    logdir : path
    layers : sequence of str
    probe_X, probe_y
        The probe set (:class:`~epochscope.record.recorder.Recorder`), as arrays or tensors.
    name : str
        The run's name.
    every_n_steps : int, optional
        Record every this many training batches instead of at each epoch's end.
    **options
        Further :class:`~epochscope.record.recorder.Recorder` options (``loss_fn`` taking torch logits and
        labels, ``pooling``, ``class_names``, ...).

    Each record's metrics are the scalars in the ``logs`` Keras hands the callback (``loss``, ``accuracy``,
    ``val_loss``, ...).
    """

    def __init__(self, logdir: str | os.PathLike, layers: Sequence[str], probe_X, probe_y=None, *, name: str,
                 every_n_steps: int | None = None, **options) -> None:
        super().__init__()
        self.recording = Recording(logdir, layers, probe_X, probe_y, name=name, every_n_steps=every_n_steps,
                                   options=options)
        self._steps = self._epoch = 0

    @property
    def recorder(self) -> Recorder | None:
        return self.recording.recorder

    def on_train_begin(self, logs=None) -> None:
        self.recording.start(KerasTap(self.model, self.recording.layers))
        self._steps = 0
        self._record(logs, epoch=0)

    def _record(self, logs, epoch: int) -> None:
        self.recording.record(step=self._steps, epoch=epoch, metrics=scalar_metrics(logs))

    def on_epoch_begin(self, epoch: int, logs=None) -> None:
        self._epoch = epoch

    def on_train_batch_end(self, batch: int, logs=None) -> None:
        self._steps += 1
        if self.recording.schedule.at_step(self._steps):
            self._record(logs, epoch=self._epoch)

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        if self.recording.schedule.at_epoch_end:
            self._record(logs, epoch=epoch + 1)

    def on_train_end(self, logs=None) -> None:
        self.recording.finish("complete")
