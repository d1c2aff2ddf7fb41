"""Map panel: the laid-out probe samples of the chosen layer and epoch."""

from __future__ import annotations

from dash import Dash, Input, Output, State, dcc, html, no_update

from dashboard import figures, service
from dashboard.context import AppContext

POLL_MS = 400


def layout() -> html.Div:
    return html.Div(className="map-panel", children=[
        dcc.Graph(id="map", className="map", figure=figures.message_figure("Preparing the run…"),
                  config={"displaylogo": False, "scrollZoom": True}),
        html.Div(id="frame-info", className="frame-info"),
        dcc.Store(id="map-shown"),
        # polls the store only while the map waits for its frame
        dcc.Interval(id="map-poll", interval=POLL_MS, disabled=True),
    ])


def map_update(ctx: AppContext, layer: int, epoch: int, shown: str | None):
    """Figure, caption, shown-token and poll-disabled for (layer, epoch).

    While the frame is not computed yet the map says so and keeps polling; once shown, polling stops and a
    repeated request for the same frame changes nothing.
    """
    n_layers = len(ctx.config.layer_sizes)
    try:
        layer, epoch = int(layer or 0), int(epoch or 0)
    except (TypeError, ValueError):
        return figures.message_figure("layer and epoch must be whole numbers"), "", None, True
    if not 0 <= layer < n_layers:
        return figures.message_figure(f"layer must be in 0..{n_layers - 1}, got {layer}"), "", None, True
    if not 0 <= epoch <= ctx.last_epoch:
        return figures.message_figure(f"epoch must be in 0..{ctx.last_epoch}, got {epoch}"), "", None, True
    token = f"{ctx.run_id}/{layer}/{epoch}"
    store = ctx.store
    if not store.has_run(ctx.run_id):
        return figures.message_figure("Training the run… the map appears with its first frame."), "", None, False
    view = service.frame_view(store, ctx.run_id, layer, epoch, ctx.params)
    info = store.run_info(ctx.run_id)
    name = f"{ctx.config.layer_names[layer]} ({info.layer_sizes[layer]} units)"
    if view is None:
        if epoch >= info.epochs_done and info.state != "training":
            return figures.message_figure(f"Epoch {epoch} was not recorded: {info.message}"), "", None, True
        return figures.message_figure(f"Laying out {name}, epoch {epoch}…"), "", None, False
    if shown == token:
        return no_update, no_update, no_update, True
    fig = figures.map_figure(view.coords, view.labels, view.predictions, view.confidence, view.sample_index,
                             ctx.class_names, title=f"{name} · epoch {epoch}", revision=f"{ctx.run_id}/{layer}")
    m = view.metrics
    scores = (f"train accuracy {m['train_acc']:.1%} · test accuracy {m['test_acc']:.1%} · " if "test_acc" in m
              else "")
    caption = (f"{name}, epoch {epoch}: class silhouette of the layout {view.silhouette:.2f} · {scores}"
               f"test loss {m['test_loss']:.3f} · {len(view.coords)} probe samples")
    return fig, caption, token, True


def register(app: Dash, ctx: AppContext) -> None:
    @app.callback(
        Output("map", "figure"), Output("frame-info", "children"), Output("map-shown", "data"),
        Output("map-poll", "disabled"),
        Input("layer-slider", "value"), Input("epoch-slider", "value"), Input("map-poll", "n_intervals"),
        State("map-shown", "data"),
    )
    def update_map(layer, epoch, _ready, shown):
        return map_update(ctx, layer, epoch, shown)
