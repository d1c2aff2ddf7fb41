"""Export panel: buttons for the frame on show as CSV, its graph as GraphML, the layer's epochs as an HTML
animation, and the map as PNG / SVG (built by :mod:`dashboard.export`)."""

from __future__ import annotations

from dash import ClientsideFunction, Dash, Input, Output, State, dcc, html, no_update
from dash import ctx as callback_ctx

from dashboard import vocab
from dashboard.context import AppContext
from dashboard.export import animation_html, frame_csv, frame_graphml, map_image, titled
from dashboard.sequences import layout_params
from models.naming import slug


def layout() -> html.Div:
    return html.Div(className="exports", children=[
        html.Span("Export", className="muted"),
        html.Button("CSV", id="export-csv", className="button button-small", n_clicks=0),
        html.Button("GraphML", id="export-graphml", className="button button-small", n_clicks=0),
        html.Button("Animation (HTML)", id="export-html", className="button button-small", n_clicks=0),
        html.Button("PNG", id="export-png", className="button button-small", n_clicks=0),
        html.Button("SVG", id="export-svg", className="button button-small", n_clicks=0),
        html.Span(id="export-message", className="muted"),
        dcc.Download(id="download"),
        dcc.Download(id="download-image"),
        dcc.Store(id="export-figure"),
    ])


def register(app: Dash, app_ctx: AppContext) -> None:
    @app.callback(
        Output("download", "data"), Output("export-message", "children"),
        Input("export-csv", "n_clicks"), Input("export-graphml", "n_clicks"), Input("export-html", "n_clicks"),
        State(vocab.RUN, "value"), State(vocab.LAYER, "value"), State(vocab.EPOCH, "value"),
        State(vocab.GRAPH_MODE, "value"), State(vocab.METHOD, "value"), State(vocab.COLOUR_BY, "value"),
        prevent_initial_call=True,
    )
    def export(_csv, _graphml, _html, run, layer, epoch, graph, method, colour):
        """What the map shows: the run, layer and epoch on show, in the graph mode and by the layout method on
        show (a reference method lays out samples only: its frames whatever the graph mode); the animation in the
        colour mode on show."""
        what = callback_ctx.triggered_id
        try:
            view = app_ctx.view(run, layer, epoch)
            layer, epoch, store, run_id = view.layer, view.epoch, view.store, view.run_id
            if method not in vocab.METHOD_LABELS:
                raise ValueError(f"method must be one of {', '.join(vocab.METHOD_LABELS)}, got {method!r}")
            params = layout_params(view.ctx, graph if method == "ours" else "knn")
            stem = f"{slug(view.info.name, run_id)}-{view.info.layer_names[layer]}"
            if what == "export-csv":
                text = frame_csv(store, run_id, layer, epoch, params, method)
                return dict(content=text, filename=f"{stem}-epoch{epoch}.csv", type="text/csv"), ""
            if what == "export-graphml":
                text = frame_graphml(store, run_id, layer, epoch, params, view.ctx.class_names, method)
                return dict(content=text, filename=f"{stem}-epoch{epoch}.graphml", type="application/xml"), ""
            text = animation_html(store, run_id, layer, params, colour, method)
            return dict(content=text, filename=f"{stem}-epochs.html", type="text/html"), ""
        except (KeyError, ValueError) as exc:  # NotShown, a bad method, or a frame not laid out yet
            return no_update, f"Nothing to export yet: {exc.args[0] if exc.args else exc}"

    # the figure as it is on screen (after any glide, zoom or pan) goes to the server, which draws the image
    app.clientside_callback(
        ClientsideFunction(namespace="epochscope", function_name="shownFigure"),
        Output("export-figure", "data"), Input("export-png", "n_clicks"), Input("export-svg", "n_clicks"),
        prevent_initial_call=True,
    )

    @app.callback(
        Output("download-image", "data"), Output("export-message", "children", allow_duplicate=True),
        Input("export-figure", "data"), State(vocab.RUN, "value"), State(vocab.LAYER, "value"),
        State(vocab.EPOCH, "value"),
        prevent_initial_call=True,
    )
    def export_image(request, run, layer, epoch):
        if not isinstance(request, dict):
            return no_update, "Nothing to export yet: the map is not drawn"
        fmt = request.get("format")
        stem, name = "epochscope-map", None
        try:
            ctx = app_ctx.for_run(run)
            name = ctx.store.name(ctx.run_id, ctx.config)
            stem = f"{slug(name, ctx.run_id)}-{ctx.config.layer_names[int(layer)]}-epoch{int(epoch)}"
        except (KeyError, IndexError, TypeError, ValueError):
            pass
        try:
            image = map_image(titled(request.get("figure"), name), fmt)
        except (ValueError, RuntimeError) as exc:
            return no_update, f"Cannot export the image: {exc}"
        return dcc.send_bytes(image, f"{stem}.{fmt}"), ""
