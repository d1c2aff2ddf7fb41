"""Analysis panel: what the numbers say about the frame on show.

Written observations (from :mod:`analysis.observations`), linear CKA between layers at this epoch and between
epochs of this layer (click a cell: go there), the samples whose raw neighbourhoods changed most since the last
epoch (click one: select it; they are ringed on the map) and the data map of the training samples (click one:
select it). Everything is measured by the background job (:mod:`analysis.stage`) and only read here.
"""

from __future__ import annotations

import numpy as np
from dash import Dash, Input, Output, State, dcc, html, no_update
from dash import ctx as callback_ctx

from analysis import stage
from analysis.cartography import REGIONS, region_shares
from analysis.observations import observe
from dashboard import figures, vocab
from dashboard.context import AppContext, NotShown

#: samples listed under "what changed"
N_CHANGED = 10
WAITING = "Measured once this frame is laid out: the observations appear then."


def layout() -> html.Div:
    return html.Div(className="analysis", children=[
        html.H3("What the numbers say"),
        html.Div(id="observations", className="observations",
                 children=html.P(WAITING, className="empty")),
        html.Div(className="analysis-grid", children=[
            dcc.Graph(id=vocab.CKA_LAYERS, figure=figures.message_figure(""), config=figures.NO_TOOLBAR),
            dcc.Graph(id=vocab.CKA_EPOCHS, figure=figures.message_figure(""), config=figures.NO_TOOLBAR),
            html.Div(className="changed", children=[
                html.H4("What changed since the last epoch"),
                html.Div(id="what-changed", children=html.P(WAITING, className="empty")),
            ]),
            html.Div(className="cartography", children=[
                dcc.Graph(id=vocab.CARTOGRAPHY, figure=figures.message_figure(""), config=figures.NO_TOOLBAR),
                html.P(id="cartography-summary", className="muted"),
            ]),
        ]),
        dcc.Store(id=vocab.CHANGED),
    ])


def observations_view(store, run_id: str, layer: int, epoch: int) -> html.Ul | html.P:
    """The frame's written observations, one list item each."""
    sentences = observe(stage.frame_evidence(store, run_id, layer, epoch))
    if not sentences:
        return html.P("Nothing stands out in this frame by the thresholds the observations use.", className="empty")
    return html.Ul([html.Li(text) for text in sentences], className="facts")


def changed_view(found: dict | None, class_names, epoch: int = 0) -> tuple[list, list[int]]:
    """The ranked, clickable list of :func:`analysis.stage.what_changed` and the probe positions to ring; when
    there is none, why: epoch 0 has no previous epoch, a later one is not measured yet."""
    if found is None:
        why = ("Epoch 0 has no previous epoch; later epochs list here the samples whose raw-space neighbours "
               "changed most." if epoch < 1 else
               f"Epochs {epoch - 1} and {epoch} are not both measured yet: the samples whose raw-space neighbours "
               "changed most appear here once they are.")
        return [html.P(why, className="empty")], []
    rows = [html.Button(f"{s['sample']} ({figures.class_name(class_names, s['label'])}) · {100 * s['change']:.0f}%",
                        id={"type": "changed", "sample": s["sample"]}, className="button button-small",
                        title=f"{100 * s['change']:.0f}% of its {15} nearest neighbours replaced")
            for s in found["samples"]]
    head = html.P(f"{100 * found['mean']:.1f}% of all neighbours replaced on average; most changed:",
                  className="muted")
    return [head, html.Div(rows, className="neighbours")], [s["pos"] for s in found["samples"]]


def event_shown(focus: object, run_id: str, layer: int, epoch: int) -> bool:
    """Whether the story's event clicked last (:data:`dashboard.vocab.EVENT_FOCUS`) is of the frame on show and
    involves samples (a whole-network event is shown at any layer)."""
    return (isinstance(focus, dict) and focus.get("run") == run_id and focus.get("epoch") == epoch
            and focus.get("layer") in (None, layer) and isinstance(focus.get("pos"), list) and bool(focus["pos"])
            and isinstance(focus.get("text"), str))


#: the map's legend for the rings: the samples whose neighbourhoods changed most, or those of a story event
RING_CHANGED, RING_EVENT = "changed most", "in the event"


def event_ring(focus: object, view, changed: list, ring: list[int]) -> tuple[list, list[int], str]:
    """The "what changed" list, the samples to ring and the rings' legend; when the story's event clicked last is
    of the frame on show (:func:`event_shown`), the list headed by that event and its samples ringed instead."""
    if not isinstance(focus, dict) or not event_shown(focus, view.run_id, view.layer, view.epoch):
        return changed, ring, RING_CHANGED
    ring = [int(p) for p in focus["pos"]]
    head = html.P(f"Ringed on the map: the {len(ring)} samples of the event \u201c{focus['text']}\u201d",
                  className="muted")
    return [head, *changed], ring, RING_EVENT


def cartography_view(store, run_id: str, class_names) -> tuple[dict, str]:
    """The data map's figure and its summary line (shares of the relabelled vs clean training samples found hard
    to learn)."""
    found = stage.run_cartography(store, run_id)
    if found is None:
        return figures.message_figure("The data map needs a trained classifier's recorded label probabilities."), ""
    carto, members = found
    probe = store.probe(run_id)
    labels = stage.probe_labels(store, store.run_info(run_id))
    relabelled = (labels.trained != labels.true)[members]
    figure = figures.cartography_figure(carto.variability, carto.confidence, carto.region, probe["index"][members],
                                        relabelled, REGIONS)
    shares = region_shares(carto.region, {"relabelled": relabelled, "clean": ~relabelled})
    counts = " · ".join(f"{name} {np.mean(carto.region == i):.0%}" for i, name in enumerate(REGIONS))
    summary = f"{len(members)} training samples: {counts}."
    if relabelled.any():
        summary += (f" Hard to learn: {shares['relabelled']['hard']:.0%} of the {int(relabelled.sum())} relabelled "
                    f"samples against {shares['clean']['hard']:.0%} of the clean ones.")
    return figure, summary


def register(app: Dash, ctx: AppContext) -> None:
    @app.callback(
        Output("observations", "children"), Output("what-changed", "children"), Output(vocab.CHANGED, "data"),
        Input(vocab.RUN, "value"), Input(vocab.LAYER_SHOWN, "data"), Input(vocab.EPOCH_RESTED, "data"),
        Input(vocab.RUN_VERSION, "data"), Input(vocab.EVENT_FOCUS, "data"), State(vocab.LAYER, "value"),
    )
    def update(run, _shown, epoch, _job, focus, layer):
        """The frame's observations and what changed (after the epoch slider rests: a scrub asks once); the
        samples ringed are those of the story's event clicked last when the map shows its frame, else those that
        changed most."""
        if epoch is None:
            return (no_update,) * 3
        try:
            view = ctx.view(run, layer, epoch)
            if not stage.is_measured(view.store, view.run_id, view.layer, view.epoch):  # one lookup, not the run's
                return html.P(WAITING, className="empty"), html.P(WAITING, className="empty"), None
            text = observations_view(view.store, view.run_id, view.layer, view.epoch)
        except (KeyError, ValueError) as exc:  # NotShown, or a measure not stored (evicted)
            return html.P(f"No observations here: {exc.args[0] if exc.args else exc}", className="empty"), [], None
        changed, ring, label = event_ring(focus, view, *changed_view(
            stage.what_changed(view.store, view.run_id, view.layer, view.epoch, N_CHANGED), view.ctx.class_names,
            view.epoch))
        return text, changed, {"run": view.run_id, "layer": view.layer, "epoch": view.epoch, "pos": ring,
                               "label": label}

    @app.callback(
        Output(vocab.CKA_LAYERS, "figure"), Output(vocab.CKA_EPOCHS, "figure"),
        Input(vocab.RUN, "value"), Input(vocab.LAYER_SHOWN, "data"), Input(vocab.RUN_VERSION, "data"),
        State(vocab.LAYER, "value"), State(vocab.EPOCH, "value"),
    )
    def update_cka(run, _shown, _job, layer, epoch):
        """The CKA maps of the run and layer on show; the epoch on show is marked in the browser
        (``restEpoch``), so stepping epochs redraws no heat map from the server."""
        waiting = figures.message_figure("CKA once every frame is measured.")
        try:
            view = ctx.view(run, layer, epoch)
        except NotShown:
            return waiting, waiting
        cka = stage.run_cka(view.store, view.run_id)
        if cka is None:
            return waiting, waiting
        names = view.info.layer_names
        return figures.cka_layers_figure(cka["by_layer"], names, view.layer, view.epoch), \
            figures.cka_figure(cka["by_epoch"][view.layer], [str(e) for e in range(view.info.epochs_done)],
                               view.epoch, f"CKA between epochs · {names[view.layer]}", "epoch")

    @app.callback(
        Output(vocab.CARTOGRAPHY, "figure"), Output("cartography-summary", "children"),
        Input(vocab.RUN, "value"), Input(vocab.RUN_VERSION, "data"),
    )
    def update_cartography(run, _job):
        try:
            view = ctx.view(run)
            return cartography_view(view.store, view.run_id, view.ctx.class_names)
        except (KeyError, ValueError):  # NotShown, or no label probabilities recorded
            return figures.message_figure("The data map appears once the run is trained."), ""

    @app.callback(
        Output(vocab.GO_TO, "data", allow_duplicate=True),
        Input(vocab.CKA_LAYERS, "clickData"), Input(vocab.CKA_EPOCHS, "clickData"),
        prevent_initial_call=True,
    )
    def jump(layer_click, epoch_click):
        """A click on a CKA cell moves to its column: that layer (between layers) or that epoch (between
        epochs)."""
        trigger = callback_ctx.triggered_id
        click = layer_click if trigger == vocab.CKA_LAYERS else epoch_click
        try:
            to = int(click["points"][0]["x"])
        except (TypeError, KeyError, IndexError, ValueError):
            return no_update
        return {"layer": to} if trigger == vocab.CKA_LAYERS else {"epoch": to}
