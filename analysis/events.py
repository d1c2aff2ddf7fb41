"""Events over a whole run, found in its measures by thresholds stated here: when two classes came apart or
merged and in which layer, when a layer settled, when a layer's probe accuracy jumped, when its intrinsic
dimension changed, loss spikes and plateaus, the onset of overfitting, when scrambled samples began to be
memorised, when each VAE latent collapsed, when units died. Pure: :class:`RunSeries` in, :class:`Event` out.

Each event names its epoch, its layer (``None`` for the whole network), what it involves (classes, units,
latents), the number it rests on and the threshold that number cleared; a run in which no number clears its
threshold has no event. :func:`run_events` ranks them by salience: how far past its threshold the number went
(capped at :data:`MAX_SALIENCE`), so a large, clean change comes before a marginal one whatever its kind.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from analysis.observations import MEMORISED_RISE, NO_SEPARATION_OVER_CHANCE, SETTLED_CKA
from models.vae import ACTIVE_THRESHOLD

#: a pair of classes is mixed while it shares at least MIXED_OVERLAP of its neighbour slots
#: (:func:`analysis.representation.class_overlap`) and apart at APART_OVERLAP or less; an event is a move from one
#: state to the other (in between, a pair keeps the state it had: hysteresis, so noise at a threshold is no event)
MIXED_OVERLAP, APART_OVERLAP = 0.10, 0.02
#: a layer's held-out probe accuracy jumped (or dropped) at t when its mean over the PROBE_WINDOW epochs from t
#: differs by PROBE_JUMP from its mean over the PROBE_WINDOW epochs before, and the higher side reads the labels
#: (NO_SEPARATION_OVER_CHANCE above chance), and the change is PROBE_SIGMAS times the noise of such a difference
#: (the accuracy's epoch-to-epoch noise estimated from the median absolute step: a held-out set of 50 samples reads
#: chance +-7 points)
PROBE_JUMP, PROBE_WINDOW, PROBE_SIGMAS = 0.10, 3, 4.0
#: a change point of a layer's intrinsic dimension (TwoNN): the means of the segments on either side (each of
#: DIMENSION_SEGMENT epochs or more) differ by DIMENSION_CHANGE of the earlier one and by DIMENSION_T pooled
#: standard deviations
DIMENSION_CHANGE, DIMENSION_T, DIMENSION_SEGMENT = 0.25, 4.0, 3
#: a loss spike: the training loss rose by LOSS_SPIKE of the lowest of the LOSS_WINDOW epochs before
LOSS_SPIKE, LOSS_WINDOW = 0.25, 3
#: a plateau: at least PLATEAU_EPOCHS epochs in which the training loss fell by less than PLATEAU_STEP of itself
#: per epoch, after it had fallen by PLATEAU_ESCAPE since epoch 0 and before it fell by PLATEAU_ESCAPE again
PLATEAU_STEP, PLATEAU_EPOCHS, PLATEAU_ESCAPE = 0.01, 5, 0.10
#: the onset of overfitting: the epoch of the lowest test loss, when the last epoch's test loss is OVERFIT_RISE
#: above it while the training loss went on falling
OVERFIT_RISE = 0.10
#: a unit is dead at an epoch when its activation varies by no more than this over the probe samples; a death
#: event's salience is the share of the layer that died over DEAD_SHARE
DEAD_STD, DEAD_SHARE = 1e-6, 0.05
#: the most an event's salience counts (its number over its threshold)
MAX_SALIENCE = 10.0

#: every kind of event -> what the timeline's legend calls it
KINDS = {"merged": "classes merged", "separated": "classes separated", "settled": "layer settled",
         "probe_jump": "probe accuracy jumped", "probe_drop": "probe accuracy dropped",
         "dimension": "intrinsic dimension changed", "loss_spike": "loss spike", "plateau": "loss plateau",
         "overfitting": "overfitting began", "memorised": "scrambled samples memorised",
         "latent_collapse": "latent collapsed", "unit_death": "units died"}


@dataclass(frozen=True)
class Event:
    """One thing that happened in a run.

    Attributes
    ----------
    kind : str
        One of :data:`KINDS`.
    epoch : int
        The epoch it happened at (the first epoch in its new state).
    layer : int or None
        The hidden layer, ``None`` for the whole network (loss, overfitting, memorisation, a VAE's latents).
    value : float
        The number it rests on (an overlap, a CKA, an accuracy change, ...), as :attr:`text` states it.
    threshold : float
        The threshold that number cleared.
    salience : float
        How far past its threshold, in (0, :data:`MAX_SALIENCE`]: the ranking key.
    text : str
        One sentence naming the epoch, the layer, what is involved, the number and the threshold.
    classes, units, latents : tuple of int
        What it involves.
    samples : tuple of int
        Probe positions of the samples it involves (attached by :func:`analysis.story.run_story`).
    """

    kind: str
    epoch: int
    layer: int | None
    value: float
    threshold: float
    salience: float
    text: str
    classes: tuple[int, ...] = ()
    units: tuple[int, ...] = ()
    latents: tuple[int, ...] = ()
    samples: tuple[int, ...] = field(default=(), compare=False)

    def as_dict(self) -> dict:
        """The event as JSON-ready values (tuples as lists)."""
        return {key: list(value) if isinstance(value, tuple) else value for key, value in asdict(self).items()}


@dataclass(frozen=True)
class RunSeries:
    """A run's measures over its epochs, what :func:`run_events` reads; any part may be missing (``None``).

    Attributes
    ----------
    layer_names, class_names : sequence of str
    overlap : list of ndarray, each (epochs, n_classes, n_classes), or None
        Per layer, the raw-space class overlap at each epoch (NaN where not measured).
    probe_acc, probe_chance : ndarray of shape (layers, epochs), optional
        Held-out linear probe accuracy and the chance it is read against.
    twonn : ndarray of shape (layers, epochs), optional
        Intrinsic dimension.
    cka_to_final : ndarray of shape (layers, epochs), optional
        Each layer's linear CKA with its own final epoch.
    metrics : list of dict
        Per epoch: ``train_loss``, ``test_loss`` and, where recorded, the rest.
    scrambled_fit : ndarray of shape (epochs,), optional
        The share of relabelled training samples predicted as their scrambled label; ``n_scrambled`` of them.
    kl_dim : ndarray of shape (epochs, latent), optional
        A VAE's KL per latent (nats), averaged over the probe.
    dead : list of ndarray, each (epochs, units) bool, optional
        Per layer, which units are dead at each epoch (:data:`DEAD_STD`).
    steps : sequence of int, optional
        For a run recorded by steps, each record's training step: events name their step.
    latent_layer : int, optional
        A VAE's latent layer (its posterior means): no class pair event is read there at an epoch where no latent
        carries information (every KL below :data:`models.vae.ACTIVE_THRESHOLD`), since the neighbourhoods of a
        collapsed posterior's near-constant means are rounding the decoder ignores.
    """

    layer_names: Sequence[str]
    class_names: Sequence[str]
    overlap: list[np.ndarray] | None = None
    probe_acc: np.ndarray | None = None
    probe_chance: np.ndarray | None = None
    twonn: np.ndarray | None = None
    cka_to_final: np.ndarray | None = None
    metrics: Sequence[dict[str, float]] = ()
    scrambled_fit: np.ndarray | None = None
    n_scrambled: int = 0
    kl_dim: np.ndarray | None = None
    dead: list[np.ndarray] | None = None
    steps: Sequence[int] | None = None
    latent_layer: int | None = None


def when(series: RunSeries, t: int, capital: bool = False) -> str:
    """Record ``t`` as a sentence names it: ``epoch t``, or ``step s`` for a run recorded by steps."""
    text = f"step {series.steps[t]}" if series.steps is not None and t < len(series.steps) else f"epoch {t}"
    return text.capitalize() if capital else text


def stays_from(flags: np.ndarray) -> np.ndarray:
    """Per column of ``flags`` (epochs, ...) bool, the first epoch from which it stays True to the last epoch:
    0 when always True, ``epochs`` when False at the last. Settling, a latent's collapse, a unit's death and a
    sample's learning are each this of their own condition."""
    flags = np.asarray(flags, dtype=bool)
    unset = ~flags
    return np.where(unset.any(axis=0), len(flags) - np.argmax(unset[::-1], axis=0), 0)


def _salience(ratio: float) -> float:
    return float(min(MAX_SALIENCE, max(abs(ratio), 1e-9)))


def _class(series: RunSeries, c: int) -> str:
    return str(series.class_names[c]) if c < len(series.class_names) else str(c)


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def pair_events(series: RunSeries) -> list[Event]:
    """Class pairs that separate (mixed -> apart) or merge (apart -> mixed), per layer, in raw space."""
    out: list[Event] = []
    for layer, overlap in enumerate(series.overlap or []):
        if layer == series.latent_layer and series.kl_dim is not None:
            silent = np.asarray(~(np.asarray(series.kl_dim) >= ACTIVE_THRESHOLD).any(axis=1))  # (epochs,): collapsed
            overlap = np.where(silent[:len(overlap), None, None], np.nan, overlap)
        n_classes = overlap.shape[1]
        for a in range(n_classes):
            for b in range(a + 1, n_classes):
                out += _pair_transitions(series, layer, a, b, overlap[:, a, b])
    return out


def _pair_transitions(series: RunSeries, layer: int, a: int, b: int, values: np.ndarray) -> list[Event]:
    out, state, peak, low = [], None, 0.0, 1.0
    name = series.layer_names[layer]
    for t, v in enumerate(values):
        if not np.isfinite(v):
            continue
        if v >= MIXED_OVERLAP and state != "mixed":
            if state == "apart":
                out.append(Event("merged", t, layer, float(v), MIXED_OVERLAP, _salience((v - low) / MIXED_OVERLAP),
                                 f"{name}, {when(series, t)}: classes {_class(series, a)} and "
                                 f"{_class(series, b)} merged: "
                                 f"they share {_pct(v)} of their neighbour slots (was {_pct(low)}; mixed from "
                                 f"{_pct(MIXED_OVERLAP)}).", classes=(a, b)))
            state, peak = "mixed", v
        elif v <= APART_OVERLAP and state != "apart":
            if state == "mixed":
                out.append(Event("separated", t, layer, float(v), APART_OVERLAP,
                                 _salience((peak - v) / MIXED_OVERLAP),
                                 f"{name}, {when(series, t)}: classes {_class(series, a)} and "
                                 f"{_class(series, b)} separated: "
                                 f"they share {_pct(v)} of their neighbour slots (was {_pct(peak)}; apart at "
                                 f"{_pct(APART_OVERLAP)} or less).", classes=(a, b)))
            state, low = "apart", v
        peak, low = max(peak, v) if state == "mixed" else peak, min(low, v) if state == "apart" else low
    return out


def settling_events(series: RunSeries) -> list[Event]:
    """Per layer, the first epoch from which its CKA with its final epoch stays at or above
    :data:`~analysis.observations.SETTLED_CKA` (none when that is only the final epoch, or epoch 0)."""
    if series.cka_to_final is None:
        return []
    out = []
    for layer, to_final in enumerate(np.asarray(series.cka_to_final, dtype=np.float64)):
        settled = int(stays_from(np.nan_to_num(to_final, nan=0.0) >= SETTLED_CKA))
        if 1 <= settled <= len(to_final) - 2:
            out.append(Event("settled", settled, layer, float(to_final[settled]), SETTLED_CKA, 1.0,
                             f"{series.layer_names[layer]} settled at {when(series, settled)}: its CKA with its "
                             f"final epoch "
                             f"stays at or above {SETTLED_CKA:g} from there (CKA {to_final[settled]:.3f}).",))
    return out


def _peaks(score: np.ndarray, threshold: float, reach: int) -> list[int]:
    """Indices where ``|score|`` clears ``threshold`` and is the largest within ``reach`` either side."""
    magnitude = np.nan_to_num(np.abs(score), nan=0.0)
    out: list[int] = []
    for t in np.argsort(-magnitude, kind="stable"):
        if magnitude[t] < threshold:
            break
        if all(abs(int(t) - p) > reach for p in out):
            out.append(int(t))
    return sorted(out)


def probe_events(series: RunSeries) -> list[Event]:
    """Jumps and drops of each layer's held-out probe accuracy (window means :data:`PROBE_WINDOW` wide)."""
    if series.probe_acc is None:
        return []
    out = []
    for layer, acc in enumerate(np.asarray(series.probe_acc, dtype=np.float64)):
        chance = np.asarray(series.probe_chance, dtype=np.float64)[layer] if series.probe_chance is not None \
            else np.zeros_like(acc)
        change = np.full(len(acc), np.nan)
        before_after = {}
        for t in range(1, len(acc) - PROBE_WINDOW + 1):
            before, after = acc[max(0, t - PROBE_WINDOW):t], acc[t:t + PROBE_WINDOW]
            if np.isfinite(before).all() and np.isfinite(after).all():
                change[t] = after.mean() - before.mean()
                before_after[t] = (before.mean(), after.mean())
        steps = np.abs(np.diff(acc))
        noise = 1.4826 * float(np.nanmedian(steps)) / np.sqrt(2.0) if np.isfinite(steps).any() else 0.0
        threshold = max(PROBE_JUMP, PROBE_SIGMAS * noise * np.sqrt(2.0 / PROBE_WINDOW))
        for t in _peaks(change, threshold, PROBE_WINDOW):
            before, after = before_after[t]
            near_chance = float(np.nanmean(chance[max(0, t - PROBE_WINDOW):t + PROBE_WINDOW]))
            if max(before, after) - near_chance < NO_SEPARATION_OVER_CHANCE:
                continue
            kind = "probe_jump" if change[t] > 0 else "probe_drop"
            verb = "jumped" if change[t] > 0 else "dropped"
            out.append(Event(kind, t, layer, float(change[t]), threshold, _salience(change[t] / threshold),
                             f"{series.layer_names[layer]}, {when(series, t)}: its linear probe accuracy {verb} from "
                             f"{_pct(before)} to {_pct(after)} ({100 * change[t]:+.1f} points over "
                             f"{PROBE_WINDOW}-epoch means; threshold {100 * threshold:.0f} points)."))
    return out


def _change_points(values: np.ndarray, lo: int, hi: int, depth: int) -> list[tuple[int, float, float, float]]:
    """Binary segmentation of ``values[lo:hi]``: (epoch, mean before, mean after, t statistic) of each change
    point that clears the dimension thresholds."""
    best = None
    for t in range(lo + DIMENSION_SEGMENT, hi - DIMENSION_SEGMENT + 1):
        left, right = values[lo:t], values[t:hi]
        spread = np.sqrt((left.var() * len(left) + right.var() * len(right)) / (hi - lo))
        stat = abs(right.mean() - left.mean()) / max(spread, 1e-12)
        if best is None or stat > best[3]:
            best = (t, float(left.mean()), float(right.mean()), float(stat))
    if best is None or best[3] < DIMENSION_T or abs(best[2] - best[1]) < DIMENSION_CHANGE * abs(best[1]):
        return []
    if depth <= 1:
        return [best]
    return _change_points(values, lo, best[0], depth - 1) + [best] + _change_points(values, best[0], hi, depth - 1)


def dimension_events(series: RunSeries) -> list[Event]:
    """Change points of each layer's intrinsic dimension (TwoNN), by binary segmentation two levels deep."""
    if series.twonn is None:
        return []
    out = []
    for layer, values in enumerate(np.asarray(series.twonn, dtype=np.float64)):
        if not np.isfinite(values).all():
            continue
        for t, before, after, stat in _change_points(values, 0, len(values), 2):
            rel = (after - before) / max(abs(before), 1e-12)
            out.append(Event("dimension", t, layer, float(rel), DIMENSION_CHANGE, _salience(rel / DIMENSION_CHANGE),
                             f"{series.layer_names[layer]}, {when(series, t)}: its intrinsic dimension changed from "
                             f"{before:.1f} to {after:.1f} ({100 * rel:+.0f}%, {stat:.1f} standard deviations; "
                             f"thresholds {100 * DIMENSION_CHANGE:.0f}% and {DIMENSION_T:g})."))
    return out


def _series(metrics: Sequence[dict[str, float]], name: str) -> np.ndarray | None:
    if not metrics or any(name not in m for m in metrics):
        return None
    return np.array([float(m[name]) for m in metrics])


def loss_events(series: RunSeries) -> list[Event]:
    """Spikes of the training loss, plateaus it escaped, and the onset of overfitting."""
    train, test = _series(series.metrics, "train_loss"), _series(series.metrics, "test_loss")
    out: list[Event] = []
    if train is None:
        return out
    for t in range(1, len(train)):
        low = train[max(0, t - LOSS_WINDOW):t].min()
        rise = (train[t] - low) / max(abs(low), 1e-12)
        if rise >= LOSS_SPIKE:
            out.append(Event("loss_spike", t, None, float(rise), LOSS_SPIKE, _salience(rise / LOSS_SPIKE),
                             f"{when(series, t, True)}: the training loss spiked to {train[t]:.4g}, "
                             f"{100 * rise:.0f}% above its "
                             f"low of the {LOSS_WINDOW} epochs before ({low:.4g}; threshold {100 * LOSS_SPIKE:.0f}%)."))
    out += _plateaus(series, train)
    if test is not None and len(test) > 2:
        best = int(np.argmin(test))
        rise = (test[-1] - test[best]) / max(abs(test[best]), 1e-12)
        if rise >= OVERFIT_RISE and train[-1] < train[best]:
            out.append(Event("overfitting", best, None, float(rise), OVERFIT_RISE, _salience(rise / OVERFIT_RISE),
                             f"{when(series, best, True)}: overfitting began: the test loss was lowest here "
                             f"({test[best]:.4g}) and "
                             f"ended {100 * rise:.0f}% above it ({test[-1]:.4g}) while the training loss fell from "
                             f"{train[best]:.4g} to {train[-1]:.4g} (threshold {100 * OVERFIT_RISE:.0f}%)."))
    return out


def _plateaus(series: RunSeries, train: np.ndarray) -> list[Event]:
    out = []
    step = -np.diff(train) / np.maximum(np.abs(train[:-1]), 1e-12)  # step[t]: the relative fall from t to t + 1
    t = 0
    while t < len(step):
        if step[t] >= PLATEAU_STEP:
            t += 1
            continue
        end = t
        while end < len(step) and step[end] < PLATEAU_STEP:
            end += 1
        fell_before = (train[0] - train[t]) / max(abs(train[0]), 1e-12)
        fell_after = (train[t] - train[-1]) / max(abs(train[t]), 1e-12)
        if end - t >= PLATEAU_EPOCHS and fell_before >= PLATEAU_ESCAPE and fell_after >= PLATEAU_ESCAPE:
            out.append(Event("plateau", t, None, float(end - t), PLATEAU_EPOCHS, _salience(fell_after / PLATEAU_ESCAPE),
                             f"{when(series, t, True)} to {when(series, end)}: the training loss stalled near "
                             f"{train[t]:.4g} (less than "
                             f"{100 * PLATEAU_STEP:.0f}% a epoch for {end - t} epochs; threshold {PLATEAU_EPOCHS}), "
                             f"then fell {100 * fell_after:.0f}% more."))
        t = end
    return out


def memorisation_events(series: RunSeries) -> list[Event]:
    """When the relabelled samples began to be fitted to their scrambled labels: the first epoch from which the
    fit stays :data:`~analysis.observations.MEMORISED_RISE` above both chance and its low before."""
    fit = series.scrambled_fit
    if fit is None or len(fit) < 2:
        return []
    fit = np.asarray(fit, dtype=np.float64)
    chance = 1.0 / max(len(series.class_names), 2)
    for t in range(1, len(fit)):
        base = max(chance, float(fit[:t].min()))
        if (fit[t:] - base >= MEMORISED_RISE).all():
            rise = float(fit[t] - base)
            return [Event("memorised", t, None, rise, MEMORISED_RISE, _salience(rise / MEMORISED_RISE),
                          f"{when(series, t, True)}: the network began memorising scrambled labels: it predicts "
                          f"the scrambled label "
                          f"of {_pct(fit[t])} of the {series.n_scrambled} relabelled training samples from here on "
                          f"(low before {_pct(float(fit[:t].min()))}, chance {_pct(chance)}; threshold "
                          f"{100 * MEMORISED_RISE:.0f} points above both), {_pct(fit[-1])} at the end.")]
    return []


def latent_events(series: RunSeries) -> list[Event]:
    """Each VAE latent that collapsed: the first epoch from which its KL stays below
    :data:`models.vae.ACTIVE_THRESHOLD`, after it was above it."""
    if series.kl_dim is None:
        return []
    kl = np.asarray(series.kl_dim, dtype=np.float64)
    out = []
    for j in range(kl.shape[1]):
        t = int(stays_from(kl[:, j] < ACTIVE_THRESHOLD))  # 0: never active, len: active at the end
        if not 1 <= t < len(kl):
            continue
        peak = float(kl[:t, j].max())
        out.append(Event("latent_collapse", t, None, float(kl[t, j]), ACTIVE_THRESHOLD,
                         _salience(peak / (MAX_SALIENCE * ACTIVE_THRESHOLD)),
                         f"{when(series, t, True)}: latent z{j} collapsed: its KL fell to {kl[t, j]:.4f} nats "
                         f"and stays below "
                         f"{ACTIVE_THRESHOLD:g} (it carried up to {peak:.3f} nats before).", latents=(j,)))
    return out


def unit_events(series: RunSeries) -> list[Event]:
    """Units that died (alive, then dead to the end), grouped per layer and epoch."""
    out = []
    for layer, dead in enumerate(series.dead or []):
        dead = np.asarray(dead, dtype=bool)
        if len(dead) < 2:
            continue
        since = stays_from(dead)  # 0 if never alive: no event; len(dead) if alive at the end
        for t in np.unique(since[(since >= 1) & (since < len(dead))]):
            units = tuple(int(u) for u in np.flatnonzero(since == t))
            share = len(units) / dead.shape[1]
            shown = ", ".join(str(u) for u in units[:8]) + (" ..." if len(units) > 8 else "")
            out.append(Event("unit_death", int(t), layer, float(len(units)), 1.0, _salience(share / DEAD_SHARE),
                             f"{series.layer_names[layer]}, {when(series, t)}: {len(units)} unit(s) died "
                             f"({shown}): their "
                             f"activation varies by no more than {DEAD_STD:g} over the probe from here on.",
                             units=units))
    return out


#: every detector, in the order their events are listed at equal salience
DETECTORS: tuple[Callable[[RunSeries], list[Event]], ...] = (
    pair_events, settling_events, probe_events, dimension_events, loss_events, memorisation_events,
    latent_events, unit_events)


def run_events(series: RunSeries) -> list[Event]:
    """Every event of the run, most salient first (ties: earlier first)."""
    found = [event for detector in DETECTORS for event in detector(series)]
    return sorted(found, key=lambda e: (-e.salience, e.epoch, -1 if e.layer is None else e.layer))
