"""The story of a run: its events (:mod:`analysis.events`), when each sample was learned, when each class became
linearly decodable in each layer, and two runs told against each other.

The pure part works on arrays (:func:`series_from_frames` measures a sequence of activations the way the
background job does, for tests and for activations from anywhere); :func:`run_story` reads a run's measures,
CKA, metrics and records from the store, all computed by the background job, and is kept per process while the
run does not change.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from analysis.events import DEAD_STD, KINDS, Event, RunSeries, run_events, stays_from
from analysis.measures import ProbeLabels, measure_frame
from analysis.representation import cka_matrix
from analysis.stage import correct_predictions, measure_table, probe_labels, run_cka
from derived.keys import measures_index
from models.store import RunStore

#: a class is linearly decodable in a layer from the first epoch after which the held-out probe's recall of it
#: stays at or above this
DECODABLE_RECALL = 0.8
#: two runs learned a sample "much" apart when their learned epochs differ by at least this many epochs
LEARNED_GAP = 5
#: samples ringed on the map for an event, at most
RINGED = 60


def learned_epochs(correct: np.ndarray) -> np.ndarray:
    """Per sample, the first epoch from which it stays correctly classified to the end; NaN for one wrong at the
    last epoch. ``correct`` (epochs, n) bool; returns (n,) float."""
    out = stays_from(correct).astype(np.float64)
    out[out == len(correct)] = np.nan
    return out


def decodable_epochs(recall: np.ndarray, threshold: float = DECODABLE_RECALL) -> np.ndarray:
    """Per class, the first epoch from which ``recall`` (epochs, n_classes) stays at or above ``threshold``;
    NaN for a class below it at the last epoch (or never measured)."""
    return learned_epochs(np.nan_to_num(np.asarray(recall, dtype=np.float64), nan=-1.0) >= threshold)


def dead_units(X: np.ndarray) -> np.ndarray:
    """Which units of activations ``X`` (n, units) are dead: constant over the samples (:data:`DEAD_STD`)."""
    return np.asarray(X, dtype=np.float64).std(axis=0) <= DEAD_STD


def series_from_frames(layers: Sequence[Sequence[np.ndarray]], labels: ProbeLabels, *,
                       layer_names: Sequence[str] | None = None, class_names: Sequence[str] | None = None,
                       metrics: Sequence[dict[str, float]] = (), kl_dim: np.ndarray | None = None
                       ) -> tuple[RunSeries, np.ndarray]:
    """Measure a run's activations as the background job does and gather its series.

    Parameters
    ----------
    layers : sequence of sequence of ndarray
        ``layers[l][t]``: layer l's activations at epoch t, (n, units_l).
    labels : ProbeLabels
    layer_names, class_names : sequence of str, optional
    metrics, kl_dim
        As :class:`analysis.events.RunSeries`.

    Returns
    -------
    series : RunSeries
    class_recall : ndarray of shape (layers, epochs, n_classes)
    """
    table: list[list[dict | None]] = []
    for frames in layers:
        row: list[dict | None] = []
        weights = None
        for X in frames:
            measures, weights = measure_frame(X, labels, probe_init=weights)
            row.append(measures)
        table.append(row)
    cka = [cka_matrix(list(frames))[:, -1] for frames in layers]
    dead = [np.stack([dead_units(X) for X in frames]) for frames in layers]
    names = layer_names or [f"h{i + 1}" for i in range(len(layers))]
    classes = class_names or [str(c) for c in range(labels.n_classes)]
    return _series(table, names, classes, np.array(cka), metrics, None, 0, kl_dim, dead), \
        np.array([[entry["class_recall"] for entry in row if entry is not None] for row in table])


def _series(table: list[list[dict | None]], layer_names, class_names, cka_to_final, metrics, fit, n_scrambled,
            kl_dim, dead) -> RunSeries:
    n_classes = len(class_names)

    def scalar(name: str) -> np.ndarray:
        return np.array([[np.nan if e is None else float(e[name]) for e in row] for row in table])

    overlap = [np.stack([np.full((n_classes, n_classes), np.nan) if e is None else e["overlap"] for e in row])
               for row in table] if table and table[0] else None
    return RunSeries(layer_names=list(layer_names), class_names=list(class_names), overlap=overlap,
                     probe_acc=scalar("probe_acc"), probe_chance=scalar("probe_chance"), twonn=scalar("twonn"),
                     cka_to_final=cka_to_final, metrics=list(metrics),
                     scrambled_fit=None if fit is None else np.asarray(fit), n_scrambled=n_scrambled,
                     kl_dim=kl_dim, dead=dead)


@dataclass(frozen=True)
class Story:
    """What :func:`run_story` tells of a run.

    Attributes
    ----------
    run_id : str
    events : list of Event
        Most salient first, with the samples each involves (probe positions).
    learned : ndarray of shape (n_probe,), float
        Per probe sample, the epoch from which it stays correctly classified (as trained); NaN if not by the
        end, or for a model that does not classify.
    decodable : ndarray of shape (layers, n_classes), float
        Per layer and class, the epoch from which the held-out probe's recall stays >= :data:`DECODABLE_RECALL`;
        NaN if not by the end.
    layer_names, class_names : list of str
    n_epochs : int
    series : RunSeries
    """

    run_id: str
    events: list[Event]
    learned: np.ndarray
    decodable: np.ndarray
    layer_names: list[str]
    class_names: list[str]
    n_epochs: int
    series: RunSeries


def _kl_dim(store: RunStore, run_id: str, n_epochs: int) -> np.ndarray | None:
    try:
        return np.stack([store.extras(run_id, epoch, ["kl_dim"])["kl_dim"] for epoch in range(n_epochs)])
    except KeyError:  # recorded before the KL per latent was
        return None


def learned_of(store: RunStore, run_id: str) -> np.ndarray | None:
    """Per probe sample of a stored run, :func:`learned_epochs` over its recorded epochs, (n_probe,) float (NaN:
    not learned by its last epoch); ``None`` for a model that does not classify or a run with no epoch yet."""
    info = store.run_info(run_id)
    if info.config.model == "vae" or info.epochs_done < 1:
        return None
    correct = correct_predictions(store, run_id, probe_labels(store, info).trained, info.epochs_done)
    return None if correct is None else learned_epochs(correct)


def _boundary(knn: np.ndarray, labels: np.ndarray, a: int, b: int) -> np.ndarray:
    """Probe positions of class a's samples with a class-b neighbour and class b's with a class-a one, in
    ``knn`` (n, k): where two classes meet."""
    near = labels[knn]
    meets = ((labels == a) & (near == b).any(axis=1)) | ((labels == b) & (near == a).any(axis=1))
    return np.flatnonzero(meets)


def _with_samples(event: Event, knn_at, labels: ProbeLabels, correct_scrambled: np.ndarray | None) -> Event:
    """The event with the samples it involves: where the two classes meet (at the event's epoch for a merge, the
    epoch before for a separation), or the relabelled samples first fitted to their scrambled label."""
    samples: np.ndarray | None = None
    if event.kind in ("merged", "separated") and event.layer is not None:
        knn = knn_at(event.layer, event.epoch if event.kind == "merged" else event.epoch - 1)
        if knn is not None:
            samples = _boundary(knn, labels.trained, *event.classes)
    elif event.kind == "memorised" and correct_scrambled is not None:
        now, before = correct_scrambled[event.epoch], correct_scrambled[event.epoch - 1]
        samples = np.flatnonzero(now & ~before)
    if samples is None or not len(samples):
        return event
    picked = samples if len(samples) <= RINGED else np.sort(np.random.default_rng(0).choice(samples, RINGED, False))
    return replace(event, samples=tuple(int(s) for s in picked))


_STORIES: dict[tuple, Story] = {}
_STORIES_LOCK = threading.Lock()


def run_story(store: RunStore, run_id: str) -> Story | None:
    """The story of a run from what the background job stored; ``None`` while any frame is unmeasured or its
    CKA is missing (the story is of the whole run: it waits for all of it)."""
    info = store.run_info(run_id)
    memo = (str(store.directory), run_id, info.epochs_done, info.created, info.state)
    with _STORIES_LOCK:
        if memo in _STORIES:
            return _STORIES[memo]
    table = measure_table(store, run_id)
    cka = run_cka(store, run_id)
    if info.epochs_done < 2 or cka is None or any(entry is None for row in table for entry in row):
        return None
    labels = probe_labels(store, info)
    class_names = list(info.class_names or [str(c) for c in range(labels.n_classes)])
    n_epochs = info.epochs_done
    dead = [np.stack([dead_units(store.activations(run_id, e, layer)) for e in range(n_epochs)])
            for layer in range(len(info.layer_sizes))]
    vae = info.config.model == "vae"
    correct = None if vae else correct_predictions(store, run_id, labels.trained, n_epochs)
    relabelled = labels.relabelled
    scrambled = None if correct is None or not relabelled.any() else correct & relabelled[None, :]
    # the relabelled samples' fit to their scrambled labels (as analysis.stage.scrambled_fit), from the predictions
    # read once for the learned epochs
    fit = None if scrambled is None or correct is None else correct[:, relabelled].mean(axis=1)
    series_metrics = store.metrics(run_id)
    series = replace(_series(table, info.layer_names, class_names, cka["by_epoch"][:, :, -1], series_metrics,
                             fit, int(relabelled.sum()) if fit is not None else 0,
                             _kl_dim(store, run_id, n_epochs) if vae else None, dead),
                     latent_layer=len(info.layer_sizes) - 1 if vae else None, steps=info.steps(series_metrics))

    def knn_at(layer: int, epoch: int) -> np.ndarray | None:
        return None if epoch < 0 else _knn(store, run_id, layer, epoch)

    events = [_with_samples(e, knn_at, labels, scrambled) for e in run_events(series)]
    learned = learned_epochs(correct) if correct is not None else np.full(len(labels.true), np.nan)
    recall = np.array([[entry["class_recall"] for entry in row if entry is not None] for row in table])
    story = Story(run_id=run_id, events=events, learned=learned,
                  decodable=np.stack([decodable_epochs(r) for r in recall]), layer_names=list(info.layer_names),
                  class_names=class_names, n_epochs=n_epochs, series=series)
    if info.state in ("complete", "diverged", "failed", "interrupted"):
        with _STORIES_LOCK:
            if len(_STORIES) > 16:
                _STORIES.clear()
            _STORIES[memo] = story
    return story


def _knn(store: RunStore, run_id: str, layer: int, epoch: int) -> np.ndarray | None:
    key = store.pointer(measures_index(run_id, layer, epoch))
    cached = store.get_derived(key) if key is not None else None
    return None if cached is None else cached["knn"]


def filtered(events: Sequence[Event], layers: Sequence[int] | None = None, kinds: Sequence[str] | None = None
             ) -> list[Event]:
    """The events of the given layers (``-1`` for the whole network's) and kinds; ``None``: all."""
    keep_layers = None if layers is None else {(-1 if layer is None else layer) for layer in layers}
    return [e for e in events
            if (keep_layers is None or (-1 if e.layer is None else e.layer) in keep_layers)
            and (kinds is None or e.kind in kinds)]


def summary(story: Story, top: int = 8) -> list[str]:
    """The story in sentences: the run in one line per kind of event (how many, in which layers, over which
    epochs), then the ``top`` most salient events in full."""
    lines = []
    if not story.events:
        lines.append("No event cleared its threshold: no class pair separated or merged, no layer settled before "
                     "its last epoch, no probe jump, no change of intrinsic dimension, no loss spike or plateau.")
    for kind, label in KINDS.items():
        of_kind = [e for e in story.events if e.kind == kind]
        if not of_kind:
            continue
        epochs = sorted(e.epoch for e in of_kind)
        where = sorted({story.layer_names[e.layer] for e in of_kind if e.layer is not None})
        span = f"epoch {epochs[0]}" if epochs[0] == epochs[-1] else f"epochs {epochs[0]}-{epochs[-1]}"
        lines.append(f"{label.capitalize()}: {len(of_kind)} event{'s' if len(of_kind) > 1 else ''}, {span}"
                     + (f", in {', '.join(where)}" if where else "") + ".")
    learned = story.learned[np.isfinite(story.learned)]
    if len(learned):
        lines.append(f"Samples learned for good: half by epoch {np.median(learned):.0f}, 90% by epoch "
                     f"{np.quantile(learned, 0.9):.0f}; {int(np.isnan(story.learned).sum())} of "
                     f"{len(story.learned)} not by the end.")
    lines += [e.text for e in story.events[:top]]
    return lines


@dataclass(frozen=True)
class Comparison:
    """Two runs' stories told against each other (same probe samples).

    Attributes
    ----------
    earlier_in_a, earlier_in_b : ndarray of int
        Probe positions of the samples learned at least :data:`LEARNED_GAP` epochs earlier in run a (b) than in
        the other, or learned in it and not in the other; most apart first.
    pairs_only_a, pairs_only_b : list of (int, int)
        Class pairs that separated in some layer of one run and in none of the other.
    """

    earlier_in_a: np.ndarray
    earlier_in_b: np.ndarray
    pairs_only_a: list[tuple[int, int]]
    pairs_only_b: list[tuple[int, int]]


def compare_stories(a: Story, b: Story) -> Comparison:
    """What run ``a`` learned earlier than ``b`` and the reverse, and which class pairs separate in only one
    (``ValueError`` when their probe sets differ in size)."""
    if len(a.learned) != len(b.learned):
        raise ValueError(f"the runs have different probe sets ({len(a.learned)} and {len(b.learned)} samples)")
    never = max(a.n_epochs, b.n_epochs) + LEARNED_GAP  # not learned: counted as later than any epoch
    la, lb = np.nan_to_num(a.learned, nan=never), np.nan_to_num(b.learned, nan=never)
    gap = lb - la

    def earlier(sign: int) -> np.ndarray:
        picked = np.flatnonzero(sign * gap >= LEARNED_GAP)
        return picked[np.argsort(-sign * gap[picked], kind="stable")]

    def separated(story: Story) -> set[tuple[int, int]]:
        return {tuple(e.classes) for e in story.events if e.kind == "separated"}  # type: ignore[misc]

    sa, sb = separated(a), separated(b)
    return Comparison(earlier(1), earlier(-1), sorted(sa - sb), sorted(sb - sa))
