"""A recorded run's frames laid out in one go: a chain per layer, in parallel processes at large n; and the same
run laid out by a reference tool (UMAP, t-SNE, PCA), one epoch at a time."""

from __future__ import annotations

import logging
import multiprocessing
import os
import time

import numpy as np

from derived.keys import baseline_key
from frames.chains import LAYOUT, lay_out_chain, outward
from frames.index import count_ready, sequence_id
from frames.scores import ensure_scores, frame_box, score_labels
from layout_engine.align import align_to, normalize
from layout_engine.baselines import BASELINES
from layout_engine.params import LayoutParams
from models.progress import Reporter
from models.store import RunInfo, RunStore

logger = logging.getLogger(__name__)

#: a run's layers are laid out in parallel chains (one process each) from this many probe samples on; below
#: it a process's start-up (2-3 s of imports) costs more than the chains save
PARALLEL_MIN_SAMPLES = 10_000
#: threads each chain process keeps: the force kernel already uses every core it is given, and on 2 cores
#: two chains of one thread were slower than one chain of two (MNIST-1D, n = 50,000: 6.3 against 5.3 s per
#: frame, and each process compiles pynndescent once)
CHAIN_THREADS = 2


def chain_workers(n_samples: int, n_layers: int, cores: int | None = None) -> int:
    """How many processes lay out a run's layer chains: one below :data:`PARALLEL_MIN_SAMPLES` samples, else
    one per :data:`CHAIN_THREADS` cores, at most one per layer; one in a daemonic process (a Celery pool's),
    which may not start processes of its own."""
    cores = (os.cpu_count() or 1) if cores is None else cores
    if n_samples < PARALLEL_MIN_SAMPLES or multiprocessing.current_process().daemon:
        return 1
    return max(1, min(n_layers, cores // CHAIN_THREADS))


def compute_frames(store: RunStore, info: RunInfo, params: LayoutParams, report: Reporter | None = None,
                   *, layers: list[int] | None = None, workers: int | None = None) -> int:
    """Lay out every (layer, epoch) frame of a run (or of ``layers``), each layer a chain of epochs, each epoch
    warm-started from the last, as ``params.graph`` says (sample kNN graph, or neuron x sample graph: samples
    first).

    Chains are independent: with ``workers`` > 1 (default :func:`chain_workers`) they run in that many spawned
    processes at once, each with its share of the cores, writing to the same store. Frames already cached are
    loaded, not recomputed. Returns the number of frames ready; stops early (with the frames so far kept) when
    ``report`` returns True.
    """
    layers = list(range(len(info.layer_sizes))) if layers is None else layers
    total = len(layers) * info.epochs_done
    if workers is None:
        workers = chain_workers(len(store.probe(info.run_id)["y"]), len(layers))
    if workers > 1 and len(layers) > 1:
        return _parallel_chains(store, info, params, report, layers, workers)
    done = 0
    for layer in layers:
        for _ in lay_out_chain(store, info, params, layer):
            done += 1
            if report is not None and report(LAYOUT, done, total):
                logger.info("Frame computation of %s stopped at %d/%d", info.run_id, done, total)
                return count_ready(store, info, params, layers=layers)
    return done


def _chain_process(directory: str, size_limit: int, info: RunInfo, params: LayoutParams, layers: list[int],
                   threads: int) -> None:
    """Entry of a spawned chain process: lay out ``layers`` of ``info``'s epochs one after the other on
    ``threads`` threads."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    import numba

    numba.set_num_threads(max(1, min(threads, numba.get_num_threads())))
    store = RunStore(directory, size_limit=size_limit)
    try:
        for layer in layers:
            for _ in lay_out_chain(store, info, params, layer):
                pass
    finally:
        store.close()


def _parallel_chains(store: RunStore, info: RunInfo, params: LayoutParams, report: Reporter | None,
                     layers: list[int], workers: int, *, poll_s: float = 0.5) -> int:
    """Lay out ``layers`` in ``workers`` spawned processes (layers dealt round-robin), following their progress
    in the store; a stop asked by ``report`` terminates them (every stored frame is whole: one write each)."""
    context = multiprocessing.get_context("spawn")
    threads = max(1, (os.cpu_count() or 1) // workers)
    processes = [context.Process(target=_chain_process, daemon=False, name=f"chain-{i}",
                                 args=(str(store.directory), store.size_limit, info, params, layers[i::workers],
                                       threads))
                 for i in range(workers)]
    for process in processes:
        process.start()
    total = len(layers) * info.epochs_done
    try:
        while True:
            alive = [p for p in processes if p.is_alive()]
            done = count_ready(store, info, params, layers=layers)
            if report is not None and report(LAYOUT, done, total):
                logger.info("Frame computation of %s stopped at %d/%d", info.run_id, done, total)
                return done
            if not alive:
                break
            time.sleep(poll_s)
        failed = [p.name for p in processes if p.exitcode != 0]
        if failed:
            raise RuntimeError(f"laying out {info.run_id} failed in {', '.join(failed)} (see the log above)")
        return count_ready(store, info, params, layers=layers)
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
            process.join()


def compute_baseline_frames(store: RunStore, info: RunInfo, layer: int, method: str,
                            report: Reporter | None = None, *, anchor: int = 0) -> int:
    """Lay out one layer's epochs with a reference tool (``umap``, ``tsne``, ``pca``), each epoch on its own as
    the tool does, from epoch ``anchor`` (the one on show) outwards (:func:`~frames.chains.outward`), each
    Procrustes-aligned for display to its neighbour towards the anchor (the fairest steady view a per-frame tool
    allows). Cached like our frames; returns the number ready; stops when ``report`` says so."""
    if method not in BASELINES:
        raise ValueError(f"method must be one of {', '.join(BASELINES)}, got {method!r}")
    labels = score_labels(store.probe(info.run_id))
    sequence = sequence_id(LayoutParams(), method)
    shown: dict[int, np.ndarray] = {}
    order = outward(anchor, info.epochs_done - 1) if info.epochs_done else []
    for done, epoch in enumerate(order, start=1):
        X = store.activations(info.run_id, epoch, layer)
        key = baseline_key(X, method)
        cached = store.get_derived(key)
        if cached is None:
            coords = BASELINES[method](X, random_state=0)
            towards = epoch - 1 if epoch > order[0] else epoch + 1
            display = align_to(coords, shown[towards]) if towards in shown else normalize(coords)
            cached = {"raw": coords, "display": display, "churn": np.array(np.nan)}
            store.put_derived(key, cached)
        ensure_scores(store, key, X, cached["display"], labels)
        frame_box(store, key, cached["display"])
        shown[epoch] = cached["display"]
        store.index_frame(info.run_id, sequence, layer, epoch, key)
        if report is not None and report(LAYOUT, done, info.epochs_done):
            return done
    return len(order)
