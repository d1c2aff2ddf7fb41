"""What the inspector shows of a clicked sample or neuron, read from the store: view models, no Dash."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.neurons import class_means, class_selectivity
from models.store import RunStore

#: nearest neighbours listed
N_NEIGHBOURS = 8


@dataclass(frozen=True)
class SampleView:
    """What the inspector shows for one probe sample at one (layer, epoch).

    Attributes
    ----------
    position : int
        Row of the sample in the probe set.
    index : int
        The sample's index in its data set.
    x : ndarray of shape (n_features,)
        Its input as trained on.
    label : int
    trained_label : int
        The label it was trained with (differs from ``label`` under label noise).
    predicted : int or None
    confidence : float or None
    scrambled : bool
    activations : ndarray of shape (units,)
    sensitivity : float or None
        Gradient norm at this layer.
    sensitivity_rank : float or None
        Share of probe samples with a smaller gradient norm.
    neighbours : ndarray of shape (N_NEIGHBOURS,), int
        Probe positions of its nearest neighbours in this layer's activation space, nearest first.
    neighbour_index : ndarray of shape (N_NEIGHBOURS,), int
        Their indices in the data set.
    """

    position: int
    index: int
    x: np.ndarray
    label: int
    trained_label: int
    predicted: int | None
    confidence: float | None
    scrambled: bool
    activations: np.ndarray
    sensitivity: float | None
    sensitivity_rank: float | None
    neighbours: np.ndarray
    neighbour_index: np.ndarray


def sample_view(store: RunStore, run_id: str, layer: int, epoch: int, sample: int) -> SampleView:
    """Gather :class:`SampleView` for the probe sample with data-set index ``sample``; ``KeyError`` names what
    is missing."""
    probe = store.probe(run_id)
    n = len(probe["y"])
    hits = np.flatnonzero(probe["index"] == sample)
    if not len(hits):
        raise KeyError(f"sample {sample} is not in the probe set")
    position = int(hits[0])
    found = store.arrays(run_id, epoch, [f"act{layer}", "predictions", "confidence", f"x_sens{layer}"])  # one read
    if f"act{layer}" not in found:
        raise KeyError(f"layer {layer} of run {run_id!r} does not exist")
    A = found[f"act{layer}"]
    predictions, confidence, sens = found.get("predictions"), found.get("confidence"), found.get(f"x_sens{layer}")
    distances = np.linalg.norm(A - A[position], axis=1)
    distances[position] = np.inf
    neighbours = np.argsort(distances, kind="stable")[:min(N_NEIGHBOURS, n - 1)]
    sensitivity = rank = None
    if sens is not None:
        sensitivity, rank = float(sens[position]), float(np.mean(sens < sens[position]))
    return SampleView(position=position, index=int(probe["index"][position]), x=probe["X"][position],
                      label=int(probe["y"][position]), trained_label=int(probe.get("y_train", probe["y"])[position]),
                      predicted=None if predictions is None else int(predictions[position]),
                      confidence=None if confidence is None else float(confidence[position]),
                      scrambled=bool(probe.get("scrambled", np.zeros(n, bool))[position]),
                      activations=A[position], sensitivity=sensitivity, sensitivity_rank=rank, neighbours=neighbours,
                      neighbour_index=probe["index"][neighbours])


@dataclass(frozen=True)
class NeuronView:
    """What the inspector shows for one neuron (unit) of a layer at one epoch.

    Attributes
    ----------
    unit : int
    top_index : ndarray of shape (k,), int
        Data-set indices of the probe samples that activate it most, most first; empty for a dead unit.
    top_labels : ndarray of shape (k,), int
    class_means : ndarray of shape (n_classes,)
        Its mean activation over each class's probe samples.
    selectivity : float
        Class selectivity index (Morcos et al. 2018): ``(mu_max - mu_rest) / (mu_max + mu_rest)``, from 0 (no
        class preference) to 1 (active for one class only); NaN for a dead unit.
    dead : bool
        Never active on the probe set.
    """

    unit: int
    top_index: np.ndarray
    top_labels: np.ndarray
    class_means: np.ndarray
    selectivity: float
    dead: bool


def neuron_view(store: RunStore, run_id: str, layer: int, epoch: int, unit: int) -> NeuronView:
    """Gather :class:`NeuronView`; ``KeyError`` naming a unit out of range."""
    A = store.activations(run_id, epoch, layer)
    if not 0 <= unit < A.shape[1]:
        raise KeyError(f"unit must be in 0..{A.shape[1] - 1}, got {unit}")
    probe = store.probe(run_id)
    a, labels = A[:, unit:unit + 1], np.asarray(probe["y"], dtype=np.int64)
    dead = bool(np.all(a <= 0))
    # a dead unit has no samples that activate it: any order of its zeros would list arbitrary samples
    top = np.zeros(0, dtype=np.int64) if dead else np.argsort(-a[:, 0], kind="stable")[:N_NEIGHBOURS]
    n_classes = int(labels.max()) + 1
    selectivity, _ = class_selectivity(a, labels, n_classes)
    return NeuronView(unit=unit, top_index=probe["index"][top], top_labels=labels[top],
                      class_means=class_means(a, labels, n_classes)[:, 0], selectivity=float(selectivity[0]),
                      dead=dead)
