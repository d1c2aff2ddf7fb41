"""Sensitivity: the gradient of the loss that reaches each hidden layer, per sample, and what it says.

For a probe sample ``x`` with label ``y`` and hidden activations ``a_l``, the sensitivity at layer ``l`` is
``g_l = d loss(x, y) / d a_l``. Its L2 norm says how much the sample would still pull on the network; the
product ``g_l * a_l`` per unit (gradient x activation) is a first-order estimate of the loss change if the unit
were silenced on that sample. Averaged over samples it ranks the units (:func:`unit_importance`), as the mean of
``|g x a|`` or of ``(g x a)^2`` (the Fisher pruning criterion of Theis et al. 2018, which weighs the samples a
unit matters most to); :func:`ablation` checks a ranking by silencing the top units and as many random ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from models.mlp import MLP


def sensitivity(model: MLP, X: torch.Tensor, y: torch.Tensor) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per hidden layer, each sample's gradient norm and gradient x activation.

    Parameters
    ----------
    model : MLP
        Evaluated in eval mode; its parameters' gradients are left untouched.
    X : Tensor of shape (n_samples, n_features)
    y : Tensor of shape (n_samples,)
        The labels the network is trained on.

    Returns
    -------
    norms : list of ndarray, each (n_samples,), float32
        ``||d loss_i / d a_l||_2`` per sample ``i``, per layer ``l``.
    gxa : list of ndarray, each (n_samples, units_l), float32
        ``(d loss_i / d a_l) * a_l``.
    """
    model.eval()
    with torch.enable_grad():
        logits, activations = model(X)
        # summed, so each sample's activations get the gradient of its own loss (samples do not interact)
        grads = torch.autograd.grad(F.cross_entropy(logits, y, reduction="sum"), activations)
    norms = [g.norm(dim=1).detach().cpu().numpy().astype(np.float32) for g in grads]
    gxa = [(g * a).detach().cpu().numpy().astype(np.float32) for g, a in zip(grads, activations)]
    return norms, gxa


#: how :func:`unit_importance` averages gradient x activation over samples
CRITERIA = ("abs", "fisher")


def unit_importance(gxa: np.ndarray, criterion: str = "abs") -> np.ndarray:
    """Per unit, (units,) from (n_samples, units): mean ``|gradient x activation|`` (``abs``) or mean
    ``(gradient x activation)^2`` (``fisher``) over samples."""
    if criterion not in CRITERIA:
        raise ValueError(f"criterion must be one of {', '.join(CRITERIA)}, got {criterion!r}")
    return np.abs(gxa).mean(axis=0) if criterion == "abs" else np.square(gxa).mean(axis=0)


@torch.no_grad()
def accuracy_without(model: MLP, X: torch.Tensor, y: torch.Tensor, layer: int, units: np.ndarray) -> float:
    """Accuracy of ``model`` on ``(X, y)`` with ``units`` of hidden layer ``layer`` silenced."""
    model.eval()
    mask = torch.ones(model.sizes[layer], device=X.device)
    mask[torch.as_tensor(units, dtype=torch.long)] = 0.0
    logits, _ = model(X, masks={layer: mask})
    return float((logits.argmax(1) == y).float().mean())


@dataclass(frozen=True)
class Ablation:
    """Test accuracy with no unit silenced, with the top units by importance silenced, and with random ones."""

    layer: int
    criterion: str
    n_units: int
    intact: float
    top: float
    random: float


def ablation(model: MLP, X_probe: torch.Tensor, y_probe: torch.Tensor, X_test: torch.Tensor,
             y_test: torch.Tensor, layer: int, *, criterion: str = "abs", fraction: float = 0.1,
             n_random: int = 50, seed: int = 0) -> Ablation:
    """Silence the ``fraction`` of layer ``layer``'s units that matter most by :func:`unit_importance` on the
    probe set, and (averaged over ``n_random`` draws) as many random units; report test accuracies."""
    _, gxa = sensitivity(model, X_probe, y_probe)
    importance = unit_importance(gxa[layer], criterion)
    k = max(1, int(round(fraction * len(importance))))
    top = np.argsort(-importance)[:k]
    rng = np.random.default_rng(seed)
    random = np.mean([accuracy_without(model, X_test, y_test, layer, rng.choice(len(importance), k, replace=False))
                      for _ in range(n_random)])
    intact = accuracy_without(model, X_test, y_test, layer, np.array([], int))
    return Ablation(layer=layer, criterion=criterion, n_units=k, intact=intact,
                    top=accuracy_without(model, X_test, y_test, layer, top), random=float(random))
