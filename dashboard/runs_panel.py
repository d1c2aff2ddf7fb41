"""Runs panel: pick any stored run (trained here, from the command line, a sweep, or recorded from your own
loop); for a run of a beta sweep, a beta slider moves between the sweep's runs, snapping to its betas."""

from __future__ import annotations

import time

from dash import Dash, Input, Output, State, dcc, html, no_update
from dash import ctx as callback_ctx

from dashboard import vocab
from dashboard.context import SWEEP_PREFIX, AppContext
from models.config import RunConfig
from models.store import INTERRUPTED, RunInfo, RunStore


def _date(seconds: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(seconds))


def describe(info: RunInfo) -> str:
    """One line for a run: model and sizes, data set, beta, epochs, date, state."""
    config = info.config
    sizes = "-".join(map(str, config.layer_sizes))
    model = {"mlp": f"MLP {sizes}", "vae": f"beta-VAE {sizes}, beta {config.beta:g}"}.get(config.model,
                                                                                          f"custom {sizes}")
    scrambled = f", {config.scramble} {config.scramble_fraction:.0%}" if config.scramble != "none" else ""
    state = "interrupted: show it to resume" if info.state == INTERRUPTED else info.state
    return (f"{model} on {config.dataset}{scrambled} · {info.epochs_done - 1} epochs · {_date(info.created)} · "
            f"{state}")


def describe_sweep(sweep_id: str, record: dict, infos: dict[str, RunInfo]) -> str:
    """One line for a sweep: its model, data set, betas, runs stored of all, date."""
    base = RunConfig.from_json(record["base"])
    sizes = "-".join(map(str, base.layer_sizes))
    stored = sum(run_id in infos for run_id in record["run_ids"])
    states = {infos[r].state for r in record["run_ids"] if r in infos}
    state = "complete" if stored == len(record["run_ids"]) and states == {"complete"} else "incomplete"
    betas = ", ".join(f"{b:g}" for b in sorted(record["betas"]))
    return (f"Sweep {sweep_id}: beta-VAE {sizes} on {base.dataset} · betas {betas} · "
            f"{stored}/{len(record['run_ids'])} runs · {base.epochs} epochs · {_date(record.get('created', 0))} · "
            f"{state}")


def run_options(store: RunStore, default: AppContext) -> list[dict]:
    """Dropdown options: every stored sweep (choosing one shows its run of lowest beta, with the beta slider),
    then every stored run, newest first (a sweep's runs labelled with their sweep), and the app's own run even
    before it is trained."""
    infos = store.list_runs()
    by_id = {i.run_id: i for i in infos}
    records = {sid: store.sweep(sid) for sid in store.list_sweeps()}
    sweeps = {run_id: sid for sid, record in records.items() for run_id in record["run_ids"]}
    options = [{"label": describe_sweep(sid, record, by_id), "value": SWEEP_PREFIX + sid}
               for sid, record in sorted(records.items(), key=lambda item: -item[1].get("created", 0))]
    options += [{"label": describe(i) + (f" · {sweeps[i.run_id]}" if i.run_id in sweeps else ""), "value": i.run_id}
                for i in infos]
    if default.run_id not in by_id:
        options.insert(0, {"label": f"{default.run_id} (training…)", "value": default.run_id})
    return options


def sweep_of(store: RunStore, run_id: str) -> list[tuple[float, str]] | None:
    """(beta, run id) of the newest stored sweep holding ``run_id``, in beta order; ``None`` if none does."""
    for sid in reversed(store.list_sweeps()):
        record = store.sweep(sid)
        if run_id in record["run_ids"]:
            return sorted(zip(record["betas"], record["run_ids"]))
    return None


def layout(ctx: AppContext) -> html.Div:
    return html.Div(className="runs", children=[
        html.Label("Run", htmlFor=vocab.RUN),
        dcc.Dropdown(id=vocab.RUN, options=run_options(ctx.store, ctx), value=ctx.run_id, clearable=False,
                     className="run-picker"),
        dcc.ConfirmDialogProvider(id="delete-confirm", message="Delete this run?", children=[
            html.Button("Delete", id="delete-run", className="button button-quiet", title="delete the run on show")]),
        html.Span(id="runs-message", className="muted"),
        html.Div(id="beta-row", className="beta-row", style={"display": "none"}, children=[
            html.Label("beta", htmlFor="beta-slider"),
            dcc.Slider(id="beta-slider", min=0, max=1, step=None, marks={0: "0"}, value=0, className="beta-slider"),
        ]),
    ])


def delete(store: RunStore, run_id: str) -> str:
    """Delete a stored run (and its frame indices); ``ValueError`` naming it when it is being trained or is
    not stored. Returns what was done, in words."""
    if not isinstance(run_id, str) or not store.has_run(run_id):
        raise ValueError(f"run {run_id!r} is not in the store")
    if store.run_info(run_id).state == "training":
        raise ValueError(f"run {run_id} is being trained: cancel its job first")
    store.delete_run(run_id)
    return f"Deleted run {run_id}."


def register(app: Dash, ctx: AppContext) -> None:
    @app.callback(Output(vocab.RUN, "options"), Input(vocab.RUN_VERSION, "data"))
    def refresh(_message):
        return run_options(ctx.store, ctx)

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
            message = delete(ctx.store, run)
        except ValueError as exc:
            return no_update, no_update, str(exc)
        remaining = ctx.store.list_runs()
        return run_options(ctx.store, ctx), remaining[0].run_id if remaining else ctx.run_id, message

    @app.callback(
        Output(vocab.RUN, "value"), Output("beta-slider", "marks"), Output("beta-slider", "max"),
        Output("beta-slider", "value"), Output("beta-row", "style"),
        Input(vocab.RUN, "value"), Input("beta-slider", "value"),
    )
    def sync(run, position):
        """The run picker and the beta slider, kept in step (one callback: each sets the other)."""
        store = ctx.store
        if callback_ctx.triggered_id == "beta-slider":
            sweep = sweep_of(store, run) if run else None
            if sweep is None or not isinstance(position, int) or not 0 <= position < len(sweep):
                return (no_update,) * 5
            return sweep[position][1], no_update, no_update, no_update, no_update
        chosen = no_update
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
