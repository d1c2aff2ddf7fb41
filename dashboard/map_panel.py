"""Map panel: the laid-out probe samples of the chosen layer and epoch.

The server sends a layer's whole sequence (every ready epoch) to the browser once (``sequence`` store); the map
is drawn in the browser (``assets/epochscope.js``) from it, so scrubbing epochs, recolouring and selecting a
sample never wait for the server. While frames are still being laid out the panel polls for more.
"""

from __future__ import annotations

from dataclasses import replace

from dash import ClientsideFunction, Dash, Input, Output, State, dcc, html, no_update

from dashboard import export, figures, service
from dashboard.context import AppContext
from layout_engine.pipeline import LayoutParams

POLL_MS = 700
#: how often the table of ready sequences is refreshed
READINESS_MS = 2000
#: graph-mode choices: LayoutParams.graph -> label
GRAPH_MODES = {"knn": "samples", "bipartite": "neuron x sample"}
#: layout-method choices: service.METHODS -> label
METHOD_LABELS = {"ours": "ours", "umap": "UMAP", "tsne": "t-SNE", "pca": "PCA"}
COLOURS = {"class": "true class", "predicted": "predicted class", "correct": "correct / wrong",
           "sensitivity": "sensitivity", "scrambled": "scrambled"}


def layout() -> html.Div:
    return html.Div(className="map-panel", children=[
        html.Div(className="map-options", children=[
            html.Div(className="option-group", children=[
                html.Label("Graph", htmlFor="graph-mode"),
                dcc.RadioItems(id="graph-mode", options=[{"label": v, "value": k} for k, v in GRAPH_MODES.items()],
                               value="knn", inline=True, className="radio")]),
            html.Div(className="option-group", children=[
                html.Label("Method", htmlFor="method"),
                dcc.RadioItems(id="method", options=[{"label": METHOD_LABELS[m], "value": m}
                                                     for m in service.METHODS],
                               value="ours", inline=True, className="radio")]),
            html.Div(className="option-group", children=[
                html.Label("Colour by", htmlFor="colour-by"),
                dcc.RadioItems(id="colour-by", options=[{"label": v, "value": k} for k, v in COLOURS.items()],
                               value="class", inline=True, className="radio")]),
            dcc.Checklist(id="map-flags", options=[{"label": "edges", "value": "edges"},
                                                   {"label": "size by sensitivity", "value": "size"},
                                                   {"label": "trail of the selected sample", "value": "trail"},
                                                   {"label": "glide between epochs", "value": "glide"}],
                          value=["glide"], inline=True, className="radio"),
        ]),
        dcc.Graph(id="map", className="map", figure=figures.message_figure("Preparing the run…"),
                  config={"displaylogo": False, "scrollZoom": True}),
        html.Div(id="frame-info", className="frame-info"),
        html.Div(id="readiness", className="readiness"),
        dcc.Interval(id="readiness-poll", interval=READINESS_MS),
        export.layout(),
        dcc.Store(id="sequence"),
        dcc.Store(id="edges"),
        dcc.Store(id="edges-request"),  # the frame whose edges to fetch, set only while edges are shown
        dcc.Store(id="changed-drawn"),  # output of ringChanged, which restyles the map itself
        # polls the store only while the layer's sequence is incomplete
        dcc.Interval(id="map-poll", interval=POLL_MS, disabled=False),
    ])


def layout_params(ctx: AppContext, graph: str) -> LayoutParams:
    """The app's layout parameters for graph mode ``graph`` (``ValueError`` naming the modes if unknown)."""
    problem = sequence_problem(graph, "ours")
    if problem:
        raise ValueError(problem)
    return replace(ctx.params, graph=graph)


def sequence_problem(graph, method) -> str | None:
    """What is wrong with showing graph mode ``graph`` laid out by ``method`` (``None``: nothing)."""
    if graph not in GRAPH_MODES:
        return f"graph must be one of {', '.join(GRAPH_MODES)}, got {graph!r}"
    if method not in service.METHODS:
        return f"method must be one of {', '.join(service.METHODS)}, got {method!r}"
    if method != "ours" and graph != "knn":
        return f"{METHOD_LABELS[method]} lays out samples only: choose the samples graph"
    return None


def sequence_update(ctx: AppContext, layer, have: int, graph: str = "knn", method: str = "ours"):
    """The ``sequence`` payload for ``layer`` in graph mode ``graph`` by ``method`` (or ``no_update`` when the
    browser has every ready frame) and whether to stop polling; a bad ``layer``, ``graph`` or ``method`` gets a
    message naming the accepted values."""
    problem = sequence_problem(graph, method)
    if problem:
        return {"error": problem}, True
    params = layout_params(ctx, graph)
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
    payload = service.sequence_payload(store, ctx.run_id, layer, params, have=have, method=method)
    if payload is None:
        return no_update, False
    return payload, payload["complete"]


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
        html.Tbody([html.Tr([html.Th(f"{GRAPH_MODES[graph]} · {METHOD_LABELS[method]}")] +
                            [cell(graph, method, layer, count) for layer, count in enumerate(counts)])
                    for (graph, method), counts in ready.items()]),
    ])


def register(app: Dash, ctx: AppContext) -> None:
    @app.callback(
        Output("readiness", "children"),
        Input("readiness-poll", "n_intervals"), Input("run-picker", "value"), Input("graph-mode", "value"),
        Input("method", "value"), Input("layer-slider", "value"),
    )
    def update_readiness(_tick, run, graph, method, layer):
        try:
            run_ctx = ctx.for_run(run)
        except KeyError:
            return no_update
        if not run_ctx.store.has_run(run_ctx.run_id):
            return "Frames are laid out once the run is trained."
        info = run_ctx.store.run_info(run_ctx.run_id)
        ready = service.readiness(run_ctx.store, run_ctx.run_id, ctx.params)
        return readiness_table(ready, info.epochs_done, info.layer_names, (graph, method, layer))

    @app.callback(
        Output("sequence", "data"), Output("map-poll", "disabled"),
        Input("run-picker", "value"), Input("layer-slider", "value"), Input("graph-mode", "value"),
        Input("method", "value"), Input("map-poll", "n_intervals"), State("sequence", "data"),
    )
    def update_sequence(run, layer, graph, method, _tick, current):
        try:
            run_ctx = ctx.for_run(run)
        except KeyError as exc:
            return {"error": exc.args[0]}, True
        same = (current is not None and "frames" in current and current.get("run") == run_ctx.run_id
                and current.get("layer") == layer and current.get("graph") == graph
                and current.get("method") == method)
        return sequence_update(run_ctx, layer, len(current["frames"]) if same else 0, graph, method)

    app.clientside_callback(
        ClientsideFunction(namespace="epochscope", function_name="edgesRequest"),
        Output("edges-request", "data"),
        Input("map-flags", "value"), Input("run-picker", "value"), Input("layer-slider", "value"),
        Input("epoch-slider", "value"), Input("graph-mode", "value"), State("edges-request", "data"),
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
                                       layout_params(ctx, request.get("graph")))
        except (KeyError, TypeError, ValueError):
            return None

    app.clientside_callback(
        ClientsideFunction(namespace="epochscope", function_name="render"),
        Output("map", "figure"), Output("frame-info", "children"),
        Input("sequence", "data"), Input("epoch-slider", "value"), Input("colour-by", "value"),
        Input("map-flags", "value"), Input("selected", "data"), Input("edges", "data"), State("changed", "data"),
    )
    app.clientside_callback(
        ClientsideFunction(namespace="epochscope", function_name="ringChanged"),
        Output("changed-drawn", "data"),
        Input("changed", "data"), State("sequence", "data"), State("epoch-slider", "value"),
        prevent_initial_call=True,
    )
