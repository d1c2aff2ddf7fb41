"""The measuring stage over the store: every (layer, epoch) frame's measures and the run's CKA, computed in the
background job and cached by content like layouts, then read back for the page.

Keys and versions: :mod:`derived.keys` (measures, CKA, neuron map); the kNN table the measures read is the one
the layout's graph reads (:mod:`derived.neighbours`).
"""

from __future__ import annotations

import logging
import threading

import numpy as np

from analysis.cartography import Cartography, cartography
from analysis.measures import N_NEIGHBORS, SCALARS, ProbeLabels, measure_frame
from analysis.neurons import class_selectivity, multislice_graph, preference_grouping, zscore_units
from analysis.observations import Evidence
from analysis.representation import cka_matrix, neighbourhood_change
from derived.keys import (
    CKA_VERSION,
    NEURONS_VERSION,
    cka_index,
    content_hash,
    is_current_measures,
    measures_index,
    measures_key,
    neurons_index,
    run_content_key,
)
from derived.neighbours import neighbour_table
from layout_engine.align import normalize
from layout_engine.params import ENGINE_VERSION, LayoutParams
from layout_engine.pipeline import layout_graph
from models.progress import Reporter
from models.store import RunInfo, RunStore

logger = logging.getLogger(__name__)

#: the job's stage name while measuring
MEASURING = "Measuring representations"
#: CKA is computed on a seeded subset of this many probe samples (n x n Gram matrices)
CKA_POINTS = 500




def probe_labels(store: RunStore, info: RunInfo) -> ProbeLabels:
    """The labels and probe split every measure of the run is taken against."""
    return ProbeLabels.from_probe(store.probe(info.run_id), len(info.class_names) or None)


def _cached(store: RunStore, index: str) -> bool:
    key = store.pointer(index)
    return key is not None and is_current_measures(key) and store.has_derived(key)


def is_measured(store: RunStore, run_id: str, layer: int, epoch: int) -> bool:
    """Whether one frame of the run is measured (one key lookup)."""
    return _cached(store, measures_index(run_id, layer, epoch))


def count_measured(store: RunStore, info: RunInfo) -> int:
    """Frames of the run measured so far (key lookups only)."""
    return sum(is_measured(store, info.run_id, layer, epoch)
               for layer in range(len(info.layer_sizes)) for epoch in range(info.epochs_done))


def compute_measures(store: RunStore, info: RunInfo, report: Reporter | None = None) -> int:
    """Measure every (layer, epoch) frame of the run (those cached are skipped), then the run's CKA; returns
    the frames measured. Stops early, keeping what is done, when ``report`` returns True.

    Epochs of a layer go in order so that each linear probe starts from the previous epoch's fit.
    """
    labels = probe_labels(store, info)
    n_layers, n_epochs = len(info.layer_sizes), info.epochs_done
    total, done = n_layers * n_epochs + 1, 0
    for layer in range(n_layers):
        weights = None
        for epoch in range(n_epochs):
            index = measures_index(info.run_id, layer, epoch)
            if not _cached(store, index):
                X = store.activations(info.run_id, epoch, layer)
                key = measures_key(X, labels.digest_bytes())
                if not store.has_derived(key):
                    neighbours = neighbour_table(store, X, min(N_NEIGHBORS, len(X) - 1))
                    measures, weights = measure_frame(X, labels, probe_init=weights, neighbours=neighbours)
                    store.put_derived(key, measures)
                store.set_pointer(index, key)
            else:
                weights = None
            done += 1
            if report is not None and report(MEASURING, done, total):
                logger.info("Measuring %s stopped at %d/%d", info.run_id, done, total)
                return done
    compute_cka(store, info)
    compute_neuron_map(store, info)
    if report is not None:
        report(MEASURING, total, total)
    return done


def compute_cka(store: RunStore, info: RunInfo) -> dict[str, np.ndarray]:
    """The run's CKA matrices (see the module doc), from the cache when its activations are unchanged; a
    finished run's, once made for all its epochs, without reading its activations again (at n = 50,000 that
    read took 11 s every time the run was opened)."""
    run_id, n_layers, n_epochs = info.run_id, len(info.layer_sizes), info.epochs_done
    if info.state in ("complete", "diverged"):
        done = run_cka(store, run_id)
        if done is not None:
            return done
    rows = None
    subsets: list[list[np.ndarray]] = []
    hashes: list[str] = []
    for layer in range(n_layers):
        subsets.append([])
        for epoch in range(n_epochs):
            X = store.activations(run_id, epoch, layer)
            if rows is None:
                rows = np.sort(np.random.default_rng(0).choice(len(X), size=min(len(X), CKA_POINTS), replace=False))
            hashes.append(content_hash(X))
            subsets[-1].append(X[rows])
    key = run_content_key("cka", CKA_VERSION, hashes)
    cached = store.get_derived(key)
    if cached is None:
        cached = {"by_epoch": np.stack([cka_matrix(per_epoch) for per_epoch in subsets]).astype(np.float32),
                  "by_layer": np.stack([cka_matrix([subsets[layer][epoch] for layer in range(n_layers)])
                                        for epoch in range(n_epochs)]).astype(np.float32)}
        store.put_derived(key, cached)
    store.set_pointer(cka_index(run_id), key)
    return cached


#: the neuron map describes each unit by its response over a seeded subset of this many probe samples
NEURON_POINTS = 2000


def compute_neuron_map(store: RunStore, info: RunInfo, params: LayoutParams | None = None) -> dict[str, np.ndarray]:
    """The run's hidden units over its epochs as one laid-out graph (:mod:`analysis.neurons`), cached by the
    activations' content like the CKA; a finished run's is read back without reading its activations.

    Returns
    -------
    dict
        ``coords`` (n_epochs * n_units, 2): node ``e * n_units + u`` is unit ``u`` (all layers' units side by
        side) at epoch ``e``, centred with unit RMS radius; ``layer`` and ``unit`` (n_units,): each unit's layer
        and index in it; ``selectivity`` and ``preferred`` (n_epochs, n_units): class selectivity (NaN for a
        dead unit) and preferred class, from the true labels of the probe samples used; ``grouping`` and
        ``grouping_chance`` (n_epochs,): how much each epoch's units sit beside units preferring their class
        (:func:`analysis.neurons.preference_grouping`), and its chance level. ``params``: how the graph is laid
        out (default :class:`LayoutParams`).
    """
    params = LayoutParams() if params is None else params
    run_id, n_layers, n_epochs = info.run_id, len(info.layer_sizes), info.epochs_done
    if info.state in ("complete", "diverged"):
        done = run_neuron_map(store, run_id)
        if done is not None:
            return done
    probe = store.probe(run_id)
    labels = np.asarray(probe["y"], dtype=np.int64)
    rows = np.sort(np.random.default_rng(0).choice(len(labels), size=min(len(labels), NEURON_POINTS),
                                                   replace=False))
    n_classes = max(len(info.class_names), int(labels.max(initial=0)) + 1)
    hashes: list[str] = []
    epochs = []
    for epoch in range(n_epochs):  # one read of each epoch for all its layers
        found = store.arrays(run_id, epoch, [f"act{layer}" for layer in range(n_layers)])
        layers = [found[f"act{layer}"] for layer in range(n_layers)]
        for X in layers:
            hashes.append(content_hash(X))
        epochs.append(np.concatenate([X[rows] for X in layers], axis=1))
    key = run_content_key("neurons", f"{NEURONS_VERSION}.{ENGINE_VERSION}", hashes)
    cached = store.get_derived(key)
    if cached is None:
        graph = multislice_graph([zscore_units(A) for A in epochs])
        coords = normalize(layout_graph(graph, params)).astype(np.float32)
        chosen = [class_selectivity(A, labels[rows], n_classes) for A in epochs]
        sizes = np.asarray(info.layer_sizes)
        n_units = int(sizes.sum())
        grouping = np.array([preference_grouping(coords[e * n_units:(e + 1) * n_units], preferred,
                                                 ~np.isnan(selectivity))
                             for e, (selectivity, preferred) in enumerate(chosen)], dtype=np.float32)
        cached = {"coords": coords, "layer": np.repeat(np.arange(n_layers), sizes),
                  "unit": np.concatenate([np.arange(size) for size in sizes]),
                  "selectivity": np.stack([s for s, _ in chosen]).astype(np.float32),
                  "preferred": np.stack([p for _, p in chosen]).astype(np.int16),
                  "grouping": grouping[:, 0], "grouping_chance": grouping[:, 1]}
        store.put_derived(key, cached)
    store.set_pointer(neurons_index(run_id), key)
    return cached


def neuron_map_key(store: RunStore, run_id: str) -> str | None:
    """The derived key of the run's neuron map (its version: a new one when laid out again), ``None`` before."""
    return store.pointer(neurons_index(run_id))


def run_neuron_map(store: RunStore, run_id: str) -> dict[str, np.ndarray] | None:
    """The run's cached neuron map (:func:`compute_neuron_map`), or ``None`` until the job has made it for every
    recorded epoch."""
    key = store.pointer(neurons_index(run_id))
    cached = store.get_derived(key) if key is not None else None
    if cached is None or cached["selectivity"].shape[0] != store.run_info(run_id).epochs_done:
        return None
    return cached


def run_cka(store: RunStore, run_id: str) -> dict[str, np.ndarray] | None:
    """The run's cached CKA matrices (``by_epoch``, ``by_layer``), or ``None`` until the job has made them for
    every recorded epoch."""
    key = store.pointer(cka_index(run_id))
    cached = store.get_derived(key) if key is not None else None
    if cached is None or cached["by_epoch"].shape[1] != store.run_info(run_id).epochs_done:
        return None
    return cached


#: per process: a run's table of measures, keyed by the frames' measure keys (built once, ~120 reads)
_TABLES: dict[tuple, list[list[dict | None]]] = {}
_TABLES_LOCK = threading.Lock()
TABLE_CACHE_SIZE = 16


def measure_table(store: RunStore, run_id: str) -> list[list[dict[str, float | np.ndarray] | None]]:
    """Every measured frame's scalars (:data:`analysis.measures.SCALARS`, as floats), ``overlap`` matrix and
    ``class_recall`` (the probe's recall per class), ``table[layer][epoch]``; ``None`` where a frame is not
    measured yet."""
    info = store.run_info(run_id)
    keys = tuple(tuple(store.pointer(measures_index(run_id, layer, epoch)) for epoch in range(info.epochs_done))
                 for layer in range(len(info.layer_sizes)))
    memo = (str(store.directory), run_id, keys)
    with _TABLES_LOCK:
        table = _TABLES.get(memo)
    if table is not None:
        return table
    table = [[_table_entry(store, key) for key in row] for row in keys]
    if all(entry is not None for row in table for entry in row):  # complete: keep it
        with _TABLES_LOCK:
            _TABLES[memo] = table
            while len(_TABLES) > TABLE_CACHE_SIZE:
                _TABLES.pop(next(iter(_TABLES)))
    return table


def _table_entry(store: RunStore, key: str | None) -> dict | None:
    cached = store.get_derived(key) if key is not None and is_current_measures(key) else None
    if cached is None:
        return None
    return {**{name: float(cached[name]) for name in SCALARS}, "overlap": cached["overlap"],
            "class_recall": cached["class_recall"]}


def curves(store: RunStore, run_id: str, layer: int) -> dict[str, list[float | None]]:
    """Per recorded epoch, each scalar measure of ``layer`` (``None`` where not measured yet)."""
    row = measure_table(store, run_id)[layer]
    return {name: [None if entry is None or not np.isfinite(entry[name]) else float(entry[name]) for entry in row]
            for name in SCALARS}


def what_changed(store: RunStore, run_id: str, layer: int, epoch: int, top: int = 10) -> dict | None:
    """The probe samples whose raw kNN neighbourhoods at ``layer`` changed most from ``epoch - 1`` to ``epoch``.

    Returns
    -------
    dict or None
        ``mean`` (the share of neighbours replaced, over all samples), ``samples``: up to ``top`` dicts of
        ``pos`` (position in the probe set), ``sample`` (index in the data set), ``change`` (share of its k
        neighbours replaced), ``label``; ``None`` at epoch 0 or when either frame is not measured.
    """
    if epoch < 1:
        return None
    tables = []
    for e in (epoch - 1, epoch):
        key = store.pointer(measures_index(run_id, layer, e))
        cached = store.get_derived(key) if key is not None else None
        if cached is None:
            return None
        tables.append(cached["knn"])
    change = neighbourhood_change(*tables)
    probe = store.probe(run_id)
    order = np.argsort(-change, kind="stable")[:top]
    return {"mean": float(change.mean()),
            "samples": [{"pos": int(i), "sample": int(probe["index"][i]), "change": float(change[i]),
                         "label": int(probe["y"][i])} for i in order if change[i] > 0]}


def run_cartography(store: RunStore, run_id: str) -> tuple[Cartography, np.ndarray] | None:
    """The data map of the run's training probe samples over epochs 1 .. last, and their positions in the probe
    set (n_train,); ``None`` for a run that records no label probabilities (a VAE, or one recorded before
    they were) or has no trained epoch yet."""
    info = store.run_info(run_id)
    if info.epochs_done < 2:
        return None
    labels = probe_labels(store, info)
    probs, correct = [], []
    for epoch in range(1, info.epochs_done):
        found = store.arrays(run_id, epoch, ["x_label_prob", "predictions"])
        if "x_label_prob" not in found or "predictions" not in found:
            return None
        probs.append(found["x_label_prob"])
        correct.append(found["predictions"] == labels.trained)
    members = np.flatnonzero(labels.fit)
    return cartography(np.stack(probs)[:, members], np.stack(correct)[:, members]), members


def correct_predictions(store: RunStore, run_id: str, trained: np.ndarray, n_epochs: int) -> np.ndarray | None:
    """Per recorded epoch and probe sample, whether the network predicts its ``trained`` label (n,):
    (n_epochs, n) bool; ``None`` when an epoch holds no predictions."""
    rows = []
    for epoch in range(n_epochs):
        predictions, _, _ = store.outputs(run_id, epoch)
        if predictions is None:
            return None
        rows.append(predictions == trained)
    return np.stack(rows)


def scrambled_fit(store: RunStore, run_id: str) -> tuple[list[float], int] | None:
    """Per recorded epoch, the share of relabelled training probe samples (trained label != true class) whose
    trained label the network predicts (memorisation), and how many they are; ``None`` when there are none
    or the run does not classify."""
    info = store.run_info(run_id)
    labels = probe_labels(store, info)
    relabelled = labels.relabelled
    if not relabelled.any() or info.config.model == "vae":
        return None
    correct = correct_predictions(store, run_id, labels.trained, info.epochs_done)
    if correct is None:
        return None
    return [float(share) for share in correct[:, relabelled].mean(axis=1)], int(relabelled.sum())


def frame_evidence(store: RunStore, run_id: str, layer: int, epoch: int) -> Evidence:
    """Everything :func:`analysis.observations.observe` needs for the frame (layer, epoch); ``KeyError`` when the
    run, layer or epoch is not recorded."""
    info = store.run_info(run_id)
    if not 0 <= layer < len(info.layer_sizes) or not 0 <= epoch < info.epochs_done:
        raise KeyError(f"frame ({layer}, {epoch}) of run {run_id!r} is not recorded")
    cka = run_cka(store, run_id)
    fit = _memo_scrambled_fit(store, info)
    return Evidence(layer=layer, epoch=epoch, layer_names=info.layer_names,
                    class_names=info.class_names or tuple(str(c) for c in range(probe_labels(store, info).n_classes)),
                    measures=measure_table(store, run_id), metrics=store.metrics(run_id),
                    cka_by_epoch=None if cka is None else cka["by_epoch"],
                    latent=info.config.latent if info.config.model == "vae" else 0,
                    scrambled_fit=None if fit is None else fit[0], n_scrambled=0 if fit is None else fit[1])


_FITS: dict[tuple, tuple[list[float], int] | None] = {}


def _memo_scrambled_fit(store: RunStore, info: RunInfo) -> tuple[list[float], int] | None:
    memo = (str(store.directory), info.run_id, info.epochs_done, info.created)
    if memo not in _FITS:
        if len(_FITS) > TABLE_CACHE_SIZE:
            _FITS.clear()
        _FITS[memo] = scrambled_fit(store, info.run_id)
    return _FITS[memo]
