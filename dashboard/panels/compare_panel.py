"""Side by side: a second run's map beside the first, under the same layer, epoch and colour controls.

Any two runs with the same probe samples compare (a sweep's beta = 1 and beta = 8, a clean run and its scrambled
twin). The compared map is a second instance of the map component (:data:`dashboard.map_view.COMPARED`), drawn
by the same figure code in every colour mode and Procrustes-aligned in the browser to the first at the same
(layer, epoch), so a sample sits in comparable places in both; the selected sample is ringed in both, and a
click in either selects; the second run's loss and accuracy are overlaid on the curves; the URL carries it
(``compare=<run>``). Its frames are laid out by a background job of its own.
"""

from __future__ import annotations

from dash import Dash, Input, Output, State, dcc, html, no_update

from dashboard import catalogue, vocab, work
from dashboard.context import AppContext
from dashboard.map_view import COMPARED


def layout() -> html.Div:
    """The picker and the compare job's message (the compared map stands beside the map: :func:`view`)."""
    return html.Div(className="compare", children=[
        html.Label("Compare with", htmlFor=vocab.COMPARE_PICKER),
        dcc.Dropdown(id=vocab.COMPARE_PICKER, options=[], value=None, clearable=True, className="compare-picker",
                     placeholder="another run on the same probe samples"),
        html.Span(id="compare-message", className="job-message"),
        dcc.Store(id="compare-job-start"),
        *COMPARED.data_layout(),
    ])


def view() -> html.Div:
    """The compared run's map, shown only while a run is compared."""
    return html.Div(id=vocab.COMPARE_VIEW, className="compare-view hidden", children=[COMPARED.graph_layout()])


def register(app: Dash, ctx: AppContext) -> None:
    @app.callback(Output(vocab.COMPARE_PICKER, "options"), Input(vocab.RUN, "value"))
    def options(run):
        try:
            return catalogue.comparable_runs(ctx.store, ctx.for_run(run).run_id)
        except KeyError:
            return []

    COMPARED.register_sequence(app, ctx)
    COMPARED.register_render(app, caption=vocab.COMPARE_VIEW)

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
