"""Per-epoch views derived from the weights a run records, computed by the background job as each epoch is stored
(:class:`EpochViews`) and read back for the page, never computed in a request:

- the input plane of an MLP on 2-D data: each epoch's decision surface (predicted class and its probability) and
  every hidden unit's activation over a :data:`analysis.plane.GRID` x ``GRID`` grid of the probe's extent
  (:mod:`analysis.plane`);
- the beta-VAE decoder's Jacobian column coherence at each epoch (:mod:`analysis.decoder`).

Keys: :func:`derived.keys.recording_key` (``plane`` and ``coherence``, each with its version), one entry per
epoch, so a run still training gains one entry per recorded epoch.
"""

from __future__ import annotations

import numpy as np

from analysis.decoder import column_coherence, jacobian
from analysis.plane import mlp_forward, plane_grid
from derived.keys import COHERENCE_VERSION, PLANE_VERSION, recording_key
from models.store import RunInfo, RunStore
from models.vae import ACTIVE_THRESHOLD

#: codes (posterior means of the first probe samples) the decoder's Jacobian is taken at
JACOBIAN_POINTS = 200


def plane_points(store: RunStore, info: RunInfo) -> np.ndarray | None:
    """The points of the run's input plane, (GRID * GRID, 2) (:func:`analysis.plane.plane_grid`), or ``None`` for
    a run without one (not an MLP on 2-D inputs)."""
    if info.config.model != "mlp":
        return None
    X = store.probe(info.run_id)["X"]
    return plane_grid(X)[2] if X.shape[1] == 2 else None


def _plane_key(info: RunInfo, epoch: int) -> str:
    return recording_key("plane", PLANE_VERSION, info.run_id, info.created, epoch)


def _coherence_key(info: RunInfo, epoch: int) -> str:
    return recording_key("coherence", COHERENCE_VERSION, info.run_id, info.created, epoch)


def plane_weights(store: RunStore, info: RunInfo, epoch: int) -> list[tuple[np.ndarray, np.ndarray]] | None:
    """The MLP's weights recorded at ``epoch`` (hidden layers, then the head), or ``None`` for a run that records
    none (not on 2-D inputs, or recorded before weights were)."""
    return store.layer_weights(info.run_id, epoch, len(info.layer_sizes) + 1)


def epoch_plane(weights: list[tuple[np.ndarray, np.ndarray]], points: np.ndarray) -> dict[str, np.ndarray]:
    """One epoch's entry: ``decision`` (n_points,) int16 and ``confidence`` (n_points,) float32, the predicted
    class and its probability; ``units`` (n_points, n_units) uint8, every hidden unit's activation (all layers
    side by side) in 1/255 of ``unit_max`` (n_units,) float32, its largest over the grid."""
    hidden, probs = mlp_forward(weights, points)
    units = np.concatenate(hidden, axis=1).astype(np.float32)
    top = units.max(axis=0)
    scale = np.where(top > 0, top, 1.0)
    return {"decision": probs.argmax(axis=1).astype(np.int16), "confidence": probs.max(axis=1).astype(np.float32),
            "units": np.rint(np.clip(units, 0, None) / scale * 255).astype(np.uint8),
            "unit_max": top.astype(np.float32)}


def compute_planes(store: RunStore, info: RunInfo, points: np.ndarray | None = None) -> int:
    """Each recorded epoch's plane entry not yet stored, in order, over ``points`` (default: :func:`plane_points`);
    returns the epochs stored (it stops at the first epoch without weights; 0 for a run without a plane)."""
    points = plane_points(store, info) if points is None else points
    if points is None:
        return 0
    for epoch in range(info.epochs_done):
        if store.has_derived(_plane_key(info, epoch)):
            continue
        weights = plane_weights(store, info, epoch)
        if weights is None:
            return epoch
        store.put_derived(_plane_key(info, epoch), epoch_plane(weights, points))
    return info.epochs_done


def _stored_planes(store: RunStore, info: RunInfo) -> list[dict[str, np.ndarray]]:
    found = []
    for epoch in range(info.epochs_done):
        entry = store.get_derived(_plane_key(info, epoch))
        if entry is None:
            break
        found.append(entry)
    return found


def read_planes(store: RunStore, info: RunInfo) -> dict[str, np.ndarray] | None:
    """The decision surfaces of epochs 0.. as far as the job has stored them (over the grid of
    :func:`plane_points`); ``None`` for a run without an input plane (the job stores none) or before its first.

    Returns
    -------
    dict or None
        ``decision`` (n_epochs, GRID * GRID) int16, the predicted class, and ``confidence`` (n_epochs, GRID * GRID),
        its probability.
    """
    found = _stored_planes(store, info)
    if not found:
        return None
    return {"decision": np.stack([e["decision"] for e in found]),
            "confidence": np.stack([e["confidence"] for e in found])}


def read_unit_planes(store: RunStore, info: RunInfo, layer: int, unit: int) -> np.ndarray:
    """A hidden unit's activation over the plane at each epoch the job has stored, (n_epochs, GRID * GRID);
    ``KeyError`` naming a layer or unit out of range, or a run without stored planes."""
    if not 0 <= layer < len(info.layer_sizes) or not 0 <= unit < info.layer_sizes[layer]:
        raise KeyError(f"layer {layer}, unit {unit} is not in this run")
    found = _stored_planes(store, info)
    if not found:
        raise KeyError(f"run {info.run_id!r} has no input plane computed")
    column = int(sum(info.layer_sizes[:layer])) + unit
    return np.stack([e["units"][:, column] / np.float32(255) * e["unit_max"][column] for e in found])


def decoder_weights(store: RunStore, info: RunInfo, epoch: int) -> list[tuple[np.ndarray, np.ndarray]] | None:
    """The decoder's weights recorded at ``epoch`` (its layers, then its output layer), or ``None`` for a run
    recorded before they were."""
    return store.layer_weights(info.run_id, epoch, len(info.config.hidden) + 1, prefix="d")


def epoch_coherence(store: RunStore, info: RunInfo, epoch: int) -> float:
    """Mean absolute cosine between the decoder Jacobian's active columns (KL > threshold) at ``epoch``, at the
    posterior means of the first :data:`JACOBIAN_POINTS` probe samples; NaN without weights or with fewer than
    two active latents."""
    weights = decoder_weights(store, info, epoch)
    if weights is None:
        return float("nan")
    mu = store.activations(info.run_id, epoch, len(info.layer_sizes) - 1)[:JACOBIAN_POINTS]
    active = store.extras(info.run_id, epoch, ["kl_dim"])["kl_dim"] > ACTIVE_THRESHOLD
    return column_coherence(jacobian(weights, mu), active)


def compute_coherence(store: RunStore, info: RunInfo) -> int:
    """Each recorded epoch's decoder coherence not yet stored (a beta-VAE only); returns the epochs stored."""
    if info.config.model != "vae":
        return 0
    for epoch in range(info.epochs_done):
        if not store.has_derived(_coherence_key(info, epoch)):
            store.put_derived(_coherence_key(info, epoch),
                              {"coherence": np.array(epoch_coherence(store, info, epoch))})
    return info.epochs_done


def read_coherence(store: RunStore, info: RunInfo) -> np.ndarray:
    """The decoder coherence of every recorded epoch, (n_epochs,), NaN where the job has not stored it (yet)."""
    out = np.full(info.epochs_done, np.nan)
    for epoch in range(info.epochs_done):
        entry = store.get_derived(_coherence_key(info, epoch))
        if entry is not None:
            out[epoch] = float(entry["coherence"])
    return out


def final_coherence(store: RunStore, info: RunInfo) -> float:
    """The decoder coherence of the run's last recorded epoch, NaN where the job has not stored it (yet)."""
    entry = store.get_derived(_coherence_key(info, info.epochs_done - 1)) if info.epochs_done else None
    return float(entry["coherence"]) if entry is not None else float("nan")


class EpochViews:
    """The job's hold on one run's per-epoch views: :meth:`advance` derives those of the epochs recorded since the
    last call (the stored ones are skipped). Whether the run has an input plane, and its grid, are read from the
    probe once, not at every epoch the job follows."""

    def __init__(self, store: RunStore, run_id: str) -> None:
        self.store, self.run_id = store, run_id
        self._points: np.ndarray | None = None
        self._looked = False

    def advance(self) -> None:
        info = self.store.run_info(self.run_id)
        if info.config.model == "vae":
            compute_coherence(self.store, info)
            return
        if not self._looked:
            self._points, self._looked = plane_points(self.store, info), True
        if self._points is not None:
            compute_planes(self.store, info, self._points)
