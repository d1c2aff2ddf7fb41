"""Controls panel: layer slider, epoch slider with play / pause."""

from __future__ import annotations

from dash import ClientsideFunction, Dash, Input, Output, State, dcc, html, no_update

from dashboard import vocab
from dashboard.catalogue import heading
from dashboard.context import AppContext

PLAY_INTERVAL_MS = 700
#: play speeds offered, as multiples of one epoch per PLAY_INTERVAL_MS
SPEEDS = (0.5, 1, 2, 4)


def layout(ctx: AppContext) -> html.Div:
    layer_marks, last_layer, epoch_marks, last = slider_props(ctx)
    return html.Div(className="controls", children=[
        html.Div(className="control", children=[
            html.Label("Hidden layer", htmlFor=vocab.LAYER),
            dcc.Slider(id=vocab.LAYER, min=0, max=last_layer, step=1, value=0, marks=layer_marks,
                       allow_direct_input=False,
                       updatemode="drag"),
        ]),
        html.Div(className="control control-epoch", children=[
            html.Label("Step" if ctx.unit == "step" else "Epoch", htmlFor=vocab.EPOCH, id="epoch-label"),
            html.Div(className="epoch-row", children=[
                html.Button("▶ Play", id="play-button", className="button", n_clicks=0),
                dcc.Slider(id=vocab.EPOCH, min=0, max=last, step=1, value=0, marks=epoch_marks,
                           updatemode="drag", tooltip={"placement": "bottom", "always_visible": False},
                           className="epoch-slider"),
                dcc.Dropdown(id="play-speed", options=[{"label": f"{v}x", "value": v} for v in SPEEDS], value=1,
                             clearable=False, searchable=False, className="speed"),
                # while a run trains, the slider moves to each epoch as soon as it is laid out
                dcc.Checklist(id="follow-latest", options=[{"label": "follow latest", "value": "follow"}],
                              value=["follow"], inline=True, className="radio"),
            ]),
        ]),
        dcc.Interval(id="play-interval", interval=PLAY_INTERVAL_MS, disabled=True),
        dcc.Store(id=vocab.PLAYING, data=False),
        dcc.Store(id="play-base", data=PLAY_INTERVAL_MS),  # the browser's playSpeed divides it by the speed
    ])


def epoch_marks(last: int, steps: tuple[int, ...] | None = None) -> dict[int, str]:
    """About ten marks over epochs ``0 .. last`` and the last, labelled by the epoch, or by its training step for a
    run recorded by steps (as the browser's ``followSequence`` labels them while the run grows)."""
    every = max(1, -(-last // 10))  # at most about ten, so that they fit a narrow slider
    label = (lambda e: str(steps[e])) if steps is not None and len(steps) > last else str
    marks = {e: label(e) for e in range(0, last + 1, every)}
    if 0 < last % every < 0.75 * every:
        del marks[last - last % every]  # too close to the last mark to be read beside it ("24 25")
    marks[last] = label(last)
    return marks


def slider_props(ctx: AppContext) -> tuple[dict, int, dict, int]:
    """Layer marks and last index, epoch marks and last epoch, for the run of ``ctx``."""
    cfg = ctx.config
    layer_marks = {i: f"{name} · {size}" for i, (name, size) in enumerate(zip(cfg.layer_names, cfg.layer_sizes))}
    last = ctx.last_epoch
    return layer_marks, len(cfg.layer_sizes) - 1, epoch_marks(last, ctx.steps()), last


def clamped(value, last: int):
    """``last`` when ``value`` is a number beyond it, else ``no_update``."""
    return last if isinstance(value, (int, float)) and value > last else no_update


def register(app: Dash, ctx: AppContext) -> None:
    """The sliders follow the run on show; play / pause steps the epoch slider in the browser, without a server
    round trip, at the chosen speed."""
    @app.callback(
        Output(vocab.LAYER, "marks"), Output(vocab.LAYER, "max"), Output(vocab.EPOCH, "marks"),
        Output(vocab.EPOCH, "max"), Output(vocab.RUN_NAME, "children"), Output(vocab.RUN_LABEL, "data"),
        Output("epoch-label", "children"),
        Output(vocab.LAYER, "value", allow_duplicate=True), Output(vocab.EPOCH, "value", allow_duplicate=True),
        Input(vocab.RUN, "value"), State(vocab.LAYER, "value"), State(vocab.EPOCH, "value"),
        prevent_initial_call="initial_duplicate",
    )
    def follow_run(run, layer, epoch):
        """Marks and ranges of the run on show (a run recorded by steps: its steps); a layer or epoch beyond the
        new run's is brought to its last (one within range is left alone: the URL may be setting it in the same
        step)."""
        try:
            run_ctx = ctx.for_run(run)
        except KeyError:
            return (no_update,) * 9
        layer_marks, last_layer, marks, last = slider_props(run_ctx)
        return (layer_marks, last_layer, marks, last, heading(ctx.store, run_ctx.run_id, run_ctx.config),
                ctx.store.name(run_ctx.run_id, run_ctx.config),
                "Step" if run_ctx.unit == "step" else "Epoch", clamped(layer, last_layer), clamped(epoch, last))

    app.clientside_callback(
        ClientsideFunction(namespace="epochscope", function_name="followSequence"),
        Output(vocab.EPOCH, "max", allow_duplicate=True), Output(vocab.EPOCH, "marks", allow_duplicate=True),
        Output(vocab.EPOCH, "value", allow_duplicate=True),
        Input(vocab.SEQUENCE, "data"), State("follow-latest", "value"), State(vocab.EPOCH, "max"),
        State(vocab.EPOCH, "value"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        ClientsideFunction(namespace="epochscope", function_name="playSpeed"),
        Output("play-interval", "interval"), Input("play-speed", "value"), State("play-base", "data"),
    )
    app.clientside_callback(
        ClientsideFunction(namespace="epochscope", function_name="play"),
        Output(vocab.EPOCH, "value"), Output(vocab.PLAYING, "data"), Output("play-interval", "disabled"),
        Output("play-button", "children"),
        Input("play-button", "n_clicks"), Input("play-interval", "n_intervals"),
        State(vocab.EPOCH, "value"), State(vocab.EPOCH, "max"), State(vocab.PLAYING, "data"),
        prevent_initial_call=True,
    )
    # the epoch once the slider rests, for the panels drawn on the server (not while Play runs)
    app.clientside_callback(
        ClientsideFunction(namespace="epochscope", function_name="restEpoch"),
        Output(vocab.EPOCH_RESTED, "data"),
        Input(vocab.EPOCH, "value"), State(vocab.PLAYING, "data"),
    )
    # where a panel asks to go (a click on the curves, a CKA cell, a unit), within the run's layers and epochs
    app.clientside_callback(
        ClientsideFunction(namespace="epochscope", function_name="goTo"),
        Output(vocab.LAYER, "value", allow_duplicate=True), Output(vocab.EPOCH, "value", allow_duplicate=True),
        Input(vocab.GO_TO, "data"), State(vocab.LAYER, "max"), State(vocab.EPOCH, "max"),
        prevent_initial_call=True,
    )
