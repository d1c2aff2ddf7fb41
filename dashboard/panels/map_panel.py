"""Map panel: the laid-out probe samples of the chosen layer and epoch.

The server sends what a layer's sequence holds (per ready epoch, its scalars) to the browser once (``sequence``
store), a run's per-sample arrays once per run (``GET`` :data:`SAMPLES_ROUTE`) and each epoch's arrays when the
page asks for them (``GET`` :data:`FRAME_ROUTE`; both typed arrays): the page fetches the epoch on show and a
window of epochs around it ahead of need, so scrubbing,
recolouring and selecting a sample do not wait for the server. The map is drawn in the browser
(``assets/epochscope.js``). While frames are still being laid out the panel polls for more.
"""

from __future__ import annotations

import orjson
from dash import ClientsideFunction, Dash, Input, Output, State, dcc, html, no_update
from dash.development.base_component import Component
from flask import Response, request

from dashboard import sequences, service, vocab
from dashboard.context import AppContext
from dashboard.map_view import MAIN

#: one epoch's arrays: ``GET /frames/<run>/<layer>/<epoch>?graph=knn&method=ours`` (:func:`sequences.frame_response`)
FRAME_ROUTE = "/frames/<run>/<layer>/<epoch>"
#: a run's per-sample arrays: ``GET /samples/<run>`` (:func:`dashboard.service.sample_arrays`)
SAMPLES_ROUTE = "/samples/<run>"
#: how often the table of ready sequences is refreshed
READINESS_MS = 2000


def layout(*, beside: Component | None = None, footer: Component | None = None) -> html.Div:
    """The map panel: the map (:data:`dashboard.map_view.MAIN`) and its options; ``beside`` (the compared run's
    map) stands beside the map, ``footer`` (the export panel) under the readiness table."""
    return html.Div(className="map-panel", children=[
        html.Div(className="map-options", children=[
            html.Div(className="option-group", children=[
                html.Label("Graph", htmlFor=vocab.GRAPH_MODE),
                dcc.RadioItems(id=vocab.GRAPH_MODE,
                               options=[{"label": v, "value": k} for k, v in vocab.GRAPH_MODES.items()],
                               value="knn", inline=True, className="radio")]),
            html.Div(className="option-group", children=[
                html.Label("Method", htmlFor=vocab.METHOD),
                dcc.RadioItems(id=vocab.METHOD, options=[{"label": label, "value": m}
                                                         for m, label in vocab.METHOD_LABELS.items()],
                               value="ours", inline=True, className="radio")]),
            html.Div(className="option-group", children=[
                html.Label("Colour by", htmlFor=vocab.COLOUR_BY),
                dcc.RadioItems(id=vocab.COLOUR_BY,
                               options=colour_mode_options(True),
                               value="class", inline=True, className="radio")]),
            dcc.Checklist(id="map-flags", options=[{"label": "edges", "value": "edges"},
                                                   {"label": "size by sensitivity", "value": "size"},
                                                   {"label": "trail of the selected sample", "value": "trail"},
                                                   {"label": "glide between epochs", "value": "glide"}],
                          value=["glide"], inline=True, className="radio"),
        ]),
        html.Div(className="maps", children=[MAIN.graph_layout("Preparing the run…"),
                                             *([beside] if beside is not None else [])]),
        html.Div(id=vocab.FRAME_INFO, className="frame-info"),
        html.Div(id="readiness", className="readiness"),
        dcc.Interval(id="readiness-poll", interval=READINESS_MS),
        *([footer] if footer is not None else []),
        *MAIN.data_layout(),
        dcc.Store(id="frame-warm"),  # output of warmFrame, which starts fetching a layer's frame at once
        dcc.Store(id="edges"),
        dcc.Store(id="edges-request"),  # the frame whose edges to fetch, set only while edges are shown
        dcc.Store(id="changed-drawn"),  # output of ringChanged, which restyles the map itself
        # the layer on show once the map has drawn it (assets/epochscope.js layerShown): the side panels follow it
        dcc.Store(id=vocab.LAYER_SHOWN),
        dcc.Store(id="layer-wait"),  # output of layerShown, which sets layer-shown itself
    ])


#: the colour modes that read a classifier's predictions
PREDICTION_MODES = ("predicted", "correct")


def colour_mode_options(classifies: bool) -> list[dict]:
    """The colour-by radio's options: every mode, those that need predictions disabled (and saying why) for a
    model that does not classify."""
    return [{"label": label if classifies or mode not in PREDICTION_MODES else f"{label} (no predictions)",
             "value": mode, "disabled": not classifies and mode in PREDICTION_MODES}
            for mode, label in vocab.COLOUR_MODES.items()]


def readiness_table(ready: dict[tuple[str, str], list[int]], epochs: int, layer_names: tuple[str, ...],
                    current: tuple[str, str, int] | None = None) -> html.Table:
    """Which sequences are laid out: one row per (graph, method), one cell per layer (✓ all epochs, ``k/n``
    part-way, – not started: chosen sequences are laid out on demand); ``current`` (graph, method, layer) is
    marked."""
    def cell(graph: str, method: str, layer: int, count: int) -> html.Td:
        text = "✓" if count == epochs else f"{count}/{epochs}" if count else "–"
        state = "ready" if count == epochs else "partial" if count else "none"
        here = " current" if current == (graph, method, layer) else ""
        return html.Td(text, className=f"ready-{state}{here}")

    return html.Table(className="readiness-table", children=[
        html.Thead(html.Tr([html.Th("frames ready")] + [html.Th(name) for name in layer_names])),
        html.Tbody([html.Tr([html.Th(f"{vocab.GRAPH_MODES[graph]} · {vocab.METHOD_LABELS[method]}")] +
                            [cell(graph, method, layer, count) for layer, count in enumerate(counts)])
                    for (graph, method), counts in ready.items()]),
    ])


def register_routes(app: Dash, ctx: AppContext) -> None:
    """The map's data over plain HTTP: :data:`FRAME_ROUTE` and :data:`SAMPLES_ROUTE` (typed arrays as JSON)."""
    def answer(body: dict, status: int):
        response = Response(orjson.dumps(body), status=status, mimetype="application/json")
        # versioned URLs (``v=``, from the sequence payload) name fixed content: the browser may keep them
        fixed = status == 200 and request.args.get("v")
        response.headers["Cache-Control"] = "private, max-age=3600" if fixed else "no-store"
        return response

    @app.server.route(FRAME_ROUTE, methods=["GET"])
    def frame(run: str, layer: str, epoch: str):
        body, status = sequences.frame_response(ctx, run, layer, epoch, request.args.get("graph"),
                                                request.args.get("method"))
        if status == 404 and request.args.get("optional"):  # fetched ahead of need: not there yet is no error
            return Response(status=204, headers={"Cache-Control": "no-store"})
        return answer(body, status)

    @app.server.route(SAMPLES_ROUTE, methods=["GET"])
    def samples(run: str):
        found = sequences.trained_run(ctx, run)
        if isinstance(found, dict):
            return answer(found, 404)
        run_ctx, _ = found
        return answer(service.sample_arrays(run_ctx.store, run_ctx.run_id), 200)


def register(app: Dash, ctx: AppContext) -> None:
    register_routes(app, ctx)

    @app.callback(
        Output("readiness", "children"),
        Input("readiness-poll", "n_intervals"), Input(vocab.RUN, "value"), Input(vocab.GRAPH_MODE, "value"),
        Input(vocab.METHOD, "value"), Input(vocab.LAYER, "value"),
    )
    def update_readiness(_tick, run, graph, method, layer):
        try:
            found = sequences.readiness_of(ctx.for_run(run))
        except KeyError:
            return no_update
        if found is None:
            return "Frames are laid out once the run is trained."
        ready, info = found
        return readiness_table(ready, info.epochs_done, info.layer_names, (graph, method, layer))

    MAIN.register_sequence(app, ctx)
    MAIN.register_render(app, caption=vocab.FRAME_INFO)

    @app.callback(
        Output(vocab.COLOUR_BY, "options"), Output(vocab.COLOUR_BY, "value", allow_duplicate=True),
        Input(vocab.RUN, "value"), State(vocab.COLOUR_BY, "value"),
        prevent_initial_call="initial_duplicate",
    )
    def colour_options(run, colour):
        """The colour modes the run can show: a model that does not classify (a beta-VAE) has no predictions,
        so 'predicted class' and 'correct / wrong' are offered disabled, and one of them on show falls back to
        the true class."""
        try:
            classifies = ctx.for_run(run).config.model != "vae"
        except KeyError:
            return no_update, no_update
        options = colour_mode_options(classifies)
        off = {o["value"] for o in options if o.get("disabled")}
        return options, "class" if colour in off else no_update

    app.clientside_callback(
        ClientsideFunction(namespace="epochscope", function_name="edgesRequest"),
        Output("edges-request", "data"),
        Input("map-flags", "value"), Input(vocab.RUN, "value"), Input(vocab.LAYER, "value"),
        Input(vocab.EPOCH, "value"), Input(vocab.GRAPH_MODE, "value"), State("edges-request", "data"),
    )

    @app.callback(Output("edges", "data"), Input("edges-request", "data"), prevent_initial_call=True)
    def update_edges(request):
        """The edges of the frame asked for; asked only while edges are shown, so that with them off the map,
        which waits for this output, never waits for the server."""
        if not isinstance(request, dict):
            return None
        try:
            run_ctx = ctx.for_run(request.get("run"))
            return service.frame_edges(ctx.store, run_ctx.run_id, int(request["layer"]), int(request["epoch"]),
                                       sequences.layout_params(ctx, str(request.get("graph"))))
        except (KeyError, TypeError, ValueError):
            return None

    app.clientside_callback(
        ClientsideFunction(namespace="epochscope", function_name="warmFrame"),
        Output("frame-warm", "data"),
        Input(vocab.LAYER, "value"), State(vocab.RUN, "value"), State(vocab.EPOCH, "value"),
        State(vocab.GRAPH_MODE, "value"), State(vocab.METHOD, "value"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        ClientsideFunction(namespace="epochscope", function_name="layerShown"),
        Output("layer-wait", "data"),
        Input(vocab.LAYER, "value"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        ClientsideFunction(namespace="epochscope", function_name="ringChanged"),
        Output("changed-drawn", "data"),
        Input(vocab.CHANGED, "data"), State(vocab.SEQUENCE, "data"), State(vocab.EPOCH, "value"),
        prevent_initial_call=True,
    )
