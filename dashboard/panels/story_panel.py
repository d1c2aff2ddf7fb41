"""Story panel: the whole run told (:mod:`analysis.story`): a timeline of its events (click one: go to its layer
and epoch, its samples ringed on the map), filtered by layer and kind; the events of the epoch on show; when
each sample was learned and each class became decodable per layer; against the compared run; and the run's
report to download. Everything is measured by the background job and only read here."""

from __future__ import annotations

from dash import ALL, Dash, Input, Output, State, dcc, html, no_update
from dash import ctx as callback_ctx

from analysis.events import KINDS
from analysis.story import LEARNED_GAP, compare_stories, filtered, run_story, summary
from dashboard import catalogue, figures, report, story_figures, vocab
from dashboard.context import AppContext, NotShown

WAITING = "The story is told once every frame of the run is measured."
#: the samples listed per side when two runs are told against each other
COMPARED = 8


def layout() -> html.Div:
    return html.Div(className="story", children=[
        html.H3(["The story of the run ", html.Span("· click an event to go to it", className="muted")]),
        html.Div(className="story-controls", children=[
            dcc.Checklist(id="story-layers", inline=True, className="story-layers"),
            dcc.Dropdown(id="story-kinds", options=[{"label": label, "value": kind} for kind, label in KINDS.items()],
                         multi=True, placeholder="every kind of event", className="story-kinds"),
            html.Button("Download the run report", id="report-button", className="button"),
            dcc.Download(id="report-download"),
            html.Span(id="report-note", className="muted"),
        ]),
        dcc.Graph(id=vocab.STORY_TIMELINE, figure=figures.message_figure(WAITING), config=figures.NO_TOOLBAR),
        html.Div(id="story-at-epoch", className="story-at-epoch"),
        html.Details(className="story-details", open=True, children=[
            html.Summary("The whole story"), html.Ul(id="story-summary", className="facts")]),
        html.Div(className="story-grid", children=[
            dcc.Graph(id="story-learned", figure=figures.message_figure(""), config=figures.NO_TOOLBAR),
            dcc.Graph(id="story-decodable", figure=figures.message_figure(""), config=figures.NO_TOOLBAR),
        ]),
        html.Div(id="story-compare", className="story-compare"),
    ])


def compare_view(store, run_id: str, other: str | None, class_names) -> list:
    """The run told against the compared one: samples learned much earlier in each, class pairs that separate in
    only one."""
    if not other or other == run_id or not store.has_run(other):
        return []
    if not catalogue.same_probe(store, run_id, other):
        return [html.P("Not told against the compared run: its probe samples are not this run's.", className="empty")]
    mine, theirs = run_story(store, run_id), run_story(store, other)
    if mine is None or theirs is None:
        return [html.P("Told against the compared run once both are measured.", className="empty")]
    try:
        cmp = compare_stories(mine, theirs)
    except ValueError as exc:
        return [html.P(f"Not told against the compared run: {exc}.", className="empty")]
    index = store.probe(run_id)["index"]
    other_name = store.run_info(other).name

    def samples(positions) -> str:
        shown = ", ".join(f"{int(index[p])} ({_epoch(mine.learned[p])} vs {_epoch(theirs.learned[p])})"
                          for p in positions[:COMPARED])
        return f"{len(positions)}" + (f": {shown}" if shown else "")

    def pairs(found) -> str:
        return ", ".join(f"{figures.class_name(class_names, a)}-{figures.class_name(class_names, b)}"
                         for a, b in found) or "none"

    return [html.H4(f"Against {other_name}"), html.Ul(className="facts", children=[
        html.Li(f"Learned at least {LEARNED_GAP} epochs earlier here (sample: epoch here vs there): "
                f"{samples(cmp.earlier_in_a)}"),
        html.Li(f"Learned at least {LEARNED_GAP} epochs earlier there: {samples(cmp.earlier_in_b)}"),
        html.Li(f"Class pairs that separate here and in no layer there: {pairs(cmp.pairs_only_a)}"),
        html.Li(f"Class pairs that separate there and in no layer here: {pairs(cmp.pairs_only_b)}")])]


def whole_view(view, other: str | None) -> tuple:
    """The story's sentences, when its samples were learned, when its classes became decodable, and the run
    against the compared one ``other``."""
    story = run_story(view.store, view.run_id)
    if story is None:
        blank = figures.message_figure("")
        return [html.Li(WAITING, className="empty")], blank, blank, []
    learned = (story_figures.learned_figure(story.learned, story.n_epochs) if (story.learned == story.learned).any()
               else figures.message_figure("A model that does not classify has no learned epochs."))
    return ([html.Li(line) for line in summary(story)], learned,
            story_figures.decodable_figure(story.decodable, story.layer_names, story.class_names, story.n_epochs),
            compare_view(view.store, view.run_id, other, view.ctx.class_names))


def timeline_view(view, epoch: int | None, layers, kinds) -> tuple[dict, list]:
    """The timeline of the run's events of ``layers`` and ``kinds`` (``None``: all) with ``epoch`` marked, and
    the buttons of that epoch's events."""
    story = run_story(view.store, view.run_id)
    if story is None:
        return figures.message_figure(WAITING), []
    shown = [(i, e) for i, e in enumerate(story.events) if filtered([e], layers, kinds)]
    figure = story_figures.timeline_figure([e for _, e in shown], story.n_epochs, story.layer_names, epoch,
                                           view.info.steps(view.store.metrics(view.run_id)), [i for i, _ in shown])
    if epoch is None:
        return figure, []
    here = [(i, e) for i, e in shown if e.epoch == epoch]
    if not here:
        return figure, [html.P(f"No event at epoch {epoch} (of the {len(shown)} shown).", className="muted")]
    return figure, [html.P(f"At epoch {epoch}:", className="muted"), *(
        html.Button(e.text, id={"type": "story-event", "index": i}, className="button button-small story-event")
        for i, e in here)]


def clicked_event(trigger, click) -> int | None:
    """The position in the story of the event clicked: a button of the epoch's list (``trigger`` its id) or a
    marker of the timeline (``click`` its clickData); ``None`` for anything else."""
    try:
        if isinstance(trigger, dict):
            return int(trigger["index"])
        return int(click["points"][0]["customdata"])
    except (TypeError, KeyError, IndexError, ValueError):
        return None


def event_request(view, index: int | None) -> tuple:
    """Where to go for the story's event at ``index`` (``{"layer", "epoch"}``, no layer for a whole-network
    event) and the focus the map rings (:data:`dashboard.vocab.EVENT_FOCUS`); no update for no such event."""
    story = run_story(view.store, view.run_id)
    if story is None or index is None or not 0 <= index < len(story.events):
        return no_update, no_update
    event = story.events[index]
    return ({"epoch": event.epoch} | ({} if event.layer is None else {"layer": event.layer}),
            {"run": view.run_id, "layer": event.layer, "epoch": event.epoch, "pos": list(event.samples),
             "text": event.text})


def _epoch(value: float) -> str:
    return "never" if value != value else str(int(value))


def register(app: Dash, ctx: AppContext) -> None:
    @app.callback(
        Output("story-layers", "options"), Output("story-layers", "value"),
        Input(vocab.RUN, "value"),
    )
    def layers(run):
        """One box per layer, and the whole network's events; all ticked for a new run."""
        try:
            names = ctx.view(run).info.layer_names
        except NotShown:
            return [], []
        options = [{"label": story_figures.NETWORK_ROW, "value": -1},
                   *({"label": name, "value": i} for i, name in enumerate(names))]
        return options, [o["value"] for o in options]

    @app.callback(
        Output("story-summary", "children"), Output("story-learned", "figure"), Output("story-decodable", "figure"),
        Output("story-compare", "children"),
        Input(vocab.RUN, "value"), Input(vocab.RUN_VERSION, "data"), Input(vocab.COMPARE_PICKER, "value"),
    )
    def whole(run, _job, other):
        """The run's story, when its samples were learned, when its classes became decodable, and against the
        compared run."""
        try:
            return whole_view(ctx.view(run), other)
        except NotShown:
            blank = figures.message_figure("")
            return [html.Li(WAITING, className="empty")], blank, blank, []

    @app.callback(
        Output(vocab.STORY_TIMELINE, "figure"), Output("story-at-epoch", "children"),
        Input(vocab.RUN, "value"), Input(vocab.RUN_VERSION, "data"), Input(vocab.EPOCH_RESTED, "data"),
        Input("story-layers", "value"), Input("story-kinds", "value"),
    )
    def timeline(run, _job, epoch, layers, kinds):
        """The timeline of the events kept by the filters, the epoch on show marked and its events listed."""
        try:
            view = ctx.view(run)
        except NotShown:
            return figures.message_figure(WAITING), []
        return timeline_view(view, epoch if isinstance(epoch, int) else None, layers, kinds or None)

    @app.callback(
        Output(vocab.GO_TO, "data", allow_duplicate=True), Output(vocab.EVENT_FOCUS, "data"),
        Input(vocab.STORY_TIMELINE, "clickData"), Input({"type": "story-event", "index": ALL}, "n_clicks"),
        State(vocab.RUN, "value"),
        prevent_initial_call=True,
    )
    def go(click, _clicks, run):
        """A click on an event (on the timeline or in the epoch's list) moves to its layer and epoch, and asks the
        map to ring the samples it involves."""
        trigger = callback_ctx.triggered_id
        if isinstance(trigger, dict) and not callback_ctx.triggered[0]["value"]:  # a list drawn, not clicked
            return no_update, no_update
        try:
            return event_request(ctx.view(run), clicked_event(trigger, click))
        except NotShown:
            return no_update, no_update

    @app.callback(
        Output("report-download", "data"), Output("report-note", "children"),
        Input("report-button", "n_clicks"), State(vocab.RUN, "value"),
        prevent_initial_call=True,
    )
    def download(_clicks, run):
        """The run's report, one HTML file; why not, when it cannot be written yet."""
        try:
            view = ctx.view(run)
            text = report.run_report(view.store, view.run_id, ctx.params)
        except (NotShown, KeyError, ValueError) as exc:
            return no_update, str(exc.args[0] if exc.args else exc)
        name = report.report_filename(view.store, view.run_id)
        return {"content": text, "filename": name, "type": "text/html"}, f"{name} ({len(text) / 1e6:.1f} MB)"
