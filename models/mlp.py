"""A multilayer perceptron classifier that exposes each hidden layer's activations."""

from __future__ import annotations

import torch
from torch import nn


class MLP(nn.Module):
    """ReLU MLP: ``n_in -> hidden[0] -> ... -> hidden[-1] -> n_out`` logits.

    Parameters
    ----------
    n_in : int
        Input features.
    hidden : sequence of int
        Units of each hidden layer.
    n_out : int
        Number of classes.
    """

    def __init__(self, n_in: int, hidden: tuple[int, ...], n_out: int) -> None:
        super().__init__()
        sizes = (n_in, *hidden)
        #: units of each hidden layer
        self.sizes = tuple(int(h) for h in hidden)
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.head = nn.Linear(sizes[-1], n_out)

    def forward(self, x: torch.Tensor, masks: dict[int, torch.Tensor] | None = None
                ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Return the logits, shape (batch, n_out), and each hidden layer's activations, (batch, units).

        ``masks`` maps a hidden layer's index to a (units,) tensor its activations are multiplied by (0 to
        silence a unit), for ablations.
        """
        activations = []
        h = x
        for i, layer in enumerate(self.hidden):
            h = torch.relu(layer(h))
            if masks is not None and i in masks:
                h = h * masks[i]
            activations.append(h)
        return self.head(h), activations
