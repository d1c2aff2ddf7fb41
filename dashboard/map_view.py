"""The map as a component that can stand on the page more than once (as explainerdashboard's components do):
every id is its part's name suffixed by the instance's name, so the map (instance ``""``: ``map``, ``sequence``,
``map-poll``) and the compared run's map (instance ``"b"``: ``map-b``, ``sequence-b``, ``map-poll-b``) are two
instances of one thing, each drawn in the browser by its own ``EpochScopeMapView`` (``assets/epochscope-map.js``)
with the same figure code.

What an instance shows is wired by explicit connectors (:class:`MapInputs`): which component names its run, and
the shared layer, epoch, graph mode, method, colour and selection; a second instance is aligned to the first
(``align_to``): its run must record the same probe samples, and its frame is Procrustes-aligned to the first's.
"""

from __future__ import annotations

from dataclasses import dataclass

from dash import ClientsideFunction, Dash, Input, Output, State, dcc
from dash import ctx as callback_ctx
from dash.development.base_component import Component

from dashboard import catalogue, figures, sequences, vocab
from dashboard.context import AppContext
from dashboard.progress import JOB_OVER


@dataclass(frozen=True)
class MapInputs:
    """The page's components that drive a map instance (their ids): its run, and the view it shares."""

    run: str = vocab.RUN
    layer: str = vocab.LAYER
    epoch: str = vocab.EPOCH
    graph: str = vocab.GRAPH_MODE
    method: str = vocab.METHOD
    colour: str = vocab.COLOUR_BY
    selected: str = vocab.SELECTED


@dataclass(frozen=True)
class MapView:
    """One instance of the map.

    Attributes
    ----------
    name : str
        The instance's name, the suffix of its ids (``""``: none).
    inputs : MapInputs
        What drives it.
    align_to : MapView or None
        The instance it is compared with and aligned to.
    """

    name: str = ""
    inputs: MapInputs = MapInputs()
    align_to: MapView | None = None

    def id(self, part: str) -> str:
        """The id of this instance's ``part`` (``map``, ``sequence``, ``map-poll``)."""
        return f"{part}-{self.name}" if self.name else part

    @property
    def graph(self) -> str:
        return self.id(vocab.MAP)

    @property
    def sequence(self) -> str:
        return self.id(vocab.SEQUENCE)

    @property
    def poll(self) -> str:
        return self.id("map-poll")

    def graph_layout(self, text: str = "") -> dcc.Graph:
        """The instance's figure, saying ``text`` until the browser draws it."""
        return dcc.Graph(id=self.graph, className="map", figure=figures.message_figure(text),
                         config={"displaylogo": False, "scrollZoom": True})

    def data_layout(self) -> list[Component]:
        """The instance's sequence (the server's payload) and its poll, which runs only while the sequence is
        still being laid out."""
        return [dcc.Store(id=self.sequence),
                dcc.Interval(id=self.poll, interval=sequences.POLL_MS, disabled=self.align_to is not None)]

    def register_sequence(self, app: Dash, ctx: AppContext) -> None:
        """The callback that sends the layer's sequence of this instance's run (polling while it is laid out);
        an aligned instance's run must compare with the run it is aligned to (else its payload names why not)."""
        i = self.inputs
        aligned = self.align_to
        base_inputs = [Input(i.run, "value"), Input(i.layer, "value"), Input(i.graph, "value"),
                       Input(i.method, "value"), Input(self.poll, "n_intervals"), Input(vocab.RUN_VERSION, "data")]
        extra = [Input(aligned.inputs.run, "value")] if aligned is not None else []

        @app.callback(Output(self.sequence, "data"), Output(self.poll, "disabled"), *base_inputs, *extra,
                      State(self.sequence, "data"))
        def update_sequence(run, layer, graph, method, _tick, version, *rest):
            *other, current = rest
            if aligned is not None and not run:  # nothing compared
                return None, True
            try:
                run_ctx = ctx.for_run(run)
                if aligned is not None:
                    problem = catalogue.compare_problem(ctx.store, ctx.for_run(other[0]).run_id, run_ctx.run_id)
                    if problem:
                        return {"error": problem}, True
            except KeyError as exc:
                return {"error": str(exc.args[0])}, True
            # a job's end may have changed the run (trained again after a damaged epoch, resumed): read it afresh
            same = (isinstance(current, dict) and "frames" in current and current.get("run") == run_ctx.run_id
                    and current.get("layer") == layer and current.get("graph") == graph
                    and current.get("method") == method
                    and not (callback_ctx.triggered_id == vocab.RUN_VERSION and version == JOB_OVER))
            return sequences.sequence_update(run_ctx, layer, len(current["frames"]) if same else 0, graph, method)

    def register_render(self, app: Dash, *, caption: str, flags: str | None = None, edges: str | None = None,
                        changed: str | None = None) -> None:
        """The browser's drawing of this instance (``render`` for the first, ``renderCompare`` for an aligned
        one); ``caption``: the component whose children (first instance) or class (aligned one) it sets."""
        i = self.inputs
        if self.align_to is None:
            app.clientside_callback(
                ClientsideFunction(namespace="epochscope", function_name="render"),
                Output(self.graph, "figure"), Output(caption, "children"),
                Input(self.sequence, "data"), Input(i.epoch, "value"), Input(i.colour, "value"),
                Input(flags or "map-flags", "value"), Input(i.selected, "data"), Input(edges or "edges", "data"),
                State(changed or vocab.CHANGED, "data"),
            )
        else:
            app.clientside_callback(
                ClientsideFunction(namespace="epochscope", function_name="renderCompare"),
                Output(self.graph, "figure"), Output(caption, "className"),
                Input(self.sequence, "data"), Input(self.align_to.sequence, "data"), Input(i.epoch, "value"),
                Input(i.colour, "value"), Input(i.selected, "data"),
            )


#: the page's map, and the compared run's map aligned to it (its run from the compare picker)
MAIN = MapView()
COMPARED = MapView("b", MapInputs(run=vocab.COMPARE_PICKER), align_to=MAIN)
