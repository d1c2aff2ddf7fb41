"""Map panel: the laid-out probe samples of the chosen layer and epoch.

The server sends a layer's whole sequence (every ready epoch) to the browser once (``sequence`` store); the map
is drawn in the browser (``assets/epochscope.js``) from it, so scrubbing epochs, recolouring and selecting a
sample never wait for the server. While frames are still being laid out the panel polls for more.
"""

from __future__ import annotations

from dash import ClientsideFunction, Dash, Input, Output, State, dcc, html, no_update

from dashboard import export, figures, service
from dashboard.context import AppContext

POLL_MS = 700
#: colour-by choices: value -> label
COLOURS = {"class": "true class", "predicted": "predicted class", "correct": "correct / wrong",
           "sensitivity": "sensitivity", "scrambled": "scrambled"}


def layout() -> html.Div:
    return html.Div(className="map-panel", children=[
        html.Div(className="map-options", children=[
            html.Label("Colour by", htmlFor="colour-by"),
            dcc.RadioItems(id="colour-by", options=[{"label": v, "value": k} for k, v in COLOURS.items()],
                           value="class", inline=True, className="radio"),
            dcc.Checklist(id="map-flags", options=[{"label": "size by sensitivity", "value": "size"},
                                                   {"label": "trail of the selected sample", "value": "trail"}],
                          value=[], inline=True, className="radio"),
        ]),
        dcc.Graph(id="map", className="map", figure=figures.message_figure("Preparing the run…"),
                  config={"displaylogo": False, "scrollZoom": True}),
        html.Div(id="frame-info", className="frame-info"),
        export.layout(),
        dcc.Store(id="sequence"),
        # polls the store only while the layer's sequence is incomplete
        dcc.Interval(id="map-poll", interval=POLL_MS, disabled=False),
    ])


def sequence_update(ctx: AppContext, layer, have: int):
    """The ``sequence`` payload for ``layer`` (or ``no_update`` when the browser has every ready frame) and
    whether to stop polling; a bad ``layer`` gets a message naming the range."""
    n_layers = len(ctx.config.layer_sizes)
    try:
        layer = int(layer or 0)
    except (TypeError, ValueError):
        return {"error": "layer must be a whole number"}, True
    if not 0 <= layer < n_layers:
        return {"error": f"layer must be in 0..{n_layers - 1}, got {layer}"}, True
    store = ctx.store
    if not store.has_run(ctx.run_id):
        return no_update, False
    payload = service.sequence_payload(store, ctx.run_id, layer, ctx.params, have=have)
    if payload is None:
        return no_update, False
    return payload, payload["complete"]


def register(app: Dash, ctx: AppContext) -> None:
    @app.callback(
        Output("sequence", "data"), Output("map-poll", "disabled"),
        Input("layer-slider", "value"), Input("map-poll", "n_intervals"),
        State("sequence", "data"),
    )
    def update_sequence(layer, _tick, current):
        same_layer = current is not None and current.get("layer") == layer and "frames" in current
        return sequence_update(ctx, layer, len(current["frames"]) if same_layer else 0)

    app.clientside_callback(
        ClientsideFunction(namespace="epochscope", function_name="render"),
        Output("map", "figure"), Output("frame-info", "children"),
        Input("sequence", "data"), Input("epoch-slider", "value"), Input("colour-by", "value"),
        Input("map-flags", "value"), Input("selected", "data"),
    )
