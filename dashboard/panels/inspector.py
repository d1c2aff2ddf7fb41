"""Inspector: click a node to see the sample, its labels, its activations and sensitivity at this layer and
epoch, and its nearest neighbours there (click one to move to it)."""

from __future__ import annotations

import numpy as np
from dash import ALL, Dash, Input, Output, State, dcc, html, no_update
from dash import ctx as callback_ctx

from dashboard import figures, vocab
from dashboard.context import AppContext
from dashboard.inspection import NeuronView, SampleView, neuron_view, sample_view


def _class_name(ctx: AppContext, label: int) -> str:
    return figures.class_name(ctx.class_names, label)


def _sample_buttons(ctx: AppContext, indices: np.ndarray, labels: np.ndarray) -> html.Div:
    """Clickable samples (data-set index and class); a click selects the sample."""
    return html.Div(className="neighbours", children=[
        html.Button(f"{int(index)} · {_class_name(ctx, int(label))}", id={"type": "neighbour", "sample": int(index)},
                    className="button button-small", n_clicks=0)
        for index, label in zip(indices, labels)])


def render_neuron(ctx: AppContext, view: NeuronView, layer: int, epoch: int) -> list:
    name = lambda c: _class_name(ctx, c)  # noqa: E731
    layer_name = ctx.config.layer_names[layer]
    summary = ("dead: never active on the probe set" if view.dead else
               f"class selectivity {view.selectivity:.2f} (prefers class {name(int(np.argmax(view.class_means)))})")
    return [
        html.Div(className="inspector-head", children=[
            html.Strong(f"Neuron {view.unit}"), html.Span(f" of {layer_name}, epoch {epoch}", className="muted")]),
        html.Ul([html.Li(summary, className="warn" if view.dead else "")], className="facts"),
        dcc.Graph(figure=figures.class_means_figure(view.class_means, [name(c) for c in range(len(view.class_means))]),
                  config={"displayModeBar": False}, className="inspector-activations"),
        *([html.Div("Samples that activate it most:", className="muted"),
           _sample_buttons(ctx, view.top_index, view.top_labels)] if len(view.top_index) else []),
    ]


def layout() -> html.Div:
    return html.Div(className="inspector", children=[
        html.H3("Inspector"),
        html.Div(id="inspector-body", children=html.P("Click a node on the map to inspect its sample.",
                                                      className="empty")),
    ])


def render(ctx: AppContext, view: SampleView, layer: int, epoch: int, labels: np.ndarray,
           probe_X: np.ndarray | None = None) -> list:
    # a point of a 2-D data set is shown on the data set
    context = (probe_X, labels) if probe_X is not None and probe_X.shape[1] == 2 else (None, None)
    name = lambda c: _class_name(ctx, c)  # noqa: E731
    facts = [html.Li(f"true class {name(view.label)}")]
    if view.trained_label != view.label:
        facts.append(html.Li(f"trained as {name(view.trained_label)} (label noise)", className="warn"))
    if view.predicted is not None:
        verdict = "correct" if view.predicted == view.label else "wrong"
        facts.append(html.Li(f"predicted {name(view.predicted)} ({view.confidence:.0%}), {verdict}"))
    if view.sensitivity is not None:
        facts.append(html.Li(f"sensitivity {view.sensitivity:.3g} (above {view.sensitivity_rank:.0%} of samples)"))
    facts.append(html.Li("scrambled" if view.scrambled else "not scrambled",
                         className="warn" if view.scrambled else ""))
    layer_name = ctx.config.layer_names[layer]
    return [
        html.Div(className="inspector-head", children=[
            html.Strong(f"Sample {view.index}"), html.Span(f" at {layer_name}, epoch {epoch}", className="muted")]),
        dcc.Graph(id="inspector-sample", figure=figures.sample_figure(view.x, ctx.image_shape, *context),
                  config={"displayModeBar": False}, className="inspector-sample"),
        html.Ul(facts, className="facts"),
        dcc.Graph(id="inspector-activations", figure=figures.activation_figure(view.activations, layer_name),
                  config={"displayModeBar": False}, className="inspector-activations"),
        html.Div("Nearest neighbours here:", className="muted"),
        _sample_buttons(ctx, view.neighbour_index, labels[view.neighbours]),
    ]


def register(app: Dash, ctx: AppContext) -> None:
    @app.callback(
        Output(vocab.SELECTED, "data"), Output(vocab.SELECTED_NEURON, "data"),
        Input(vocab.MAP, "clickData"), Input(vocab.MAP_B, "clickData"),
        Input({"type": "neighbour", "sample": ALL}, "n_clicks"),
        Input({"type": "changed", "sample": ALL}, "n_clicks"), Input(vocab.CARTOGRAPHY, "clickData"),
        prevent_initial_call=True,
    )
    def select(click, compared_click, _neighbour_clicks, _changed_clicks, data_map_click):
        """A sample (a node of the map, of the compared run's map or of the data map, a neighbour or "what
        changed" button) or a neuron (a black node of the neuron x sample graph)."""
        trigger = callback_ctx.triggered_id
        if isinstance(trigger, dict):  # a sample button; ignore its creation (n_clicks 0)
            if not any(t["value"] for t in callback_ctx.triggered):
                return no_update, no_update
            return int(trigger["sample"]), None
        if trigger == vocab.CARTOGRAPHY:
            click = data_map_click
        elif trigger == vocab.MAP_B:  # the compared run's map: the same samples, the same customdata
            click = compared_click
        try:
            custom = click["points"][0]["customdata"]
            if trigger == vocab.CARTOGRAPHY:  # the data map's customdata is the sample alone
                return int(custom[0]), None
            sample = int(vocab.custom_field(custom, "sample"))
            return (None, int(vocab.custom_field(custom, "node"))) if sample < 0 else (sample, None)
        except (TypeError, KeyError, IndexError, ValueError):
            return no_update, no_update

    @app.callback(
        Output("inspector-body", "children"),
        Input(vocab.SELECTED, "data"), Input(vocab.SELECTED_NEURON, "data"), Input(vocab.RUN, "value"),
        Input(vocab.LAYER, "value"), Input(vocab.EPOCH_RESTED, "data"), State(vocab.EPOCH, "value"),
    )
    def inspect(sample, neuron, run, layer, _rested, epoch):
        """The clicked sample or neuron at the layer and epoch on show (the epoch once the slider rests: a scrub
        asks the server once)."""
        if sample is None and neuron is None:
            return html.P("Click a node on the map to inspect its sample.", className="empty")
        try:
            shown = ctx.view(run, layer, epoch)
            layer, epoch = shown.layer, shown.epoch
            if neuron is not None:
                return render_neuron(shown.ctx, neuron_view(shown.store, shown.run_id, layer, epoch, int(neuron)),
                                     layer, epoch)
            view = sample_view(shown.store, shown.run_id, layer, epoch, int(sample))
        except (KeyError, TypeError, ValueError) as exc:  # NotShown, or a sample or unit not in the run
            return html.P(f"Nothing to inspect here: {exc.args[0] if exc.args else exc}", className="empty")
        probe = shown.store.probe(shown.run_id)
        return render(shown.ctx, view, layer, epoch, probe["y"], probe["X"])
