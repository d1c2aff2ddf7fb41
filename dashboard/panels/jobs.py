"""Job panel: trains the run if needed, lays out all its frames and measures them in a background callback, with
a progress bar in the page, a progress bar in the terminal, and a cancel button."""

from __future__ import annotations

import logging

from dash import Dash, Input, Output, State, dcc, html, no_update

from dashboard import vocab, work
from dashboard.context import AppContext
from dashboard.progress import JOB_OVER
from dashboard.sequences import sequence_problem

logger = logging.getLogger(__name__)


def layout() -> html.Div:
    return html.Div(className="job", children=[
        html.Progress(id="job-progress", value="0", max="1", className="progress"),
        html.Span(id=vocab.JOB_MESSAGE, className="job-message", children="Starting…"),
        html.Button("Cancel", id="job-cancel", className="button button-quiet", disabled=True),
        html.Span(id="graph-job-message", className="job-message"),
        dcc.Store(id="graph-job-start"),
        dcc.Store(id="job-run"),
        dcc.Store(id=vocab.RUN_VERSION, data=0),
    ])


def register(app: Dash, ctx: AppContext) -> None:
    @app.callback(
        Output("graph-job-start", "data"),
        Input(vocab.RUN, "value"), Input(vocab.GRAPH_MODE, "value"), Input(vocab.METHOD, "value"),
        Input(vocab.LAYER, "value"),
        prevent_initial_call=True,
    )
    def start_graph_job(run, graph, method, layer):
        """Start a background job only for frames the main job does not lay out (another graph mode or
        method), and only for valid choices."""
        try:
            layer = int(layer)
        except (TypeError, ValueError):
            return no_update
        try:
            run_ctx = ctx.for_run(run)
        except KeyError:
            return no_update
        if ((graph, method) == ("knn", "ours") or not 0 <= layer < len(run_ctx.config.layer_sizes)
                or sequence_problem(graph, method)):
            return no_update
        return {"run": run_ctx.run_id, "graph": graph, "method": method, "layer": layer}

    @app.callback(
        Output("graph-job-message", "children"),
        Input("graph-job-start", "data"),
        background=True,
        progress=[Output("graph-job-message", "children")],
        interval=300,
        prevent_initial_call=True,
    )
    def graph_job(set_progress, start):
        return work.run_graph_job(ctx.for_run(start["run"]), start["graph"], start["method"], start["layer"],
                                  set_progress)

    @app.callback(Output("job-run", "data"), Input(vocab.RUN, "value"), State("job-run", "data"))
    def follow_run(run, current):
        """The run to prepare: changes only when the run on show does (the URL setting the same run again at
        page load would otherwise start its job twice)."""
        return no_update if run == current else run

    @app.callback(
        Output(vocab.JOB_MESSAGE, "children"),
        Input("job-run", "data"),
        background=True,
        progress=[Output("job-progress", "value"), Output("job-progress", "max"), Output(vocab.JOB_MESSAGE, "children"),
                  Output(vocab.RUN_VERSION, "data")],
        progress_default=["0", "1", "Starting…", JOB_OVER],
        running=[(Output("job-cancel", "disabled"), False, True),
                 (Output("job-progress", "className"), "progress", "progress done")],
        cancel=[Input("job-cancel", "n_clicks")],
        interval=250,
        prevent_initial_call=True,  # started by follow_run, once per run
    )
    def prepare(set_progress, run):
        try:
            run_ctx = ctx.for_run(run)
        except KeyError as exc:
            return f"Cannot show this run: {exc.args[0]}"
        return work.run_job(run_ctx, set_progress)
