"""Job panel: trains the run if needed, lays out all its frames and measures them in a background callback, with
a progress bar in the page, a progress bar in the terminal, and a cancel button."""

from __future__ import annotations

import logging

from dash import ClientsideFunction, Dash, Input, Output, State, dcc, html, no_update

from dashboard import vocab, work
from dashboard.context import AppContext
from dashboard.progress import JOB_OVER
from dashboard.sequences import sequence_problem

logger = logging.getLogger(__name__)


def layout() -> html.Div:
    return html.Div(className="job", children=[
        html.Progress(id="job-progress", value="0", max="1", className="progress"),
        html.Span(id=vocab.JOB_MESSAGE, className="job-message", children=""),
        html.Button("Cancel", id="job-cancel", className="button button-quiet", disabled=True),
        html.Span(id="graph-job-message", className="job-message"),
        dcc.Store(id="graph-job-start"),
        dcc.Store(id="job-run"),  # the job's run and number: {"run", "n"}
        dcc.Store(id="job-state"),  # its progress: {"run", "n", "done", "total", "message"}
        dcc.Store(id="job-final"),  # its end: {"run", "n", "message"}
        dcc.Store(id="job-ready"),  # a ready run's summary, without a job: {"run", "message"}
        dcc.Store(id=vocab.RUN_VERSION, data=0),
    ])


def register(app: Dash, ctx: AppContext) -> None:
    _register_graph_job(app, ctx)
    _register_run_job(app, ctx)


def _register_graph_job(app: Dash, ctx: AppContext) -> None:
    @app.callback(
        Output("graph-job-start", "data"),
        Input(vocab.RUN, "value"), Input(vocab.GRAPH_MODE, "value"), Input(vocab.METHOD, "value"),
        Input(vocab.LAYER, "value"), State(vocab.EPOCH, "value"),
        prevent_initial_call=True,
    )
    def start_graph_job(run, graph, method, layer, epoch):
        """Start a background job only for frames the main job does not lay out (another graph mode or
        method), and only for valid choices; it lays out from the epoch on show outwards."""
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
        epoch = epoch if isinstance(epoch, int) and epoch >= 0 else 0
        return {"run": run_ctx.run_id, "graph": graph, "method": method, "layer": layer, "epoch": epoch}

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
                                  start["epoch"], set_progress)


def _register_run_job(app: Dash, ctx: AppContext) -> None:
    @app.callback(
        Output("job-run", "data"), Output("job-ready", "data"),
        Input(vocab.RUN, "value"), State("job-run", "data"), State("job-final", "data"),
    )
    def follow_run(run, job, final):
        """The run on show gets a job unless it is ready (trained, every frame laid out and measured: then its
        summary is shown at once, with no job), or a job for it is running already (the URL setting the same run
        again at page load, or a run shown again while its job goes on)."""
        try:
            run_ctx = ctx.for_run(run)
        except KeyError as exc:
            return no_update, {"run": run, "message": f"Cannot show this run: {exc.args[0]}"}
        summary = work.ready_summary(ctx.store, run_ctx)
        if summary is not None:
            return no_update, {"run": run_ctx.run_id, "message": summary}
        job = job if isinstance(job, dict) else {}
        ended = isinstance(final, dict) and final.get("n") == job.get("n")
        if job.get("run") == run_ctx.run_id and not ended:
            return no_update, None
        return {"run": run_ctx.run_id, "n": int(job.get("n", 0)) + 1}, None

    @app.callback(
        Output("job-final", "data"),
        Input("job-run", "data"),
        background=True,
        progress=[Output("job-state", "data"), Output(vocab.RUN_VERSION, "data")],
        progress_default=[None, JOB_OVER],
        cancel=[Input("job-cancel", "n_clicks")],
        interval=250,
        prevent_initial_call=True,  # started by follow_run, once per run
    )
    def prepare(set_progress, job):
        try:
            run_ctx = ctx.for_run(job["run"])
        except KeyError as exc:
            return {**job, "message": f"Cannot show this run: {exc.args[0]}"}
        return {**job, "message": work.run_job(run_ctx, set_progress, tag=job)}

    @app.callback(
        Output("job-final", "data", allow_duplicate=True),
        Input("job-cancel", "n_clicks"), State("job-run", "data"),
        prevent_initial_call=True,
    )
    def cancelled(_clicks, job):
        """Cancel ends the job: said for its run (what it stored is kept; showing the run again goes on)."""
        return {**job, "message": "Stopped. What was done is kept: show the run again to go on."} if job else no_update

    # the job line shows the run on show, now: its summary, or its job's progress; never another run's. (Its
    # job's end comes on its own: a callback taking the job's result waits for the job to end.)
    job_line = (Output(vocab.JOB_MESSAGE, "children"), Output("job-progress", "value"),
                Output("job-progress", "max"), Output("job-progress", "className"), Output("job-cancel", "disabled"))
    app.clientside_callback(
        ClientsideFunction(namespace="epochscope", function_name="showJob"),
        *job_line,
        Input("job-state", "data"), Input("job-ready", "data"), Input("job-run", "data"), Input(vocab.RUN, "value"),
    )
    app.clientside_callback(
        ClientsideFunction(namespace="epochscope", function_name="showJobEnd"),
        *(Output(o.component_id, o.component_property, allow_duplicate=True) for o in job_line),
        Input("job-final", "data"), State(vocab.RUN, "value"),
        prevent_initial_call=True,
    )
