"""What is measured for one frame (a layer at an epoch), as one pure function of its activations and labels."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.representation import (
    chance_accuracy,
    class_overlap,
    class_separation,
    knn_class_purity,
    linear_probe,
    twonn_dimension,
)
from layout_engine.graph import nearest_neighbours
from layout_engine.metrics import NEIGHBOURHOOD_K

#: k of the raw-space kNN tables (purity, overlap, what changed): every neighbourhood measure's
N_NEIGHBORS = NEIGHBOURHOOD_K
#: silhouette and distance ratio are estimated on a seeded subset of this many samples (exact: O(n^2))
SUBSET_POINTS = 600
#: the linear probe is fitted on at most this many of the training samples (a seeded subset)
PROBE_FIT_POINTS = 1000
#: scalar measures of a frame, each a curve over epochs in the page
SCALARS = ("probe_acc", "probe_chance", "twonn", "raw_silhouette", "raw_ratio", "raw_purity")


@dataclass(frozen=True)
class ProbeLabels:
    """The labels every measure is taken against, and the split of the linear probe.

    Attributes
    ----------
    trained : ndarray of shape (n,), int
        The label each probe sample is trained on (the true class unless scrambled): separation is measured
        against what the network is asked to separate, so a shuffled-label control reads as chance.
    true : ndarray of shape (n,), int
        The true class.
    fit : ndarray of shape (n,), bool
        Samples the probe is fitted on (the network's training samples, with their trained labels, at most
        :data:`PROBE_FIT_POINTS` of them); the others (test samples, never trained on) score it against their
        true class, as the run's test accuracy does.
    n_classes : int
    """

    trained: np.ndarray
    true: np.ndarray
    fit: np.ndarray
    n_classes: int

    @classmethod
    def from_probe(cls, probe: dict[str, np.ndarray], n_classes: int | None = None) -> ProbeLabels:
        """From a stored probe set (:meth:`models.store.RunStore.probe`); a run whose probe set holds no test
        samples (recorded from your own loop, without ``in_train``) is split 80 / 20 by a seeded draw."""
        true = np.asarray(probe["y"], np.int64)
        trained = np.asarray(probe.get("y_train", true), np.int64)
        fit = np.asarray(probe.get("in_train", np.ones(len(true), bool)), bool)
        if fit.all() or not fit.any():  # no held-out samples recorded: hold out a seeded fifth of the probe
            fit = np.random.default_rng(0).random(len(true)) < 0.8
        n_classes = n_classes or int(max(true.max(initial=0), trained.max(initial=0))) + 1
        return cls(trained=trained, true=true, fit=fit, n_classes=n_classes)

    @property
    def relabelled(self) -> np.ndarray:
        """The probe-fit samples trained on a label that is not their true class (scrambled), (n,) bool: whose
        fit to that label is memorisation."""
        return self.fit & (self.trained != self.true)

    def digest_bytes(self) -> bytes:
        """What a cached measure depends on besides the activations."""
        return b"".join(np.ascontiguousarray(a).tobytes() for a in (self.trained, self.true, self.fit)) + \
            str(self.n_classes).encode()


def measure_frame(X: np.ndarray, labels: ProbeLabels, *, probe_init: np.ndarray | None = None,
                  neighbours: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Every measure of one frame.

    Parameters
    ----------
    X : ndarray of shape (n, d)
        The layer's activations of the probe samples.
    labels : ProbeLabels
    probe_init : ndarray, optional
        Start weights of the linear probe (the previous epoch's): see :func:`analysis.representation.linear_probe`.
    neighbours : (indices, distances), each (n, k), optional
        The samples' :data:`N_NEIGHBORS` (capped at n - 1) Euclidean nearest neighbours, when already found
        (the layout's kNN graph is built from the same table).

    Returns
    -------
    measures : dict of ndarray
        Scalars (0-d) :data:`SCALARS`: ``probe_acc`` (held-out linear probe accuracy), ``probe_chance`` (the
        commonest class's share of the held-out samples), ``twonn`` (intrinsic dimension), ``raw_silhouette``
        and ``raw_ratio`` (class silhouette and intra / inter-class distance ratio of the activations, on
        :data:`SUBSET_POINTS` samples), ``raw_purity`` (mean kNN class purity, the raw twin of the layout's
        neighbourhood hit); ``class_recall`` (n_classes,), the held-out probe's recall of each class (NaN for a
        class with no held-out sample); ``overlap`` (n_classes, n_classes) (:func:`class_overlap`) and ``knn`` (n, k)
        int32, each sample's raw nearest neighbours (what changed between epochs).
    probe_weights : ndarray
        The probe's weights, to start the next epoch's fit from.
    """
    n = len(X)
    k = min(N_NEIGHBORS, n - 1)
    idx, dist = nearest_neighbours(X, k) if neighbours is None else neighbours
    subset = np.sort(np.random.default_rng(0).choice(n, size=min(n, SUBSET_POINTS), replace=False))
    fit = np.flatnonzero(labels.fit)
    if len(fit) > PROBE_FIT_POINTS:
        fit = np.sort(np.random.default_rng(1).choice(fit, size=PROBE_FIT_POINTS, replace=False))
    held_out = ~labels.fit
    acc, weights, recall = linear_probe(X[fit], labels.trained[fit], X[held_out], labels.true[held_out],
                                n_classes=labels.n_classes, init=probe_init)
    silhouette, ratio = class_separation(X[subset], labels.trained[subset])
    measures = {
        "probe_acc": np.array(acc),
        "probe_chance": np.array(chance_accuracy(labels.trained[fit], labels.true[held_out])),
        "twonn": np.array(twonn_dimension(dist)),
        "raw_silhouette": np.array(silhouette), "raw_ratio": np.array(ratio),
        "raw_purity": np.array(knn_class_purity(idx, labels.trained).mean()),
        "overlap": class_overlap(idx, labels.trained, labels.n_classes), "knn": idx, "class_recall": recall,
    }
    return measures, weights
