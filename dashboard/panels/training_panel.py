"""Training panel: loss, accuracy, the layer's class separation (each 2-D score beside its raw-space twin), its
linear probe and intrinsic dimension over epochs, linked to the epoch slider."""

from __future__ import annotations

from dash import ClientsideFunction, Dash, Input, Output, State, dcc, html, no_update

from analysis import stage
from dashboard import figures, service, vocab
from dashboard.context import AppContext, NotShown


def layout() -> html.Div:
    return html.Div(className="training", children=[
        html.H3(["Training ", html.Span("· click an epoch to jump to it", className="muted")]),
        dcc.Graph(id=vocab.TRAINING_CURVES, figure=figures.message_figure("Curves appear once the run is trained."),
                  config={"displayModeBar": False}, className="training-curves"),
    ])


def register(app: Dash, ctx: AppContext) -> None:
    @app.callback(
        Output(vocab.TRAINING_CURVES, "figure"),
        Input(vocab.RUN, "value"), Input(vocab.LAYER_SHOWN, "data"), Input(vocab.RUN_VERSION, "data"),
        Input(vocab.COMPARE_PICKER, "value"), State(vocab.LAYER, "value"), State(vocab.EPOCH, "value"),
    )
    def curves(run, _shown, _job, other, layer, epoch):
        """The curves of the run and layer on show (built again only when those or the frames change, and for
        a new layer once the map shows it; the epoch mark follows the slider in the browser)."""
        try:
            view = ctx.view(run, layer)  # the epoch only places the mark: one not recorded yet is no reason to wait
        except NotShown:
            return figures.message_figure("Curves appear once the run is trained.")
        store, metrics = view.store, view.store.metrics(view.run_id)
        if not metrics:
            return figures.message_figure("Curves appear once the run is trained.")
        scores = {**service.scores(store, view.run_id, view.layer, ctx.params),
                  **stage.curves(store, view.run_id, view.layer)}
        compare = None
        if other and other != view.run_id and store.has_run(other):  # the compared run's loss and accuracy
            compare = (other, store.metrics(other))
        mark = epoch if isinstance(epoch, int) else 0
        return figures.training_figure(metrics, scores, mark, view.info.layer_names[view.layer], compare,
                                       view.info.steps(metrics))

    app.clientside_callback(
        ClientsideFunction(namespace="epochscope", function_name="markEpoch"),
        Output(vocab.TRAINING_CURVES, "className"),
        Input(vocab.EPOCH, "value"),
        prevent_initial_call=True,
    )

    @app.callback(
        Output(vocab.GO_TO, "data", allow_duplicate=True),
        Input(vocab.TRAINING_CURVES, "clickData"),
        prevent_initial_call=True,
    )
    def jump(click):
        """A click on a curve moves to its epoch."""
        try:
            return {"epoch": int(round(click["points"][0]["x"]))}
        except (TypeError, KeyError, IndexError, ValueError):
            return no_update
