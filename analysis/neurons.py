"""Hidden units over training as one graph (M-PHATE, Gigante et al. 2019): pure functions.

Each unit at each epoch is a node, described by its response over the probe samples (z-scored per unit, so a
unit is where it responds, not how strongly). Within an epoch, units are joined to their nearest units (the
same calibrated kNN kernel as the samples' graph); across epochs, a unit is joined to itself at the next epoch,
the more strongly the less its response changed. Laid out as one graph, a unit's nodes trace its path over
training, and units that come to respond to the same samples gather.

Class selectivity (Morcos et al. 2018) measures what the picture should show: ``(mu_max - mu_rest) /
(mu_max + mu_rest)`` over the class means of a unit's activation, 0 for no class preference, 1 for a unit
active on one class only.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from analysis.representation import knn_class_purity
from layout_engine.graph import knn_graph, nearest_neighbours

#: units per unit joined within an epoch
UNIT_NEIGHBOURS = 10


def zscore_units(A: np.ndarray) -> np.ndarray:
    """Units' responses, z-scored per unit.

    Parameters
    ----------
    A : ndarray of shape (n_samples, n_units)
        A layer's (or several layers', side by side) activations over the probe samples.

    Returns
    -------
    ndarray of shape (n_units, n_samples), float32
        One row per unit, mean 0 and unit variance over the samples; all zeros for a unit that does not vary
        (a dead unit).
    """
    R = np.asarray(A, dtype=np.float64).T
    R = R - R.mean(axis=1, keepdims=True)
    scale = R.std(axis=1, keepdims=True)
    return np.divide(R, scale, out=np.zeros_like(R), where=scale > 1e-12).astype(np.float32)


def multislice_graph(responses: list[np.ndarray], *, n_neighbors: int = UNIT_NEIGHBOURS) -> sp.csr_matrix:
    """One graph over units x epochs.

    Parameters
    ----------
    responses : list of ndarray, each of shape (n_units, n_samples)
        Per epoch, the units' z-scored responses (:func:`zscore_units`), the same units in the same order.
    n_neighbors : int
        Units each unit is joined to within its epoch.

    Returns
    -------
    csr_matrix of shape (n_epochs * n_units, n_epochs * n_units), float32
        Node ``e * n_units + u`` is unit ``u`` at epoch ``e``. Within an epoch, the kNN graph of the units
        (:func:`layout_engine.graph.knn_graph`); between epochs ``e`` and ``e + 1``, unit ``u`` to itself with
        weight ``exp(-(d_u / d_median)^2)``, ``d_u`` its response's change (RMS over samples) and ``d_median``
        the median change of all units and steps: a unit that changed little stays beside itself.
    """
    n_epochs = len(responses)
    if n_epochs == 0:
        raise ValueError("responses must hold at least one epoch")
    n_units = responses[0].shape[0]
    if any(R.shape != responses[0].shape for R in responses):
        raise ValueError("every epoch's responses must have the same shape (n_units, n_samples)")
    blocks = [knn_graph(R, n_neighbors=n_neighbors) for R in responses]
    graph = sp.block_diag(blocks, format="csr") if n_epochs > 1 else blocks[0].tocsr()
    if n_epochs > 1:
        change = np.stack([np.sqrt(np.mean((after - before) ** 2, axis=1))
                           for before, after in zip(responses[:-1], responses[1:])])  # (n_epochs - 1, n_units)
        scale = max(float(np.median(change)), 1e-6)
        weights = np.exp(-(change / scale) ** 2).ravel().astype(np.float32)
        source = np.arange((n_epochs - 1) * n_units)
        link = sp.csr_matrix((weights, (source, source + n_units)), shape=graph.shape)
        graph = (graph + link + link.T).tocsr()
    return graph.astype(np.float32)


def class_means(A: np.ndarray, labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Mean activation of each unit over each class's samples, (n_classes, n_units); 0 for a class without
    samples."""
    A = np.asarray(A, dtype=np.float64)
    counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
    sums = np.zeros((n_classes, A.shape[1]))
    np.add.at(sums, labels, A)
    return np.divide(sums, counts[:, None], out=np.zeros_like(sums), where=counts[:, None] > 0)


def class_selectivity(A: np.ndarray, labels: np.ndarray, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Each unit's class selectivity index and preferred class.

    Parameters
    ----------
    A : ndarray of shape (n_samples, n_units)
        Activations (non-negative for the index to lie in 0..1, as after a ReLU).
    labels : ndarray of shape (n_samples,), int
    n_classes : int

    Returns
    -------
    selectivity : ndarray of shape (n_units,)
        ``(mu_max - mu_rest) / (mu_max + mu_rest)``, ``mu_rest`` the mean of the other classes' means; NaN for a
        dead unit (never active) or one whose class means sum to zero.
    preferred : ndarray of shape (n_units,), int
        The class of ``mu_max``.
    """
    means = class_means(A, labels, n_classes)
    preferred = np.argmax(means, axis=0)
    best = means[preferred, np.arange(means.shape[1])]
    rest = (means.sum(axis=0) - best) / max(n_classes - 1, 1)
    total = best + rest
    dead = np.all(np.asarray(A) <= 0, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        selectivity = np.where((total > 0) & ~dead, (best - rest) / total, np.nan)
    return selectivity, preferred


def preference_grouping(coords: np.ndarray, preferred: np.ndarray, alive: np.ndarray,
                        k: int = 5) -> tuple[float, float]:
    """How much the map groups one epoch's units by the class they prefer.

    Parameters
    ----------
    coords : ndarray of shape (n_units, 2)
        The epoch's units in the map.
    preferred : ndarray of shape (n_units,), int
        Each unit's preferred class (:func:`class_selectivity`).
    alive : ndarray of shape (n_units,), bool
        Units to count (dead ones prefer nothing).
    k : int
        Nearest units in the map.

    Returns
    -------
    purity : float
        Mean share of a live unit's ``k`` nearest live units in the map that prefer its class; NaN with fewer
        than two live units.
    chance : float
        The share expected if preferences were placed at random: ``sum_c p_c^2`` over the live units' class
        shares.
    """
    coords, preferred = np.asarray(coords)[alive], np.asarray(preferred)[alive]
    if len(preferred) < 2:
        return float("nan"), float("nan")
    idx, _ = nearest_neighbours(coords, min(k, len(preferred) - 1))
    shares = np.bincount(preferred) / len(preferred)
    return float(knn_class_purity(idx, preferred).mean()), float(np.sum(shares ** 2))


def mean_selectivity(selectivity: np.ndarray, layer: np.ndarray, n_layers: int) -> np.ndarray:
    """Each layer's mean class selectivity over its live units, (n_epochs, n_layers), from ``selectivity``
    (n_epochs, n_units; NaN for a dead unit) and each unit's ``layer`` (n_units,); NaN where a layer has no live
    unit."""
    live = ~np.isnan(selectivity)
    values = np.where(live, selectivity, 0.0)
    out = np.full((selectivity.shape[0], n_layers), np.nan)
    for k in range(n_layers):
        count = live[:, layer == k].sum(axis=1)
        np.divide(values[:, layer == k].sum(axis=1), count, out=out[:, k], where=count > 0)
    return out
