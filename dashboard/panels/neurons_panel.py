"""Neurons over training (M-PHATE): every hidden unit at every epoch as a node of one laid-out graph
(:func:`analysis.stage.compute_neuron_map`, made by the background job once the run is measured), coloured by
epoch, layer or preferred class, the units of the epoch on show ringed (moved in the browser as the slider
moves); beside it, each layer's mean class selectivity and how much the map groups units by the class they
prefer. Click a unit: the map and the inspector go to its layer and epoch and show it."""

from __future__ import annotations

import numpy as np
from dash import ClientsideFunction, Dash, Input, Output, State, dcc, html, no_update

from analysis import stage
from analysis.neurons import mean_selectivity
from dashboard import figures, vocab
from dashboard.context import AppContext, NotShown

WAITING = "Laid out once the run is trained and measured."


def layout() -> html.Div:
    return html.Div(className="analysis neurons", children=[
        html.H3(["Neurons over training ", html.Span("· each unit at each epoch; click one to inspect it",
                                                     className="muted")]),
        dcc.RadioItems(id="neuron-colour", className="radio", value="epoch", inline=True,
                       options=[{"label": f"colour by {c}" if c != "class" else "colour by preferred class",
                                 "value": c} for c in figures.NEURON_COLOURS]),
        html.Div(className="neurons-grid", id="neurons-grid", style={"display": "none"}, children=[
            dcc.Graph(id=vocab.NEURON_MAP, figure=figures.message_figure(WAITING), config=figures.NO_TOOLBAR),
            dcc.Graph(id=vocab.NEURON_SELECTIVITY, figure=figures.message_figure(""), config=figures.NO_TOOLBAR),
        ]),
        html.P(WAITING, id="neuron-summary", className="muted"),
        dcc.Store(id="neuron-epoch-drawn"),  # output of markNeuronEpoch, which restyles the map itself
    ])


def summary(data: dict[str, np.ndarray], layer_names: list[str]) -> str:
    """One sentence with the numbers the pictures show: the last layer's mean selectivity and the map's grouping
    by preferred class, first epoch against last."""
    last = len(layer_names) - 1
    top = mean_selectivity(data["selectivity"], data["layer"], len(layer_names))[:, last]
    grouping, chance = data["grouping"], data["grouping_chance"]
    return (f"From epoch 0 to {len(grouping) - 1}: {layer_names[last]}'s mean class selectivity "
            f"{top[0]:.2f} → {top[-1]:.2f}; in the map, {grouping[0]:.0%} → {grouping[-1]:.0%} of a unit's 5 "
            f"nearest units prefer its class (chance {chance[-1]:.0%}).")


def register(app: Dash, ctx: AppContext) -> None:
    @app.callback(
        Output(vocab.NEURON_MAP, "figure"), Output(vocab.NEURON_SELECTIVITY, "figure"),
        Output("neuron-summary", "children"), Output("neurons-grid", "style"),
        Input(vocab.RUN, "value"), Input("neuron-colour", "value"), Input(vocab.RUN_VERSION, "data"),
        State(vocab.EPOCH, "value"), State(vocab.NEURON_MAP, "figure"),
    )
    def update(run, colour, _job, epoch, shown):
        """The run's neuron map, read from the store (built per run and colour, and sent only when that or the
        map changed; the epoch ring follows the slider in the browser)."""
        if colour not in figures.NEURON_COLOURS:
            return (figures.message_figure(f"colour must be one of {', '.join(figures.NEURON_COLOURS)}"),
                    no_update, "", no_update)
        try:
            view = ctx.view(run)
            data = stage.run_neuron_map(view.store, view.run_id)
        except NotShown:
            data = None
        if data is None:  # nothing to draw yet: a line of text, not two empty plots
            return no_update, no_update, WAITING, {"display": "none"}
        info, run_ctx = view.info, view.ctx
        epoch = min(max(int(epoch) if isinstance(epoch, int) else 0, 0), info.epochs_done - 1)
        version = f"{view.run_id}/{stage.neuron_map_key(view.store, view.run_id)}/{colour}"
        if ((shown or {}).get("layout") or {}).get("meta", {}).get("version") == version:
            return no_update, no_update, no_update, no_update  # a refresh (the job's progress) with nothing new
        names = list(info.layer_names)
        return (figures.neuron_map_figure(data["coords"], data["layer"], data["unit"], data["selectivity"],
                                          data["preferred"], names, run_ctx.class_names, colour, epoch, version),
                figures.selectivity_figure(mean_selectivity(data["selectivity"], data["layer"], len(names)), names,
                                           data["grouping"], data["grouping_chance"], epoch),
                summary(data, names), {})

    app.clientside_callback(
        ClientsideFunction(namespace="epochscope", function_name="markNeuronEpoch"),
        Output("neuron-epoch-drawn", "data"),
        Input(vocab.EPOCH_RESTED, "data"),
    )

    @app.callback(
        Output(vocab.GO_TO, "data", allow_duplicate=True),
        Output(vocab.SELECTED_NEURON, "data", allow_duplicate=True),
        Output(vocab.SELECTED, "data", allow_duplicate=True),
        Input(vocab.NEURON_MAP, "clickData"),
        prevent_initial_call=True,
    )
    def go_to_unit(click):
        """A clicked unit: its layer and epoch on the sliders, and the unit in the inspector."""
        try:
            layer, unit, epoch = (int(v) for v in click["points"][0]["customdata"][:3])
        except (TypeError, KeyError, IndexError, ValueError):
            return (no_update,) * 3
        return {"layer": layer, "epoch": epoch}, unit, None
