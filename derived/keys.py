"""Every key of the store's derived cache, and the version of each stage that makes an entry.

An entry's key holds what the entry depends on, so that nothing is ever invalidated by hand: a change of input
(activations, labels, layout parameters) gives a new key, and a change of a stage's definition is a bump of that
stage's version below, which gives every entry of that stage (and only that stage) a new key. Old entries are
evicted least recently used (:class:`models.store.RunStore`'s derived cache).

============  ======================================================  ================================================
stage         key                                                     invalidated by
============  ======================================================  ================================================
kNN table     ``knn/<NEIGHBOURS>/<metric>/<X>``                       activations, metric (any k: see
                                                                      :mod:`derived.neighbours`)
graph         ``graph/<graph params + ENGINE>/<X>``                   activations, graph parameters, engine
layout        ``layout/<params + ENGINE>/<X>/<start frame>``          activations, parameters, engine, the frame it
                                                                      started from
baseline      ``baseline/<method>-v<BASELINE>/<X>``                   activations, reference tool
scores        ``scores/<SCORES>/<layout>/<labels>``                   the layout, labels trained on
box           ``box/<layout>``                                        the layout
measures      ``measure/<MEASURES>/<X>/<labels>``                     activations, labels, probe split
CKA           ``cka/<CKA>/<every X of the run>``                      any activations of the run
neuron map    ``neurons/<NEURONS>.<ENGINE>/<every X of the run>``     any activations of the run, engine
outputs       ``recorded/<run>/outputs/<OUTPUTS>/<created>/<epoch>``  the epoch as recorded
input plane   ``recorded/<run>/plane/<PLANE>/<created>/<epoch>``      the epoch's recorded weights, the probe's extent
coherence     ``recorded/<run>/coherence/<COHERENCE>/<created>/..``   the epoch's recorded decoder weights and codes
============  ======================================================  ================================================

``<X>`` is :func:`content_hash` of an activation matrix; ``<run>/<created>`` names one recording of a run (a
run recorded again under its id has a new ``created``), and ``recorded/<run>/..`` entries go when the run is
deleted. Index entries (:meth:`models.store.RunStore.pointer`)
name which entry is a run's: :func:`measures_index`, :func:`cka_index`, :func:`neurons_index`, and the frame
index (:meth:`models.store.RunStore.index_frame`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import numpy as np

from models.store import RUN_BOUND

#: the kNN table (:func:`layout_engine.graph.nearest_neighbours`)
NEIGHBOURS_VERSION = "1"
#: a reference tool's frames (:func:`frames.compute.compute_baseline_frames`)
BASELINE_VERSION = "1"
#: a layout's 2-D scores (:func:`frames.scores.frame_scores`)
SCORES_VERSION = "2"
#: bumped when the motion measures of a frame pair change
MOTION_VERSION = "1"
#: a frame's raw-space measures (:func:`analysis.measures.measure_frame`)
MEASURES_VERSION = "2"
#: the run's CKA matrices (:func:`analysis.stage.compute_cka`)
CKA_VERSION = "1"
#: the run's units over epochs (:func:`analysis.stage.compute_neuron_map`)
NEURONS_VERSION = "2"
#: an epoch's per-sample outputs for the map (:func:`dashboard.service.epoch_outputs`)
OUTPUTS_VERSION = "1"
#: an epoch's decision surface and hidden units over the input plane (:mod:`analysis.plane_stage`)
PLANE_VERSION = "2"
#: an epoch's decoder Jacobian column coherence (:mod:`analysis.decoder_stage`)
COHERENCE_VERSION = "1"


def content_hash(X: np.ndarray) -> str:
    """Hash of an array's shape, dtype and bytes."""
    X = np.ascontiguousarray(X)
    h = hashlib.sha256(f"{X.shape}{X.dtype}".encode())
    h.update(X.data)
    return h.hexdigest()[:24]


def _short(text: str, size: int = 24) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:size]


def neighbours_key(X: np.ndarray, metric: str) -> str:
    return f"knn/{NEIGHBOURS_VERSION}/{metric}/{content_hash(X)}"


def graph_key(X: np.ndarray, graph_digest: str) -> str:
    """``graph_digest``: :meth:`layout_engine.params.LayoutParams.graph_digest` (the engine version included)."""
    return f"graph/{graph_digest}/{content_hash(X)}"


def layout_key(X: np.ndarray, params_digest: str, previous_key: str | None) -> str:
    """A frame of our layout: its input, :meth:`layout_engine.params.LayoutParams.digest` (the engine version
    included) and the key of the frame it started from (``None``: a cold start)."""
    start = _short(previous_key, 16) if previous_key else "cold"
    return f"layout/{params_digest}/{content_hash(X)}/{start}"


def baseline_sequence(method: str) -> str:
    """The frame index's name for a reference tool's sequence."""
    return f"{method}-v{BASELINE_VERSION}"


def baseline_key(X: np.ndarray, method: str) -> str:
    return f"baseline/{baseline_sequence(method)}/{content_hash(X)}"


def scores_key(layout: str, labels: np.ndarray) -> str:
    """A layout's scores against ``labels``: two runs can share a layout (the same activations, e.g. at epoch 0 of
    a run and of its shuffled-label control) but not its scores."""
    digest = hashlib.sha256(np.ascontiguousarray(labels, dtype=np.int64).tobytes()).hexdigest()[:16]
    return f"scores/{SCORES_VERSION}/{_short(layout)}/{digest}"


def motion_key(before: str, after: str) -> str:
    """The key of the motion between two layouts (:func:`frames.motion.ensure_motion`)."""
    return f"motion/{MOTION_VERSION}/{_short(before)}/{_short(after)}"


def box_key(layout: str) -> str:
    return f"box/{_short(layout)}"


def measures_key(X: np.ndarray, labels_digest: bytes) -> str:
    """A frame's measures: its activations and the labels and probe split (``labels_digest``)."""
    return f"measure/{MEASURES_VERSION}/{content_hash(X)}/{hashlib.sha256(labels_digest).hexdigest()[:16]}"


def run_content_key(stage: str, version: str, hashes: Iterable[str]) -> str:
    """A run-wide entry (``cka``, ``neurons``) over the content hashes of every activation it reads."""
    h = hashlib.sha256(version.encode())
    for item in hashes:
        h.update(item.encode())
    return f"{stage}/{version}/{h.hexdigest()[:24]}"


def recording_key(stage: str, version: str, run_id: str, created: float, epoch: int) -> str:
    """An epoch entry derived from one recording of a run (``outputs``, ``plane``, ``coherence``): deleted with
    the run (:data:`models.store.RUN_BOUND`)."""
    return f"{RUN_BOUND}/{run_id}/{stage}/{version}/{created!r}/{epoch}"


def is_current_measures(key: str) -> bool:
    """Whether a measures key is of this :data:`MEASURES_VERSION` (a run measured before a version bump points
    at its old entries, which are measured again)."""
    return key.startswith(f"measure/{MEASURES_VERSION}/")


def measures_index(run_id: str, layer: int, epoch: int) -> str:
    return f"measures/{run_id}/{layer}/{epoch}"


def cka_index(run_id: str) -> str:
    return f"cka/{run_id}"


def neurons_index(run_id: str) -> str:
    return f"neurons/{run_id}"
