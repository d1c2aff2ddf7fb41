"""Inspector: click a node to see the sample, its labels, its activations and sensitivity at this layer and
epoch, and its nearest neighbours there (click one to move to it)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from dash import ALL, Dash, Input, Output, State, dcc, html, no_update
from dash import ctx as callback_ctx

from analysis.neurons import class_means, class_selectivity
from dashboard import figures, vocab
from dashboard.context import AppContext
from models.store import RunStore

#: nearest neighbours listed
N_NEIGHBOURS = 8


@dataclass(frozen=True)
class SampleView:
    """What the inspector shows for one probe sample at one (layer, epoch).

    Attributes
    ----------
    position : int
        Row of the sample in the probe set.
    index : int
        The sample's index in its data set.
    x : ndarray of shape (n_features,)
        Its input as trained on.
    label : int
    trained_label : int
        The label it was trained with (differs from ``label`` under label noise).
    predicted : int or None
    confidence : float or None
    scrambled : bool
    activations : ndarray of shape (units,)
    sensitivity : float or None
        Gradient norm at this layer.
    sensitivity_rank : float or None
        Share of probe samples with a smaller gradient norm.
    neighbours : ndarray of shape (N_NEIGHBOURS,), int
        Probe positions of its nearest neighbours in this layer's activation space, nearest first.
    neighbour_index : ndarray of shape (N_NEIGHBOURS,), int
        Their indices in the data set.
    """

    position: int
    index: int
    x: np.ndarray
    label: int
    trained_label: int
    predicted: int | None
    confidence: float | None
    scrambled: bool
    activations: np.ndarray
    sensitivity: float | None
    sensitivity_rank: float | None
    neighbours: np.ndarray
    neighbour_index: np.ndarray


def sample_view(store: RunStore, run_id: str, layer: int, epoch: int, sample: int) -> SampleView:
    """Gather :class:`SampleView` for the probe sample with data-set index ``sample``; ``KeyError`` names what
    is missing."""
    probe = store.probe(run_id)
    n = len(probe["y"])
    hits = np.flatnonzero(probe["index"] == sample)
    if not len(hits):
        raise KeyError(f"sample {sample} is not in the probe set")
    position = int(hits[0])
    found = store.arrays(run_id, epoch, [f"act{layer}", "predictions", "confidence", f"x_sens{layer}"])  # one read
    if f"act{layer}" not in found:
        raise KeyError(f"layer {layer} of run {run_id!r} does not exist")
    A = found[f"act{layer}"]
    predictions, confidence, sens = found.get("predictions"), found.get("confidence"), found.get(f"x_sens{layer}")
    distances = np.linalg.norm(A - A[position], axis=1)
    distances[position] = np.inf
    neighbours = np.argsort(distances, kind="stable")[:min(N_NEIGHBOURS, n - 1)]
    sensitivity = rank = None
    if sens is not None:
        sensitivity, rank = float(sens[position]), float(np.mean(sens < sens[position]))
    return SampleView(position=position, index=int(probe["index"][position]), x=probe["X"][position],
                      label=int(probe["y"][position]), trained_label=int(probe.get("y_train", probe["y"])[position]),
                      predicted=None if predictions is None else int(predictions[position]),
                      confidence=None if confidence is None else float(confidence[position]),
                      scrambled=bool(probe.get("scrambled", np.zeros(n, bool))[position]),
                      activations=A[position], sensitivity=sensitivity, sensitivity_rank=rank, neighbours=neighbours,
                      neighbour_index=probe["index"][neighbours])


@dataclass(frozen=True)
class NeuronView:
    """What the inspector shows for one neuron (unit) of a layer at one epoch.

    Attributes
    ----------
    unit : int
    top_index : ndarray of shape (k,), int
        Data-set indices of the probe samples that activate it most, most first.
    top_labels : ndarray of shape (k,), int
    class_means : ndarray of shape (n_classes,)
        Its mean activation over each class's probe samples.
    selectivity : float
        Class selectivity index (Morcos et al. 2018): ``(mu_max - mu_rest) / (mu_max + mu_rest)``, from 0 (no
        class preference) to 1 (active for one class only); NaN for a dead unit.
    dead : bool
        Never active on the probe set.
    """

    unit: int
    top_index: np.ndarray
    top_labels: np.ndarray
    class_means: np.ndarray
    selectivity: float
    dead: bool


def neuron_view(store: RunStore, run_id: str, layer: int, epoch: int, unit: int) -> NeuronView:
    """Gather :class:`NeuronView`; ``KeyError`` naming a unit out of range."""
    A = store.activations(run_id, epoch, layer)
    if not 0 <= unit < A.shape[1]:
        raise KeyError(f"unit must be in 0..{A.shape[1] - 1}, got {unit}")
    probe = store.probe(run_id)
    a, labels = A[:, unit:unit + 1], np.asarray(probe["y"], dtype=np.int64)
    top = np.argsort(-a[:, 0], kind="stable")[:N_NEIGHBOURS]
    n_classes = int(labels.max()) + 1
    selectivity, _ = class_selectivity(a, labels, n_classes)
    return NeuronView(unit=unit, top_index=probe["index"][top], top_labels=labels[top],
                      class_means=class_means(a, labels, n_classes)[:, 0], selectivity=float(selectivity[0]),
                      dead=bool(np.all(a <= 0)))


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
        html.Div("Samples that activate it most:", className="muted"),
        _sample_buttons(ctx, view.top_index, view.top_labels),
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
            run_ctx = ctx.for_run(run)
            layer, epoch = int(layer), int(epoch)
            if neuron is not None:
                return render_neuron(run_ctx, neuron_view(ctx.store, run_ctx.run_id, layer, epoch, int(neuron)),
                                     layer, epoch)
            view = sample_view(ctx.store, run_ctx.run_id, layer, epoch, int(sample))
        except (KeyError, TypeError, ValueError) as exc:
            return html.P(f"Nothing to inspect here: {exc.args[0] if exc.args else exc}", className="empty")
        probe = ctx.store.probe(run_ctx.run_id)
        return render(run_ctx, view, layer, epoch, probe["y"], probe["X"])
