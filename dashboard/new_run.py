"""New-run form: model, data set, hidden sizes, epochs, beta (or a list of betas: a sweep) and scrambling;
trained in a background job with a progress bar and a cancel button, then shown."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from dash import Dash, Input, Output, State, dcc, html, no_update

from dashboard.context import AppContext
from models.config import SCRAMBLES, RunConfig
from models.data import GENERATED, TABLES
from models.sweep import check_betas, run_sweep
from models.store import StoreFull
from models.train import RunBusy, train

logger = logging.getLogger(__name__)

#: the form's fields, in order: id suffix -> label
FIELDS = {"model": "model", "dataset": "data set", "hidden": "hidden sizes", "epochs": "epochs", "beta": "beta",
          "scramble": "scramble", "fraction": "fraction"}


@dataclass(frozen=True)
class FormResult:
    """A checked form: the config to train (``None`` when a field is wrong), its betas (a sweep when more than
    one) and a message per wrong field."""

    config: RunConfig | None
    betas: tuple[float, ...] = ()
    errors: dict[str, str] = field(default_factory=dict)


def check_form(model, dataset, hidden, epochs, beta, scramble, fraction) -> FormResult:
    """Check the form's raw values (strings and numbers as the browser sends them); each problem names the
    field and its accepted range."""
    errors: dict[str, str] = {}
    sizes: tuple[int, ...] = ()
    try:
        sizes = tuple(int(v) for v in str(hidden or "").split(","))
    except ValueError:
        errors["hidden"] = f"hidden sizes must be comma-separated whole numbers such as 64,128,64, got {hidden!r}"
    betas: tuple[float, ...] = (1.0,)
    try:
        betas = check_betas([float(v) for v in str(1 if beta in (None, "") else beta).split(",")])
    except ValueError as exc:
        errors["beta"] = (str(exc) if "beta" in str(exc)
                          else f"beta must be numbers in 0..1000 such as 4 or 0,1,4, got {beta!r}")
    if model == "mlp" and len(betas) > 1:
        errors["beta"] = "a list of betas (a sweep) needs the beta-VAE model"
    if isinstance(epochs, float) and epochs.is_integer():
        epochs = int(epochs)
    if epochs is None:
        errors["epochs"] = "epochs must be an integer in 0..1000"
    config = None
    if not errors:
        try:
            config = RunConfig(model=model, dataset=dataset, hidden=sizes, epochs=epochs, beta=betas[0],
                               scramble=scramble, scramble_fraction=float(fraction or 0.0))
        except (ValueError, TypeError) as exc:
            name = str(exc).split(" ", 1)[0]
            errors[{"scramble_fraction": "fraction"}.get(name, name if name in FIELDS else "model")] = str(exc)
    return FormResult(config=config if not errors else None, betas=betas, errors=errors)


def layout() -> html.Details:
    d = RunConfig()
    datasets = [*TABLES, *GENERATED]

    def row(key: str, control) -> html.Div:
        return html.Div(className="form-row", children=[
            html.Label(FIELDS[key], htmlFor=f"new-{key}"), control,
            html.Span(id=f"new-{key}-error", className="form-error")])

    return html.Details(className="new-run", children=[
        html.Summary("New run"),
        row("model", dcc.RadioItems(id="new-model", options=[{"label": "MLP classifier", "value": "mlp"},
                                                             {"label": "beta-VAE", "value": "vae"}],
                                    value="mlp", inline=True, className="radio")),
        row("dataset", dcc.Dropdown(id="new-dataset", options=datasets, value=d.dataset, clearable=False)),
        row("hidden", dcc.Input(id="new-hidden", type="text", value="64,128,64,32", debounce=True)),
        row("epochs", dcc.Input(id="new-epochs", type="number", value=d.epochs, debounce=True)),
        row("beta", dcc.Input(id="new-beta", type="text", value="1", debounce=True,
                              placeholder="4, or 0,0.5,1,2,4,8,16 for a sweep")),
        row("scramble", dcc.Dropdown(id="new-scramble", options=list(SCRAMBLES), value="none", clearable=False)),
        row("fraction", dcc.Input(id="new-fraction", type="number", value=0.0, step=0.05, debounce=True)),
        html.Div(className="form-row", children=[
            html.Button("Train", id="new-train", className="button", n_clicks=0),
            html.Progress(id="new-progress", value="0", max="1", className="progress done"),
            html.Span(id="new-message", className="job-message"),
            html.Button("Cancel", id="new-cancel", className="button button-quiet", disabled=True),
        ]),
        dcc.Store(id="new-submit"),
    ])


def train_job(ctx: AppContext, submit: dict, set_progress) -> tuple[str, str]:
    """Train the submitted run (or sweep) into the store; returns (message, run id to show)."""
    config = RunConfig.from_json(submit["config"])
    betas = tuple(submit["betas"])
    store = ctx.open_store()
    try:
        if len(betas) > 1:
            def progress(i: int, n: int, done: int, total: int) -> bool:
                set_progress((str(i * (total + 1) + done), str(n * (total + 1)),
                              f"Training beta {betas[i]:g} ({i + 1}/{n}): epoch {done}/{total}"))
                return False

            sid = run_sweep(config, store, betas, progress=progress)
            return f"Sweep {sid} trained", store.sweep(sid)["run_ids"][0]

        def progress_one(done: int, total: int) -> bool:
            set_progress((str(done), str(max(total, 1)), f"Training: epoch {done}/{total}"))
            return False

        run_id = train(config, store, progress=progress_one)
        info = store.run_info(run_id)
        return f"{run_id}: {info.state} {info.message}".strip(), run_id
    except (StoreFull, RunBusy) as exc:
        return f"Not trained: {exc}", config.run_id if store.has_run(config.run_id) else no_update
    finally:
        store.close()


def register(app: Dash, ctx: AppContext) -> None:
    @app.callback(
        [Output(f"new-{key}-error", "children") for key in FIELDS] + [Output("new-submit", "data")],
        Input("new-train", "n_clicks"),
        [State(f"new-{key}", "value") for key in FIELDS],
        prevent_initial_call=True,
    )
    def submit(_clicks, *values):
        result = check_form(*values)
        errors = [result.errors.get(key, "") for key in FIELDS]
        if result.config is None:
            return [*errors, no_update]
        return [*errors, {"config": result.config.to_json(), "betas": list(result.betas)}]

    @app.callback(
        Output("new-message", "children"), Output("run-picker", "value", allow_duplicate=True),
        Input("new-submit", "data"),
        background=True,
        progress=[Output("new-progress", "value"), Output("new-progress", "max"), Output("new-message", "children")],
        progress_default=["0", "1", ""],
        running=[(Output("new-cancel", "disabled"), False, True), (Output("new-train", "disabled"), True, False),
                 (Output("new-progress", "className"), "progress", "progress done")],
        cancel=[Input("new-cancel", "n_clicks")],
        interval=300,
        prevent_initial_call=True,
    )
    def run(set_progress, submit):
        return train_job(ctx, submit, set_progress)
