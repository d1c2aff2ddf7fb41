"""Runs panel: pick any stored run (trained here, from the command line, a sweep, or recorded from your own
loop); for a run of a beta sweep, the beta slider (placed with the beta-VAE views: :mod:`dashboard.panels.
vae_panel`) moves between the sweep's runs, one beta per step."""

from __future__ import annotations

from dash import Dash, Input, Output, State, dcc, html, no_update
from dash import ctx as callback_ctx

from dashboard import catalogue, vocab
from dashboard.context import SWEEP_PREFIX, AppContext
from models.naming import NAME_MAX
from models.sweep import sweep_of

#: how often the picker's list is read again
RUNS_POLL_MS = 5000


def layout(ctx: AppContext) -> html.Div:
    return html.Div(className="runs", children=[
        html.Label("Run", htmlFor=vocab.RUN),
        dcc.Dropdown(id=vocab.RUN, options=catalogue.run_options(ctx.store, ctx), value=ctx.run_id, clearable=False,
                     className="run-picker"),
        dcc.ConfirmDialogProvider(id="delete-confirm", message="Delete this run?", children=[
            html.Button("Delete", id="delete-run", className="button button-quiet", title="delete the run on show")]),
        dcc.Input(id="rename-run", type="text", value="", debounce=True, maxLength=NAME_MAX, className="rename",
                  placeholder="Rename this run…"),
        html.Span(id="runs-message", className="muted"),
        # the picker's list follows the store: runs recorded meanwhile (a log directory, the command line), and
        # each run's epochs and state
        dcc.Interval(id="runs-poll", interval=RUNS_POLL_MS),
    ])


def register(app: Dash, ctx: AppContext) -> None:
    _register_rename(app, ctx)

    @app.callback(Output(vocab.RUN, "options"), Input(vocab.RUN_VERSION, "data"), Input("runs-poll", "n_intervals"),
                  State(vocab.RUN, "options"))
    def refresh(_message, _tick, shown):
        """The stored runs, sent only when they differ from what the picker shows."""
        options = catalogue.run_options(ctx.store, ctx)
        return no_update if options == shown else options

    @app.callback(Output("delete-confirm", "message"), Input(vocab.RUN, "value"))
    def confirm_text(run):
        return f"Delete run {run} with its recorded epochs and frames? This cannot be undone."

    @app.callback(
        Output(vocab.RUN, "options", allow_duplicate=True), Output(vocab.RUN, "value", allow_duplicate=True),
        Output("runs-message", "children"),
        Input("delete-confirm", "submit_n_clicks"), State(vocab.RUN, "value"),
        prevent_initial_call=True,
    )
    def delete_run(_submitted, run):
        try:
            message = catalogue.delete(ctx.store, run)
        except ValueError as exc:
            return no_update, no_update, str(exc)
        remaining = ctx.store.list_runs()
        return catalogue.run_options(ctx.store, ctx), remaining[0].run_id if remaining else ctx.run_id, message

    @app.callback(
        Output(vocab.RUN, "value"), Output(vocab.BETA_SLIDER, "marks"), Output(vocab.BETA_SLIDER, "max"),
        Output(vocab.BETA_SLIDER, "value"), Output(vocab.BETA_ROW, "style"),
        Input(vocab.RUN, "value"), Input(vocab.BETA_SLIDER, "value"),
    )
    def sync(run, position):
        """The run picker and the beta slider, kept in step (one callback: each sets the other)."""
        store = ctx.store
        if callback_ctx.triggered_id == vocab.BETA_SLIDER:
            sweep = sweep_of(store, run) if run else None
            if sweep is None or not isinstance(position, int) or not 0 <= position < len(sweep):
                return (no_update,) * 5
            return sweep[position][1], no_update, no_update, no_update, no_update
        chosen: object = no_update
        if isinstance(run, str) and run.startswith(SWEEP_PREFIX):  # a sweep: show its run of lowest beta
            try:
                run = chosen = ctx.for_run(run).run_id
            except KeyError:
                return (no_update,) * 5
        sweep = sweep_of(store, run) if run else None
        if sweep is None:
            return chosen, {0: "0"}, 1, 0, {"display": "none"}
        marks = {i: f"{beta:g}" for i, (beta, _) in enumerate(sweep)}
        at = next(i for i, (_, rid) in enumerate(sweep) if rid == run)
        return chosen, marks, len(sweep) - 1, at, {"display": "flex"}


def _register_rename(app: Dash, ctx: AppContext) -> None:
    @app.callback(
        Output(vocab.RUN, "options", allow_duplicate=True), Output(vocab.RUN_NAME, "children", allow_duplicate=True),
        Output(vocab.RUN_LABEL, "data", allow_duplicate=True), Output("runs-message", "children", allow_duplicate=True),
        Output("rename-run", "value"),
        Input("rename-run", "value"), State(vocab.RUN, "value"),
        prevent_initial_call=True,
    )
    def rename(name, run):
        """Rename the run on show: the picker, the header (and with them the URL, the compared map's title and
        the exports) say the new name."""
        if not name:
            return (no_update,) * 5
        try:
            run_ctx = ctx.for_run(run)
            kept = ctx.store.set_name(run_ctx.run_id, name)
        except (KeyError, ValueError) as exc:
            return no_update, no_update, no_update, f"Not renamed: {exc.args[0]}", no_update
        return (catalogue.run_options(ctx.store, ctx), catalogue.heading(ctx.store, run_ctx.run_id, run_ctx.config),
                kept, f"Renamed to {kept}.", "")
