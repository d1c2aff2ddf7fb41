"""Side by side: a second run's map beside the first, under the same layer, epoch and colour controls.

Any two runs with the same probe samples compare (a sweep's beta = 1 and beta = 8, a clean run and its scrambled
twin): the second map is Procrustes-aligned in the browser to the first at the same (layer, epoch), so a sample
sits in comparable places in both (``procrustes`` in ``assets/epochscope-frames.js``); the selected sample is
ringed in both, and a click in either selects; the second run's loss and accuracy are overlaid on the curves;
the URL carries it (``compare=<run>``). Its frames are laid out by a background job of their own.
"""

from __future__ import annotations

from dash import ClientsideFunction, Dash, Input, Output, State, dcc, html, no_update

from dashboard import catalogue, vocab, work
from dashboard.context import AppContext
from dashboard.sequences import POLL_MS, sequence_update


def layout() -> html.Div:
    return html.Div(className="compare", children=[
        html.Label("Compare with", htmlFor=vocab.COMPARE_PICKER),
        dcc.Dropdown(id=vocab.COMPARE_PICKER, options=[], value=None, clearable=True, className="compare-picker",
                     placeholder="another run on the same probe samples"),
        html.Span(id="compare-message", className="job-message"),
        dcc.Store(id="sequence-b"),
        dcc.Store(id="compare-job-start"),
        dcc.Interval(id="compare-poll", interval=POLL_MS, disabled=True),
    ])


def register(app: Dash, ctx: AppContext) -> None:
    @app.callback(Output(vocab.COMPARE_PICKER, "options"), Input(vocab.RUN, "value"))
    def options(run):
        try:
            return catalogue.comparable_runs(ctx.store, ctx.for_run(run).run_id)
        except KeyError:
            return []

    @app.callback(
        Output("sequence-b", "data"), Output("compare-poll", "disabled"),
        Input(vocab.COMPARE_PICKER, "value"), Input(vocab.RUN, "value"), Input(vocab.LAYER, "value"),
        Input(vocab.GRAPH_MODE, "value"), Input(vocab.METHOD, "value"), Input("compare-poll", "n_intervals"),
        State("sequence-b", "data"),
    )
    def update_sequence_b(other, run, layer, graph, method, _tick, current):
        """The second run's sequence for the layer on show, as the map's (polling while it is laid out)."""
        if not other:
            return None, True
        try:
            run_ctx = ctx.for_run(run)
            problem = catalogue.compare_problem(ctx.store, run_ctx.run_id, other)
            other_ctx = ctx.for_run(other)
        except KeyError as exc:
            return {"error": str(exc.args[0])}, True
        if problem:
            return {"error": problem}, True
        same = (isinstance(current, dict) and "frames" in current and current.get("run") == other
                and current.get("layer") == layer and current.get("graph") == graph
                and current.get("method") == method)
        return sequence_update(other_ctx, layer, len(current["frames"]) if same else 0, graph, method)

    @app.callback(Output("compare-job-start", "data"), Input(vocab.COMPARE_PICKER, "value"),
                  State(vocab.RUN, "value"), prevent_initial_call=True)
    def start_compare_job(other, run):
        try:
            ok = other and catalogue.compare_problem(ctx.store, ctx.for_run(run).run_id, other) is None
        except KeyError:
            ok = False
        return other if ok else no_update

    @app.callback(
        Output("compare-message", "children"),
        Input("compare-job-start", "data"),
        background=True,
        progress=[Output("compare-message", "children")],
        interval=300,
        prevent_initial_call=True,
    )
    def compare_job(set_progress, other):
        """Lay out the second run's frames (and measure them), as the main job does for the run on show."""
        message = work.run_job(ctx.for_run(other), lambda progress: set_progress((progress[2],)))
        return f"compared run: {message}"

    app.clientside_callback(
        ClientsideFunction(namespace="epochscope", function_name="renderCompare"),
        Output(vocab.MAP_B, "figure"), Output(vocab.COMPARE_VIEW, "className"),
        Input("sequence-b", "data"), Input(vocab.SEQUENCE, "data"), Input(vocab.EPOCH, "value"),
        Input(vocab.COLOUR_BY, "value"), Input(vocab.SELECTED, "data"), Input(vocab.FRAME_ARRIVED, "data"),
    )

