"""The input plane (TensorFlow Playground's view), for a network trained on 2-D data: its decision surface over
the plane at the epoch on show, with the probe samples on it, and beside it the activation over the plane of
the unit last clicked (in the neuron x sample graph or the neuron map). Computed from the weights recorded at
each epoch (:mod:`analysis.plane`); every epoch's surface is sent once per run (and every epoch's activation
once per unit), so scrubbing redraws them in the browser without asking the server.
"""

from __future__ import annotations

import numpy as np
from dash import ClientsideFunction, Dash, Input, Output, State, dcc, html, no_update

from analysis.plane import GRID, mlp_forward, plane_grid
from dashboard import figures, vocab
from dashboard.context import AppContext
from dashboard.typed import typed
from dashboard.vocab import CLASS_COLOURS
from models.store import RunStore

#: bump when the surfaces' definition changes (part of their key)
PLANE_VERSION = "1"


def plane_weights(store: RunStore, run_id: str, epoch: int) -> list[tuple[np.ndarray, np.ndarray]] | None:
    """The MLP's weights recorded at ``epoch`` (hidden layers, then the head), or ``None`` for a run that records
    none (not on 2-D inputs, or recorded before weights were)."""
    return store.layer_weights(run_id, epoch, len(store.run_info(run_id).layer_sizes) + 1)


def _grid(store: RunStore, run_id: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return plane_grid(store.probe(run_id)["X"])


def decision_planes(store: RunStore, run_id: str) -> dict[str, np.ndarray] | None:
    """Every recorded epoch's decision surface over the plane, cached per run state; ``None`` without weights.

    Returns
    -------
    dict or None
        ``xs``, ``ys`` (GRID,): the grid (:func:`analysis.plane.plane_grid`); ``decision`` (n_epochs, GRID *
        GRID), the predicted class, and ``confidence`` (n_epochs, GRID * GRID), its probability.
    """
    info = store.run_info(run_id)
    if info.config.model != "mlp" or store.probe(run_id)["X"].shape[1] != 2:
        return None
    key = f"plane/{PLANE_VERSION}/{run_id}/{info.created!r}/{info.epochs_done}"
    cached = store.get_derived(key)
    if cached is None:
        xs, ys, points = _grid(store, run_id)
        decision, confidence = [], []
        for epoch in range(info.epochs_done):
            weights = plane_weights(store, run_id, epoch)
            if weights is None:
                return None
            _, probs = mlp_forward(weights, points)
            decision.append(probs.argmax(axis=1))
            confidence.append(probs.max(axis=1))
        cached = {"xs": xs, "ys": ys, "decision": np.array(decision, dtype=np.int16),
                  "confidence": np.array(confidence, dtype=np.float32)}
        store.put_derived(key, cached)
    return cached


def unit_planes(store: RunStore, run_id: str, layer: int, unit: int) -> np.ndarray:
    """A hidden unit's activation over the plane at every recorded epoch, (n_epochs, GRID * GRID); ``KeyError``
    naming a layer or unit out of range, or a run without weights."""
    info = store.run_info(run_id)
    if not 0 <= layer < len(info.layer_sizes) or not 0 <= unit < info.layer_sizes[layer]:
        raise KeyError(f"layer {layer}, unit {unit} is not in this run")
    _, _, points = _grid(store, run_id)
    out = []
    for epoch in range(info.epochs_done):
        weights = plane_weights(store, run_id, epoch)
        if weights is None:
            raise KeyError(f"run {run_id!r} records no weights")
        out.append(mlp_forward(weights, points)[0][layer][:, unit])
    return np.array(out, dtype=np.float32)


def plane_payload(store: RunStore, run_id: str) -> dict | None:
    """What the browser draws the decision surfaces from: ``run``, ``grid``, ``xs``, ``ys`` (lists), ``classes``
    (names), and as typed arrays (n_epochs * GRID * GRID,) ``decision`` and ``confidence`` (in 1/255); plus the
    probe samples' ``px``, ``py`` and ``label`` lists to draw on them; ``class_colours`` (the palette)."""
    planes = decision_planes(store, run_id)
    if planes is None:
        return None
    probe = store.probe(run_id)
    info = store.run_info(run_id)
    n_classes = max(len(info.class_names), int(planes["decision"].max(initial=0)) + 1)
    return {"run": run_id, "grid": GRID, "xs": planes["xs"].round(4).tolist(), "ys": planes["ys"].round(4).tolist(),
            "classes": list(info.class_names) or [str(c) for c in range(n_classes)],
            "decision": typed(planes["decision"], "u1"),
            "confidence": typed(np.rint(planes["confidence"] * 255), "u1"),
            "px": probe["X"][:, 0].round(4).tolist(), "py": probe["X"][:, 1].round(4).tolist(),
            "label": probe["y"].astype(int).tolist(), "class_colours": list(CLASS_COLOURS)}


def layout() -> html.Div:
    return html.Div(id="plane-panel", className="plane", style={"display": "none"}, children=[
        html.H3("The input plane"),
        dcc.Graph(id="plane-decision", config=figures.NO_TOOLBAR, className="plane-map"),
        dcc.Graph(id="plane-unit", config=figures.NO_TOOLBAR, className="plane-map"),
        dcc.Store(id="plane"),
        dcc.Store(id="plane-unit-data"),
    ])


def register(app: Dash, ctx: AppContext) -> None:
    @app.callback(
        Output("plane", "data"), Output("plane-panel", "style"),
        Input(vocab.RUN, "value"), Input(vocab.RUN_VERSION, "data"), State("plane", "data"),
    )
    def update_plane(run, _job, current):
        """Every epoch's decision surface of a run on 2-D data (hidden for any other run)."""
        try:
            run_ctx = ctx.for_run(run)
            if not run_ctx.store.has_run(run_ctx.run_id):
                return None, {"display": "none"}
            payload = plane_payload(run_ctx.store, run_ctx.run_id)
        except (KeyError, ValueError):
            payload = None
        if payload is None:
            return None, {"display": "none"}
        same = (current or {}).get("run") == payload["run"] and len((current or {}).get("decision", {}).get(
            "bdata", "")) == len(payload["decision"]["bdata"])
        return (no_update if same else payload), {"display": "block"}

    @app.callback(
        Output("plane-unit-data", "data"),
        Input(vocab.SELECTED_NEURON, "data"), Input(vocab.LAYER, "value"), Input("plane", "data"),
        State(vocab.RUN, "value"),
    )
    def update_unit(unit, layer, plane, run):
        """The clicked unit's activation over the plane at every epoch, scaled to its largest (in 1/255)."""
        if unit is None or not plane:
            return None
        try:
            run_ctx = ctx.for_run(run)
            values = unit_planes(run_ctx.store, run_ctx.run_id, int(layer), int(unit))
        except (KeyError, TypeError, ValueError):
            return None
        top = float(values.max())
        scaled = np.rint(values / top * 255) if top > 0 else np.zeros_like(values)
        return {"run": run_ctx.run_id, "layer": int(layer), "unit": int(unit), "max": round(top, 4),
                "name": f"{run_ctx.config.layer_names[int(layer)]} unit {int(unit)}", "values": typed(scaled, "u1")}

    app.clientside_callback(
        ClientsideFunction(namespace="epochscope", function_name="renderPlane"),
        Output("plane-decision", "figure"), Output("plane-unit", "figure"),
        Input("plane", "data"), Input("plane-unit-data", "data"), Input(vocab.EPOCH, "value"),
    )
