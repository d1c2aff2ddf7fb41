"""What the map asks the server for, checked: a layer's sequence of frames (:func:`sequence_update`, polled while
it is laid out) and one epoch's arrays (:func:`frame_response`, behind ``GET /frames/...``), each bad field
answered with a message naming it and its accepted values."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

from dash import no_update

from dashboard import service, vocab
from dashboard.context import AppContext
from frames.index import METHODS, readiness
from layout_engine.params import LayoutParams
from models.store import DamagedEpoch, RunInfo

POLL_MS = 700


def layout_params(ctx: AppContext, graph: str) -> LayoutParams:
    """The app's layout parameters for graph mode ``graph`` (``ValueError`` naming the modes if unknown)."""
    problem = sequence_problem(graph, "ours")
    if problem:
        raise ValueError(problem)
    return replace(ctx.params, graph=graph)


def sequence_problem(graph, method) -> str | None:
    """What is wrong with showing graph mode ``graph`` laid out by ``method`` (``None``: nothing)."""
    if graph not in vocab.GRAPH_MODES:
        return f"graph must be one of {', '.join(vocab.GRAPH_MODES)}, got {graph!r}"
    if method not in METHODS:
        return f"method must be one of {', '.join(METHODS)}, got {method!r}"
    if method != "ours" and graph != "knn":
        return f"{vocab.METHOD_LABELS[method]} lays out samples only: choose the samples graph"
    return None


def sequence_update(ctx: AppContext, layer, have: int, graph: str = "knn", method: str = "ours"):
    """The ``sequence`` payload for ``layer`` in graph mode ``graph`` by ``method`` (or ``no_update`` when the
    browser has every ready frame) and whether to stop polling; a bad ``layer``, ``graph`` or ``method`` gets a
    message naming the accepted values."""
    problem = sequence_problem(graph, method)
    if problem:
        return {"error": problem}, True
    params = layout_params(ctx, graph)
    n_layers = len(ctx.config.layer_sizes)
    try:
        layer = int(layer or 0)
    except (TypeError, ValueError):
        return {"error": "layer must be a whole number"}, True
    if not 0 <= layer < n_layers:
        return {"error": f"layer must be in 0..{n_layers - 1}, got {layer}"}, True
    store = ctx.store
    if not store.has_run(ctx.run_id):
        return no_update, False
    payload = service.sequence_payload(store, ctx.run_id, layer, params, have=have, method=method)
    if payload is None:
        return no_update, False
    return payload, payload["complete"]


def trained_run(ctx: AppContext, run: str) -> tuple[AppContext, RunInfo] | dict:
    """The context and info of the stored run ``run``, or an error body naming why there is none."""
    try:
        run_ctx = ctx.for_run(run)
    except KeyError as exc:
        return {"error": str(exc.args[0])}
    if not run_ctx.store.has_run(run_ctx.run_id):
        return {"error": f"run {run_ctx.run_id!r} is not trained yet"}
    return run_ctx, run_ctx.store.run_info(run_ctx.run_id)


def frame_response(ctx: AppContext, run: str, layer: str, epoch: str, graph: str | None,
                   method: str | None) -> tuple[dict, int]:
    """The JSON body and HTTP status of :data:`FRAME_ROUTE`: the frame's typed arrays
    (:func:`dashboard.service.frame_arrays`), 404 while it is not laid out or the run is not stored, 410 when its
    epoch's record is damaged (the run now ends before it), 400 with a message naming the field and its accepted
    values for a bad one."""
    graph, method = graph or "knn", method or "ours"
    problem = sequence_problem(graph, method)
    if problem:
        return {"error": problem}, 400
    found = trained_run(ctx, run)
    if isinstance(found, dict):
        return found, 404
    run_ctx, info = found
    n_layers, last = len(info.layer_sizes), info.epochs_done - 1
    if not (layer.isdecimal() and len(layer) <= 6 and int(layer) < n_layers):
        return {"error": f"layer must be in 0..{n_layers - 1}, got {layer[:20]!r}"}, 400
    if not (epoch.isdecimal() and len(epoch) <= 9 and int(epoch) <= last):
        return {"error": f"epoch must be in 0..{last}, got {epoch[:20]!r}"}, 400
    try:
        arrays = service.frame_arrays(run_ctx.store, run_ctx.run_id, int(layer), int(epoch),
                                      layout_params(ctx, graph), method)
    except DamagedEpoch as exc:  # the run now ends before it: the page reads the shorter run and moves on
        return {"error": str(exc)}, 410
    if arrays is None:
        return {"error": f"epoch {epoch} of layer {layer} is not laid out yet"}, 404
    return arrays, 200


#: seconds a server process keeps a run's readiness table: every open page polls it every 2 s, and counting it
#: looks up every (sequence, layer, epoch) of the run (20 ms for the default run; 20 pages at once kept the
#: server's two cores busy with it)
READINESS_TTL_S = 1.5
_READINESS: dict[tuple, tuple[float, dict[tuple[str, str], list[int]]]] = {}
_READINESS_LOCK = threading.Lock()


def readiness_of(ctx: AppContext) -> tuple[dict[tuple[str, str], list[int]], RunInfo] | None:
    """Which sequences of the run ``ctx`` are laid out, per (graph, method) the frames ready per layer
    (:func:`frames.index.readiness`: key lookups only, counted at most once per :data:`READINESS_TTL_S` for a
    run in one state), with the run's info; ``None`` while it is not stored."""
    store = ctx.store
    if not store.has_run(ctx.run_id):
        return None
    info = store.run_info(ctx.run_id)
    memo = (str(store.directory), ctx.run_id, ctx.params.digest(), info.epochs_done, info.state)
    now = time.monotonic()
    with _READINESS_LOCK:
        found = _READINESS.get(memo)
    if found is not None and now - found[0] < READINESS_TTL_S:
        return found[1], info
    ready = readiness(store, ctx.run_id, ctx.params)
    with _READINESS_LOCK:
        for key in [k for k, (at, _) in _READINESS.items() if now - at >= READINESS_TTL_S]:
            del _READINESS[key]
        _READINESS[memo] = (now, ready)
    return ready, info
