"""View models of the page over the store: what the browser is sent of a run's frames (a layer's sequence, the
samples, an epoch's typed arrays, a frame's edges and scores). The frames themselves are laid out by
:mod:`frames`.
"""

from __future__ import annotations

import functools
import hashlib
import threading
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from analysis.story import learned_of
from dashboard.typed import label_dtype, quantized, typed
from dashboard.vocab import CLASS_COLOURS, CUSTOMDATA, MAP_COLOURS
from derived.keys import OUTPUTS_VERSION, recording_key
from frames.chains import cached_graph
from frames.index import indexed_layout, sequence_id
from frames.motion import MOTION, ensure_motion
from frames.scores import SCORES, frame_box, read_scores, score_labels
from layout_engine.params import LayoutParams
from models.store import RunInfo, RunStore


@dataclass(frozen=True)
class FrameView:
    """What the map shows for one (layer, epoch).

    Attributes
    ----------
    coords : ndarray of shape (n_nodes, 2)
        Display coordinates (centred, unit RMS radius, aligned to the previous epoch): the probe samples, then
        in the neuron x sample graph the layer's neurons.
    labels : ndarray of shape (n_probe,), int
        True class of each probe sample.
    predictions : ndarray of shape (n_probe,), int, or None
        Predicted class (``None`` for a model that does not classify).
    confidence : ndarray of shape (n_probe,), float, or None
        Probability of the predicted class.
    sample_index : ndarray of shape (n_probe,), int
        Index of each probe sample in the data set.
    silhouette : float
        Class silhouette of the layout.
    metrics : dict
        The epoch's training metrics.
    """

    coords: np.ndarray
    labels: np.ndarray
    predictions: np.ndarray | None
    confidence: np.ndarray | None
    sample_index: np.ndarray
    silhouette: float
    metrics: dict[str, float]


def sequence_payload(store: RunStore, run_id: str, layer: int, params: LayoutParams,
                     have: int = 0, method: str = "ours") -> dict | None:
    """What the browser needs to know of one layer's sequence: per ready epoch, the epoch's scalars. The
    samples' arrays (:func:`sample_arrays`) and each epoch's arrays (positions, predictions, sensitivity,
    :func:`frame_arrays`) come by ``GET`` as the page needs them, so the payload stays small at any
    number of samples (one JSON blob of every epoch was 1 MB at n = 1,797 and would be ~55 MB at 50,000).

    Parameters
    ----------
    store, run_id, layer, params
        Which run, hidden layer (0-based) and layout.
    have : int
        Epochs the browser already knows ready for this layer; ``None`` is returned when no more are ready.
    method : str
        One of :data:`METHODS`: our layout, or a reference tool's.

    Returns
    -------
    dict or None
        JSON-ready: ``run``, ``layer``, ``graph``, ``method``, ``n_samples``, ``n_nodes`` (samples, then the
        layer's neurons in the neuron x sample graph), ``name`` (e.g. ``"h2 (128 units)"``), ``last_epoch``,
        ``class_names``, ``classifies``, ``label`` (what the run is, in words: ``MLP 24-12 on digits, labels
        50%``), ``unit`` (``epoch``, or ``step`` for a run recorded by steps), ``steps``
        (each epoch's training step for such a run, else null), ``training`` (the run is being trained or
        recorded), ``complete`` (every
        recorded epoch is laid out, and the run is no longer training); ``samples_version`` (of
        :func:`sample_arrays`, the per-sample arrays fetched once per run); and ``frames``: epoch (as a string)
        -> ``silhouette``, ``metrics``, ``box``
        (``[x0, x1, y0, y1]``, the frame's extent) and ``version`` (its layout key's hash: a frame laid out again
        is fetched again); ``style``: the map's colours (:data:`MAP_STYLE`) and ``customdata``: the order of a
        point's customdata fields (:data:`dashboard.vocab.CUSTOMDATA`), so that the browser holds neither.
        The schema of this and the other messages the browser reads: ``dashboard/payload-schema.json``.
    """
    info = store.run_info(run_id)
    keys = store.indexed_frames(run_id, sequence_id(params, method), layer, info.epochs_done)
    ready = [e for e, k in enumerate(keys) if k is not None]
    if len(ready) <= have and have > 0:
        return None
    # the same frames (by content key) of the same run state give the same payload: built once per process
    memo = (str(store.directory), run_id, layer, params.graph, method, info.state, info.name, tuple(keys))
    with _PAYLOADS_LOCK:
        payload = _PAYLOADS.pop(memo, None)
        if payload is not None:
            _PAYLOADS[memo] = payload  # most recently used last
    if payload is None:
        payload = _build_payload(store, info, layer, params, method, keys, ready)
        if len(payload["frames"]) == len(ready):  # a frame was unreadable: do not keep the gap
            with _PAYLOADS_LOCK:
                _PAYLOADS[memo] = payload
                while len(_PAYLOADS) > PAYLOAD_CACHE_SIZE:
                    _PAYLOADS.pop(next(iter(_PAYLOADS)))
    return payload


#: the map's colours as the browser reads them: ``class_colours`` and :data:`dashboard.vocab.MAP_COLOURS`
MAP_STYLE = {"class_colours": list(CLASS_COLOURS), **MAP_COLOURS}
#: sequence payloads kept per process
PAYLOAD_CACHE_SIZE = 16
_PAYLOADS: dict[tuple, dict] = {}
_PAYLOADS_LOCK = threading.Lock()


def _build_payload(store: RunStore, info: RunInfo, layer: int, params: LayoutParams, method: str,
                   keys: list[str | None], ready: list[int]) -> dict:
    run_id = info.run_id
    probe = store.probe(run_id)
    labels = score_labels(probe)
    metrics = store.metrics(run_id)
    frames, n_nodes = {}, len(probe["y"])
    for epoch in ready:
        key = keys[epoch]
        scored = read_scores(store, key, labels)
        boxed = frame_box(store, key) if key is not None and store.has_derived(key) else None
        if key is None or boxed is None or scored is None:  # evicted or corrupt since: the job lays it out again
            continue
        box, n_nodes = boxed
        frames[str(epoch)] = {"silhouette": round(scored["silhouette"], 4), "metrics": metrics[epoch], "box": box,
                              "version": hashlib.sha256(key.encode()).hexdigest()[:12]}
    class_names = list(info.class_names) or [str(c) for c in range(int(probe["y"].max()) + 1)]
    return {"run": run_id, "layer": layer, "graph": params.graph, "method": method, "n_samples": int(len(probe["y"])),
            "n_nodes": int(n_nodes), "name": f"{info.layer_names[layer]} ({info.layer_sizes[layer]} units)",
            "last_epoch": info.epochs_done - 1, "samples_version": _samples_version(probe, info.epochs_done),
            "class_names": class_names, "classifies": info.config.model != "vae", "unit": info.unit,
            "label": info.name,
            "steps": info.steps(metrics),
            "training": info.state == "training",
            "complete": len(frames) == info.epochs_done and info.state != "training", "frames": frames,
            "style": MAP_STYLE, "customdata": list(CUSTOMDATA)}


def _samples_version(probe: dict[str, np.ndarray], epochs_done: int) -> str:
    """The version of :func:`sample_arrays`: its probe set and, for when each sample was learned, how many
    epochs are recorded."""
    digest = hashlib.sha256(str(epochs_done).encode())
    for name in ("index", "y", "scrambled"):
        if name in probe:
            digest.update(np.ascontiguousarray(probe[name]).tobytes())
    return digest.hexdigest()[:12]


def sample_arrays(store: RunStore, run_id: str) -> dict:
    """The run's probe samples for the browser, the same for every layer and epoch (fetched once per run):
    ``run``, ``version`` (the sequence payload's ``samples_version``), and as typed arrays (n_samples,) ``labels``
    (the true class), ``index`` (in the data set), ``scrambled`` (0 / 1) and, for a classifier, ``learned``: the
    epoch from which each sample stays correctly classified (NaN: not by the last epoch recorded;
    :func:`analysis.story.learned_of`)."""
    probe, info = store.probe(run_id), store.run_info(run_id)
    scrambled = probe.get("scrambled", np.zeros(len(probe["y"]), dtype=bool))
    n_classes = max(len(info.class_names), int(probe["y"].max(initial=0)) + 1)
    out = {"run": run_id, "version": _samples_version(probe, info.epochs_done),
           "labels": typed(probe["y"], label_dtype(n_classes)), "index": typed(probe["index"], "i4"),
           "scrambled": typed(scrambled, "u1")}
    learned = learned_of(store, run_id)
    if learned is not None:
        out["learned"] = typed(learned, "f4")
    return out


def frame_arrays(store: RunStore, run_id: str, layer: int, epoch: int, params: LayoutParams,
                 method: str = "ours") -> dict | None:
    """One laid-out epoch's arrays for the browser, as typed arrays (:mod:`dashboard.typed`), or ``None`` while
    it is not laid out.

    Returns
    -------
    dict or None
        ``run``, ``layer``, ``graph``, ``method``, ``epoch``, ``version`` (as in :func:`sequence_payload`);
        ``x``, ``y`` (n_nodes,) display coordinates quantised to 16 bits; for a classifier ``pred`` (n_samples,)
        the predicted class and ``conf`` (n_samples,) its probability in 1/255; ``sens`` (n_samples,) the loss
        gradient's norm at this layer quantised to 16 bits, where recorded; ``aside`` (n_aside,) the nodes set
        aside on a row below the layout, having no edge in the frame's graph (a neuron x sample graph's dead
        units), when there are any.
    """
    key = indexed_layout(store, run_id, params, layer, epoch, method)
    if key is None:
        return None
    cached = store.get_derived(key)
    if cached is None:  # evicted or corrupt since it was indexed: not ready (the next job lays it out)
        store.unindex_frame(run_id, sequence_id(params, method), layer, epoch)
        return None
    display = cached["display"]
    out = {"run": run_id, "layer": layer, "graph": params.graph, "method": method, "epoch": epoch,
           "version": hashlib.sha256(key.encode()).hexdigest()[:12],
           "x": quantized(display[:, 0]), "y": quantized(display[:, 1])}
    found = epoch_outputs(store, run_id, epoch)
    if "predictions" in found:
        predictions = found["predictions"]
        out["pred"] = typed(predictions, label_dtype(int(predictions.max(initial=0)) + 1))
        out["conf"] = typed(np.rint(np.clip(found["confidence"], 0, 1) * 255), "u1")
    if f"x_sens{layer}" in found:
        out["sens"] = quantized(found[f"x_sens{layer}"])  # a colour and a size: 16 bits are plenty
    aside = cached.get("aside")
    if aside is not None and len(aside):
        out["aside"] = typed(aside, "i4")
    return out


def epoch_outputs(store: RunStore, run_id: str, epoch: int) -> dict[str, np.ndarray]:
    """A recorded epoch's per-sample outputs that the page shows with every layer's frame: ``predictions``,
    ``confidence`` and each layer's ``x_sens<layer>``, where recorded. Kept as a derived entry of their own: the
    epoch's record holds every layer's activations too (~100 MB at n = 50,000), and reading it costs ~90 ms a
    frame."""
    info = store.run_info(run_id)
    key = recording_key("outputs", OUTPUTS_VERSION, run_id, info.created, epoch)
    cached = store.get_derived(key)
    if cached is None:
        names = ["predictions", "confidence", *(f"x_sens{layer}" for layer in range(len(info.layer_sizes)))]
        cached = store.arrays(run_id, epoch, names)
        store.put_derived(key, cached)
    return cached


def frame_edges(store: RunStore, run_id: str, layer: int, epoch: int, params: LayoutParams) -> dict:
    """The edges of a frame's graph, each once, as node rows ``{"i": [...], "j": [...]}`` (in the neuron x
    sample graph, neuron ``k`` is node ``n_samples + k``); ``KeyError`` when the epoch is not recorded."""
    graph = cached_graph(store, store.activations(run_id, epoch, layer), params)
    upper = sp.triu(sp.coo_matrix(graph), k=1)
    return {"run": run_id, "layer": layer, "epoch": epoch, "graph": params.graph, "i": upper.row.tolist(),
            "j": upper.col.tolist()}


def scores(store: RunStore, run_id: str, layer: int, params: LayoutParams,
           method: str = "ours") -> dict[str, list[float | None]]:
    """Per recorded epoch, each of :data:`SCORES` of the layer's layout and the :data:`~frames.motion.MOTION`
    from the previous epoch's (:func:`frames.motion.ensure_motion`, computed where missing), ``None`` where it
    is not laid out (and for the first epoch's motion)."""
    out: dict[str, list[float | None]] = {name: [] for name in (*SCORES, *MOTION)}
    labels = score_labels(store.probe(run_id))
    keys = [indexed_layout(store, run_id, params, layer, epoch, method)
            for epoch in range(store.run_info(run_id).epochs_done)]

    @functools.lru_cache(maxsize=2)  # each epoch is the later frame of one pair and the earlier of the next
    def frame(epoch: int, key: str) -> tuple[np.ndarray, np.ndarray]:
        layout = store.get_derived(key)
        if layout is None:
            raise KeyError(key)
        return store.activations(run_id, epoch, layer), layout["display"]

    for epoch, key in enumerate(keys):
        found = read_scores(store, key, labels) or {}
        for name in SCORES:
            out[name].append(found.get(name))
        before = keys[epoch - 1] if epoch else None
        moved: dict[str, float] = {}
        if before is not None and key is not None:
            pair = ((epoch - 1, before), (epoch, key))

            def load(i: int, pair: tuple = pair) -> tuple[np.ndarray, np.ndarray]:
                return frame(*pair[i])

            try:
                moved = ensure_motion(store, (before, key), load)
            except KeyError:  # a layout indexed but gone since: no motion for the pair
                moved = {}
        for name in MOTION:
            out[name].append(moved.get(name))
    return out


def frame_view(store: RunStore, run_id: str, layer: int, epoch: int, params: LayoutParams,
               method: str = "ours") -> FrameView | None:
    """The cached frame of (layer, epoch) laid out by ``method`` (ours in ``params.graph``'s mode, or a
    reference tool's) with what the map needs, or ``None`` while it is not computed. In the neuron x sample graph
    ``coords`` holds the samples, then the layer's neurons."""
    key = indexed_layout(store, run_id, params, layer, epoch, method)
    cached = store.get_derived(key) if key is not None else None
    if cached is None:
        return None
    probe = store.probe(run_id)
    found = read_scores(store, key, score_labels(probe)) or {}
    predictions, confidence, metrics = store.outputs(run_id, epoch)
    return FrameView(coords=cached["display"], labels=probe["y"], predictions=predictions,
                     confidence=confidence, sample_index=probe["index"],
                     silhouette=found.get("silhouette", float("nan")), metrics=metrics)
