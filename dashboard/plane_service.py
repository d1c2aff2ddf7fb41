"""What the input-plane panel draws, read from what the job derived (:mod:`analysis.epoch_stages`): every epoch's
decision surface once per run, and every epoch's activation of a clicked unit, as typed arrays for the browser."""

from __future__ import annotations

import numpy as np

from analysis.epoch_stages import read_planes, read_unit_planes
from analysis.plane import GRID, plane_grid
from dashboard.typed import typed
from dashboard.vocab import CLASS_COLOURS
from models.store import RunStore


def plane_payload(store: RunStore, run_id: str) -> dict | None:
    """What the browser draws the decision surfaces from: ``run``, ``grid``, ``xs``, ``ys`` (lists), ``classes``
    (names), and as typed arrays (n_epochs * GRID * GRID,) ``decision`` and ``confidence`` (in 1/255); plus the
    probe samples' ``px``, ``py`` and ``label`` lists to draw on them; ``class_colours`` (the palette). ``None``
    for a run without an input plane, or before the job has derived its first epoch."""
    info = store.run_info(run_id)
    planes = read_planes(store, info)
    if planes is None:
        return None
    probe = store.probe(run_id)
    xs, ys, _ = plane_grid(probe["X"])
    n_classes = max(len(info.class_names), int(planes["decision"].max(initial=0)) + 1)
    return {"run": run_id, "grid": GRID, "xs": xs.round(4).tolist(), "ys": ys.round(4).tolist(),
            "classes": list(info.class_names) or [str(c) for c in range(n_classes)],
            "decision": typed(planes["decision"], "u1"),
            "confidence": typed(np.rint(planes["confidence"] * 255), "u1"),
            "px": probe["X"][:, 0].round(4).tolist(), "py": probe["X"][:, 1].round(4).tolist(),
            "label": probe["y"].astype(int).tolist(), "class_colours": list(CLASS_COLOURS)}


def unit_payload(store: RunStore, run_id: str, layer: int, unit: int) -> dict:
    """The unit's activation over the plane at every derived epoch, scaled to its largest (in 1/255), with its
    name; ``KeyError`` naming a layer or unit out of range, or a run without an input plane."""
    info = store.run_info(run_id)
    values = read_unit_planes(store, info, layer, unit)
    top = float(values.max())
    scaled = np.rint(values / top * 255) if top > 0 else np.zeros_like(values)
    return {"run": run_id, "layer": layer, "unit": unit, "max": round(top, 4),
            "name": f"{info.layer_names[layer]} unit {unit}", "values": typed(scaled, "u1")}
