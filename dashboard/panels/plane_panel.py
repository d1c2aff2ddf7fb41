"""The input plane (TensorFlow Playground's view), for a network trained on 2-D data: its decision surface over
the plane at the epoch on show, with the probe samples on it, and beside it the activation over the plane of
the unit last clicked (in the neuron x sample graph or the neuron map). Derived by the job from the weights
recorded at each epoch (:mod:`analysis.epoch_stages`); every epoch's surface is sent once per run (and every
epoch's activation once per unit), so scrubbing redraws them in the browser without asking the server.
"""

from __future__ import annotations

from dash import ClientsideFunction, Dash, Input, Output, State, dcc, html, no_update

from dashboard import figures, plane_service, vocab
from dashboard.context import AppContext


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
            payload = plane_service.plane_payload(run_ctx.store, run_ctx.run_id)
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
            return plane_service.unit_payload(run_ctx.store, run_ctx.run_id, int(layer), int(unit))
        except (KeyError, TypeError, ValueError):
            return None

    app.clientside_callback(
        ClientsideFunction(namespace="epochscope", function_name="renderPlane"),
        Output("plane-decision", "figure"), Output("plane-unit", "figure"),
        Input("plane", "data"), Input("plane-unit-data", "data"), Input(vocab.EPOCH, "value"),
    )
