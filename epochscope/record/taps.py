"""Taps: run a model on a batch of the probe and hand back what each recorded layer output, and the model's own
output. :class:`ModuleTap` does it for any ``torch.nn.Module`` by forward hooks; the Keras callback has its own
(:mod:`epochscope.callbacks.keras`)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import torch
from torch import nn

from epochscope.record.probe import Inputs, model_output


class Tap(ABC):
    """Runs a model on a batch for the recorder (in inference mode: dropout off, batch norm frozen)."""

    @abstractmethod
    def __call__(self, rows: Inputs, grad: bool) -> tuple[list[object], torch.Tensor | None]:
        """Each recorded layer's output (as the layer returned it: a tensor, tuple, dict, ...) and the model's
        output tensor (its logits, or ``None``), for the batch ``rows``; with ``grad``, in a graph that reaches
        them from the model's parameters."""


class ModuleTap(Tap):
    """Forward hooks on a ``torch.nn.Module``'s named submodules.

    ``ValueError`` listing the model's layers when one of ``layers`` is not among them.
    """

    def __init__(self, model: nn.Module, layers: Sequence[str]) -> None:
        modules = dict(model.named_modules())
        if not layers:
            raise ValueError("layers must name at least one layer of the model")
        unknown = [n for n in layers if n not in modules or n == ""]
        if unknown:
            known = ", ".join(n for n in modules if n) or "none"
            raise ValueError(f"layers {', '.join(map(repr, unknown))} not in the model; its layers are: {known}")
        self.model, self.layers = model, list(layers)
        self._modules = [modules[n] for n in layers]

    def _forward(self, rows: Inputs) -> object:
        device = next(self.model.parameters(), torch.empty(0)).device
        if isinstance(rows, dict):
            return self.model(**{k: v.to(device) for k, v in rows.items()})
        return self.model(rows.to(device))

    def __call__(self, rows: Inputs, grad: bool) -> tuple[list[object], torch.Tensor | None]:
        held: list[object] = [None] * len(self._modules)

        def hook(i: int):
            def hold(_module, _inputs, out) -> None:
                held[i] = out
            return hold

        hooks = [m.register_forward_hook(hook(i)) for i, m in enumerate(self._modules)]
        was_training = self.model.training
        try:
            self.model.eval()
            with torch.set_grad_enabled(grad):
                output = model_output(self._forward(rows))
        finally:
            for h in hooks:
                h.remove()
            self.model.train(was_training)
        missing = [self.layers[i] for i, out in enumerate(held) if out is None]
        if missing:
            raise ValueError(f"layers {', '.join(map(repr, missing))} did not run in the model's forward pass")
        return held, output
