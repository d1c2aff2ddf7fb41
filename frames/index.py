"""Which sequences a layer of a run can be shown as, and how much of each is laid out (index lookups only)."""

from __future__ import annotations

from dataclasses import replace

from derived.keys import baseline_sequence
from layout_engine.baselines import BASELINES
from layout_engine.params import LayoutParams
from models.store import RunInfo, RunStore

#: layout methods the map offers: ours, or a reference tool behind :data:`layout_engine.baselines.BASELINES`
METHODS = ("ours", *BASELINES)
#: the sequences a layer can be shown as: (graph mode, method)
SEQUENCES = (("knn", "ours"), ("bipartite", "ours"), *(("knn", m) for m in BASELINES))


def sequence_id(params: LayoutParams, method: str = "ours") -> str:
    """The name of a layer's sequence of frames in the store's frame index: our layout's parameters' digest
    (graph mode included), or a reference tool and its version."""
    return params.digest() if method == "ours" else baseline_sequence(method)


def indexed_layout(store: RunStore, run_id: str, params: LayoutParams, layer: int, epoch: int,
              method: str = "ours") -> str | None:
    """The derived key of the layout indexed as this frame, or ``None`` while it is not laid out."""
    return store.indexed_frame(run_id, sequence_id(params, method), layer, epoch)


def count_ready(store: RunStore, info: RunInfo, params: LayoutParams, *, layers: list[int] | None = None,
                method: str = "ours") -> int:
    """Number of (layer, epoch) frames of the run (or of ``layers``) laid out by ``method``."""
    chosen = range(len(info.layer_sizes)) if layers is None else layers
    sequence = sequence_id(params, method)
    return sum(store.indexed_frame(info.run_id, sequence, layer, epoch) is not None
               for layer in chosen for epoch in range(info.epochs_done))


def readiness(store: RunStore, run_id: str, params: LayoutParams) -> dict[tuple[str, str], list[int]]:
    """Frames laid out so far per sequence of :data:`SEQUENCES` ((graph, method) -> count per layer), out of the
    run's recorded epochs; key lookups only, no frame is read."""
    info = store.run_info(run_id)
    return {(graph, method): [count_ready(store, info, replace(params, graph=graph), layers=[layer], method=method)
                              for layer in range(len(info.layer_sizes))]
            for graph, method in SEQUENCES}
