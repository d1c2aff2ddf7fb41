"""New-run form: model, data set, hidden sizes, epochs, beta (or a list of betas: a sweep) and scrambling;
trained in a background job with a progress bar and a cancel button, then shown."""

from __future__ import annotations

import logging
from pathlib import Path

from dash import ClientsideFunction, Dash, Input, Output, State, dcc, html, no_update

from dashboard import uploads, vocab, work
from dashboard.context import AppContext
from dashboard.form import FIELDS, check_form
from dashboard.limits import start_problems
from models.config import SCRAMBLES, RunConfig
from models.data import FILE, SIZED, TABLES
from models.datafile import MAX_UPLOAD_BYTES, DataFileError
from models.naming import NAME_MAX

logger = logging.getLogger(__name__)

def layout() -> html.Details:
    d = RunConfig()
    datasets = [*TABLES, *SIZED]

    def row(key: str, control) -> html.Div:
        return html.Div(className="form-row", id=f"new-{key}-row", children=[
            html.Label(FIELDS[key], htmlFor=f"new-{key}"), control,
            html.Span(id=f"new-{key}-error", className="form-error")])

    return html.Details(className="new-run", children=[
        html.Summary("New run"),
        row("model", dcc.RadioItems(id="new-model", options=[{"label": "MLP classifier", "value": "mlp"},
                                                             {"label": "beta-VAE", "value": "vae"}],
                                    value="mlp", inline=True, className="radio")),
        row("dataset", dcc.Dropdown(id="new-dataset", options=[*datasets, {"label": "your file (upload)",
                                                                           "value": FILE}],
                                    value=d.dataset, clearable=False)),
        html.Div(className="form-row", id="new-upload-row", children=[
            html.Label("data file", htmlFor="new-upload"),
            dcc.Upload(id="new-upload", className="upload", accept=".npz,.csv", max_size=MAX_UPLOAD_BYTES,
                       children=html.Span(["Drop or ", html.A("choose"), " a .npz (X, y) or .csv, at most "
                                           f"{MAX_UPLOAD_BYTES // 2**20} MiB"], id="new-upload-name")),
            html.Label("label column", htmlFor="new-label"),
            dcc.Input(id="new-label", type="text", value="label", debounce=True, className="short"),
            html.Span(id="new-upload-error", className="form-error")]),
        row("hidden", dcc.Input(id="new-hidden", type="text", value="64,128,64,32", debounce=True,
                                className="medium")),
        row("epochs", dcc.Input(id="new-epochs", type="number", value=d.epochs, debounce=True, className="short")),
        row("beta", dcc.Input(id="new-beta", type="text", value="1", debounce=True,
                              placeholder="4, or 0,0.5,1,2,4,8,16 for a sweep", className="medium")),
        row("scramble", dcc.Dropdown(id="new-scramble", options=list(SCRAMBLES), value="none", clearable=False)),
        row("fraction", dcc.Input(id="new-fraction", type="number", value=0.0, step=0.05, debounce=True,
                                  className="short")),
        row("name", dcc.Input(id="new-name", type="text", value="", debounce=True, maxLength=NAME_MAX,
                              placeholder="optional: e.g. clean baseline",
                              className="medium")),
        html.Div(className="form-row", children=[
            html.Button("Train", id="new-train", className="button", n_clicks=0),
            html.Progress(id="new-progress", value="0", max="1", className="progress done"),
            html.Span(id="new-message", className="job-message"),
            html.Button("Cancel", id="new-cancel", className="button button-quiet", disabled=True),
        ]),
        dcc.Store(id="new-submit"),
    ])


def register(app: Dash, ctx: AppContext) -> None:
    # only the fields the choices use: beta for a beta-VAE, the fraction while scrambling, the file for "your file"
    app.clientside_callback(
        ClientsideFunction(namespace="epochscope", function_name="formRows"),
        Output("new-beta-row", "style"), Output("new-fraction-row", "style"), Output("new-upload-row", "style"),
        Input("new-model", "value"), Input("new-scramble", "value"), Input("new-dataset", "value"),
    )

    @app.callback(Output("new-upload-name", "children"), Input("new-upload", "filename"),
                  prevent_initial_call=True)
    def uploaded(filename):
        return f"{Path(str(filename)).name} (choose again to replace)" if filename else no_update

    @app.callback(
        [Output(f"new-{key}-error", "children") for key in (*FIELDS, "upload")] + [
            Output("new-submit", "data"), Output(vocab.RUN, "value", allow_duplicate=True),
            Output("new-message", "children", allow_duplicate=True)],
        Input("new-train", "n_clicks"),
        [State(f"new-{key}", "value") for key in FIELDS],
        State("new-upload", "contents"), State("new-upload", "filename"), State("new-label", "value"),
        prevent_initial_call=True,
    )
    def submit(_clicks, *values):
        model, dataset, hidden, epochs, beta, scramble, fraction, name, contents, filename, label = values
        label_column = str(label or "").strip() or None
        data_path = upload_error = None
        if dataset == FILE:  # the data set is the uploaded file
            try:
                data_path = uploads.save_uploaded(ctx.store_dir, contents, filename, label_column,
                                                  room=ctx.store.room())
            except DataFileError as exc:
                upload_error = str(exc)
        result = check_form(model, dataset, hidden, epochs, beta, scramble, fraction, data_path=data_path,
                            label_column=label_column, name=name)
        problems = result.errors or (start_problems(ctx.store, result.config, result.betas) if result.config else {})
        errors = [problems.get(key, "") for key in FIELDS]
        if upload_error:  # the file is the problem: the fields are not judged without it
            return [*([""] * len(FIELDS)), upload_error, no_update, no_update, no_update]
        if problems or result.config is None:
            if data_path is not None:  # a refused form keeps no upload
                uploads.discard_unused(ctx.store, data_path)
            return [*errors, "", no_update, no_update, no_update]
        if len(result.betas) == 1:  # one run: the page shows it at once, and its job trains it
            run_id = ctx.store.plan_run(result.config, result.name)
            return [*errors, "", no_update, run_id,
                    f"Started {ctx.store.name(run_id, result.config)}: shown above as it trains."]
        # a sweep's job checks the form's own values again (never a config: nothing else can be sent)
        submission = {"form": [model, dataset, hidden, epochs, beta, scramble, fraction, name],
                      "upload": data_path.name if data_path is not None else None, "label": label_column}
        return [*errors, "", submission, no_update, ""]

    @app.callback(
        Output("new-message", "children"), Output(vocab.RUN, "value", allow_duplicate=True),
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
        message, shown = work.train_job(ctx, submit, set_progress)
        return message, no_update if shown is None else shown
