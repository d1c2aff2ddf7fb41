"""The view in the URL: ``?run=mlp-digits-...&layer=1&epoch=12&colour=sensitivity&graph=knn&method=ours&sample=345``
(and ``&compare=<run>``, a run shown side by side) opens the same view again. ``&name=`` carries the run's name
for people reading the link; the run is found by its id.

On page load one callback reads the query (``url-in``) and sets the controls, once; a client-side callback
keeps the query (``url``, a second location component, so the callback graph has no cycle) in step with the
controls.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from dash import ClientsideFunction, Dash, Input, Output, State, no_update

from dashboard import vocab
from dashboard.catalogue import comparable_runs, compare_problem
from dashboard.context import AppContext
from dashboard.vocab import COLOUR_MODES as COLOURS
from dashboard.vocab import GRAPH_MODES


@dataclass(frozen=True)
class ViewState:
    """The view a URL asks for, each field checked against the run; a bad field falls back to its default.

    Attributes
    ----------
    layer, epoch : int
    colour : str
        One of :data:`dashboard.vocab.COLOUR_MODES`.
    graph, method : str
        Graph mode and layout method (:data:`dashboard.vocab.GRAPH_MODES`, :data:`frames.index.METHODS`).
    sample : int or None
        Data-set index of the selected sample.
    problems : tuple of str
        What was wrong with the query, one message per field (shown in the page).
    """

    layer: int = 0
    epoch: int = 0
    colour: str = "class"
    graph: str = "knn"
    method: str = "ours"
    sample: int | None = None
    problems: tuple[str, ...] = ()


def parse(query: Mapping[str, str], *, n_layers: int, last_epoch: int, sample_index: np.ndarray | None) -> ViewState:
    """The :class:`ViewState` of a URL query; ``sample`` is a data-set index, which must be in ``sample_index``
    (the probe set's indices) when the run is stored."""
    problems = []

    def integer(name: str, lo: int, hi: int) -> int | None:
        if name not in query:
            return None
        try:
            value = int(query[name])
        except ValueError:
            problems.append(f"{name} must be a whole number, got {query[name]!r}")
            return None
        if not lo <= value <= hi:
            problems.append(f"{name} must be in {lo}..{hi}, got {value}")
            return None
        return value

    layer = integer("layer", 0, n_layers - 1) or 0
    epoch = integer("epoch", 0, last_epoch) or 0
    def choice(name: str, accepted, default: str) -> str:
        value = query.get(name, default)
        if value not in accepted:
            problems.append(f"{name} must be one of {', '.join(accepted)}, got {value!r}")
            return default
        return value

    colour = choice("colour", COLOURS, "class")
    graph = choice("graph", GRAPH_MODES, "knn")
    method = choice("method", vocab.METHOD_LABELS, "ours")
    sample = integer("sample", 0, 10**9) if "sample" in query else None
    if sample is not None and sample_index is not None and sample not in set(np.asarray(sample_index).tolist()):
        problems.append(f"sample {sample} is not in the probe set")
        sample = None
    return ViewState(layer=layer, epoch=epoch, colour=colour, graph=graph, method=method, sample=sample,
                     problems=tuple(problems))


def register(app: Dash, ctx: AppContext) -> None:
    @app.callback(
        Output(vocab.RUN, "value", allow_duplicate=True),
        Output(vocab.LAYER, "value"), Output(vocab.EPOCH, "value", allow_duplicate=True),
        Output(vocab.COLOUR_BY, "value"), Output(vocab.GRAPH_MODE, "value"), Output(vocab.METHOD, "value"),
        Output(vocab.SELECTED, "data", allow_duplicate=True), Output(vocab.COMPARE_PICKER, "value"),
        Output(vocab.COMPARE_PICKER, "options", allow_duplicate=True),
        Output(vocab.URL_PROBLEMS, "children"), Output(vocab.URL_APPLIED, "data"),
        Input(vocab.URL_IN, "search"), State(vocab.URL_APPLIED, "data"),
        prevent_initial_call="initial_duplicate",
    )
    def apply(search, applied):
        if applied:
            return (no_update,) * 11
        query = dict(urllib.parse.parse_qsl((search or "").lstrip("?")))
        problems = []
        run_ctx = ctx
        if "run" in query:
            try:
                run_ctx = ctx.for_run(query["run"])
            except KeyError as exc:
                problems.append(exc.args[0])
        store = ctx.store
        sample_index = (store.probe(run_ctx.run_id)["index"] if "sample" in query and store.has_run(run_ctx.run_id)
                        else None)
        view = parse(query, n_layers=len(run_ctx.config.layer_sizes), last_epoch=run_ctx.last_epoch,
                     sample_index=sample_index)
        compare = query.get("compare") or None
        if compare is not None:
            problem = compare_problem(store, run_ctx.run_id, compare)
            if problem:
                problems.append(problem)
                compare = None
        # the options with the value: the dropdown drops a value its options lack
        options = comparable_runs(store, run_ctx.run_id) if compare is not None else no_update
        return (run_ctx.run_id, view.layer, view.epoch, view.colour, view.graph, view.method, view.sample, compare,
                options, " · ".join([*problems, *view.problems]), True)

    app.clientside_callback(
        ClientsideFunction(namespace="epochscope", function_name="urlState"),
        Output(vocab.URL, "search"),
        Input(vocab.RUN, "value"), Input(vocab.LAYER, "value"), Input(vocab.EPOCH, "value"),
        Input(vocab.COLOUR_BY, "value"), Input(vocab.GRAPH_MODE, "value"), Input(vocab.METHOD, "value"),
        Input(vocab.SELECTED, "data"), Input(vocab.COMPARE_PICKER, "value"), Input(vocab.RUN_LABEL, "data"),
        State(vocab.URL, "search"),
    )
