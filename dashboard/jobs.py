"""Job panel: trains the run if needed, lays out all its frames and measures them in a background callback, with
a progress bar in the page, a progress bar in the terminal, and a cancel button."""

from __future__ import annotations

import logging
from collections.abc import Callable

from dash import Dash, Input, Output, State, dcc, html, no_update

from analysis.stage import count_measured
from dashboard import vocab
from dashboard.context import AppContext
from dashboard.map_panel import layout_params, sequence_problem
from dashboard.progress import JOB_OVER, PageProgress
from frames.compute import compute_baseline_frames, compute_frames
from frames.prepare import prepare as prepare_run
from frames.prepare import run_ready
from models.progress import TerminalProgress
from models.store import StoreFull
from models.train import RunBusy

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


def job_logging() -> None:
    """Log to stderr (the server's terminal or log) from a job's own process, which starts with no logging set
    up (a no-op where logging is configured already)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def run_job(ctx: AppContext, set_progress: Callable[[tuple[str, str, str, int]], None]) -> str:
    """Prepare the app's run, reporting ``(done, total, message, run version)`` to the page
    (:class:`~dashboard.progress.PageProgress`); returns the final message.

    Runs in a background process, so it opens its own store.
    """
    job_logging()
    store = ctx.open_store()
    terminal = TerminalProgress()
    try:
        report = PageProgress(set_progress, terminal=terminal, version=True)
        info, ready = prepare_run(store, ctx.config, ctx.params, report, send=ctx.send_chains)
        final = store.metrics(info.run_id)[-1]
        measured = count_measured(store, info)
    except (StoreFull, RunBusy) as exc:
        return f"Cannot train {ctx.run_id}: {exc}"
    finally:
        terminal.close()
        store.close()
    total = len(info.layer_sizes) * info.epochs_done
    if info.state == "diverged":
        return f"{info.message} · {ready}/{total} frames ready · {measured}/{total} measured"
    score = (f"test accuracy {final['test_acc']:.1%}" if "test_acc" in final
             else f"test loss {final['test_loss']:.3f}" if "test_loss" in final else "recorded")
    return f"{ready}/{total} frames ready · {measured}/{total} measured · {score} after {info.epochs_done - 1} epochs"


def run_graph_job(ctx: AppContext, graph: str, method: str, layer: int, set_progress: Callable[[tuple], None]) -> str:
    """Lay out one layer's sequence in another graph mode (the neuron x sample graph) or by a reference method
    (UMAP, t-SNE, PCA) once the run is trained; returns the final message. Runs in a background process, so it
    opens its own store."""
    what = "neuron x sample graph" if method == "ours" else vocab.METHOD_LABELS.get(method, method)
    job_logging()
    store = ctx.open_store()
    try:
        if not run_ready(store, ctx.run_id):
            return f"The {what} is laid out once the run is trained: choose it again then."
        info = store.run_info(ctx.run_id)
        label = f"{what} of {info.layer_names[layer]}"
        report = PageProgress(set_progress, label=label, bar=False)
        if method == "ours":
            ready = compute_frames(store, info, layout_params(ctx, graph), report, layers=[layer])
        else:
            ready = compute_baseline_frames(store, info, layer, method, report)
    finally:
        store.close()
    return f"{label}: {ready}/{info.epochs_done} frames ready"


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
        return run_graph_job(ctx.for_run(start["run"]), start["graph"], start["method"], start["layer"], set_progress)

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
        return run_job(run_ctx, set_progress)
