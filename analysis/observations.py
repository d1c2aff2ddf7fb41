"""Written observations for one frame: short sentences generated from the measures, never free text.

Each sentence names the number it rests on, and is written only when that number clears the threshold stated
beside it here; a frame whose evidence clears none gets no sentence. :func:`observe` is pure: the page and the
tests hand it an :class:`Evidence`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: a layer "separates the classes" when its held-out probe accuracy is this far above chance and its raw-space
#: silhouette rose at least SEPARATION_RISE since epoch 0
SEPARATION_OVER_CHANCE, SEPARATION_RISE = 0.2, 0.05
#: ... and is "not separated" when the probe is within this of chance
NO_SEPARATION_OVER_CHANCE = 0.1
#: separation has "plateaued" when the raw silhouette stayed within PLATEAU_TOLERANCE of its value on show for
#: at least PLATEAU_EPOCHS epochs
PLATEAU_TOLERANCE, PLATEAU_EPOCHS = 0.02, 3
#: a pair of classes is named as overlapping when they share at least this share of their neighbour slots
OVERLAP_MIN = 0.02
#: a layer has "settled" from the first epoch after which its CKA with its final epoch stays at or above this
SETTLED_CKA = 0.95
#: a layer's probe accuracy is said to exceed the next layer's by at least this, when it reads the labels at all
#: (NO_SEPARATION_OVER_CHANCE above chance)
PROBE_DROP = 0.02
#: overfitting: a train-test accuracy gap of at least OVERFIT_GAP that widened by OVERFIT_WIDENING from its low
OVERFIT_GAP, OVERFIT_WIDENING = 0.05, 0.03
#: memorisation: the relabelled samples' fit to their scrambled labels is this far above both chance and its low
MEMORISED_RISE = 0.1


@dataclass(frozen=True)
class Evidence:
    """What one frame's observations are written from.

    Attributes
    ----------
    layer, epoch : int
        The frame on show.
    layer_names : sequence of str
    class_names : sequence of str
    measures : list of list of dict or None
        ``measures[layer][epoch]``: scalars of :data:`analysis.measures.SCALARS` and ``overlap`` (n_classes,
        n_classes), as :func:`analysis.stage.measure_table` gives them.
    metrics : list of dict
        The run's per-epoch metrics.
    cka_by_epoch : ndarray of shape (layers, epochs, epochs), optional
        CKA between the epochs of each layer.
    latent : int
        The VAE's latent size (0 for a classifier).
    scrambled_fit : list of float, optional
        Per epoch, the share of relabelled training samples predicted as their scrambled label.
    n_scrambled : int
    """

    layer: int
    epoch: int
    layer_names: Sequence[str]
    class_names: Sequence[str]
    measures: list[list[dict | None]]
    metrics: list[dict[str, float]]
    cka_by_epoch: np.ndarray | None = None
    latent: int = 0
    scrambled_fit: list[float] | None = None
    n_scrambled: int = 0


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def separation(ev: Evidence) -> str | None:
    """Whether the layer on show separates the labels it is trained on, by the held-out linear probe and the
    raw-space silhouette."""
    row = ev.measures[ev.layer]
    now, first = row[ev.epoch], row[0]
    if now is None or first is None or not np.isfinite(now["probe_acc"]):
        return None
    name, over = ev.layer_names[ev.layer], now["probe_acc"] - now["probe_chance"]
    rise = now["raw_silhouette"] - first["raw_silhouette"]
    if over >= SEPARATION_OVER_CHANCE and rise >= SEPARATION_RISE:
        if first["probe_acc"] - first["probe_chance"] >= SEPARATION_OVER_CHANCE:  # there before any training
            change = now["probe_acc"] - first["probe_acc"]
            return (f"{name} was linearly separable at initialisation: a linear probe read "
                    f"{_pct(first['probe_acc'])} of held-out labels at epoch 0 (chance {_pct(now['probe_chance'])}), "
                    f"{_pct(now['probe_acc'])} now ({100 * change:+.1f} points from training). What training added "
                    f"is distance between the classes: the raw-space silhouette rose from "
                    f"{first['raw_silhouette']:.2f} to {now['raw_silhouette']:.2f}.")
        return (f"{name} separates the classes: a linear probe reads {_pct(now['probe_acc'])} of held-out labels "
                f"(epoch 0: {_pct(first['probe_acc'])}; chance {_pct(now['probe_chance'])}) and the raw-space "
                f"silhouette rose from {first['raw_silhouette']:.2f} to {now['raw_silhouette']:.2f}.")
    if over < NO_SEPARATION_OVER_CHANCE:
        return (f"{name} does not separate the labels it is trained on: probe accuracy {_pct(now['probe_acc'])} "
                f"against a chance of {_pct(now['probe_chance'])}, raw-space silhouette "
                f"{now['raw_silhouette']:.2f}.")
    return None


def plateau(ev: Evidence) -> str | None:
    """Since when the layer's raw-space separation has stayed where it is."""
    row = ev.measures[ev.layer][:ev.epoch + 1]
    if any(entry is None for entry in row) or ev.epoch < PLATEAU_EPOCHS:
        return None
    values = np.array([entry["raw_silhouette"] for entry in row if entry is not None])
    if values[-1] - values[0] < SEPARATION_RISE:  # nothing rose to plateau
        return None
    away = np.flatnonzero(np.abs(values - values[-1]) > PLATEAU_TOLERANCE)
    since = int(away[-1]) + 1 if len(away) else 0
    if ev.epoch - since < PLATEAU_EPOCHS:
        return None
    return (f"Separation has plateaued since epoch {since}: the raw-space silhouette stayed within "
            f"{PLATEAU_TOLERANCE:g} of {values[-1]:.2f} for {ev.epoch - since} epochs.")


def _top_pair(overlap: np.ndarray) -> tuple[int, int, float]:
    off = np.triu(overlap, k=1)
    a, b = np.unravel_index(int(np.argmax(off)), off.shape)
    return int(a), int(b), float(off[a, b])


def overlap(ev: Evidence) -> str | None:
    """Which two classes share the most raw-space neighbourhoods, and since which epoch they are the top pair."""
    row = ev.measures[ev.layer]
    now = row[ev.epoch]
    if now is None or len(now["overlap"]) < 2:
        return None
    a, b, value = _top_pair(now["overlap"])
    if value < OVERLAP_MIN:
        return None
    since = ev.epoch
    while since > 0 and (before := row[since - 1]) is not None and _top_pair(before["overlap"])[:2] == (a, b):
        since -= 1
    names = [str(ev.class_names[c]) if c < len(ev.class_names) else str(c) for c in (a, b)]
    return (f"Classes {names[0]} and {names[1]} overlap most in {ev.layer_names[ev.layer]}: they share "
            f"{_pct(value)} of their nearest-neighbour slots (the most overlapping pair since epoch {since}).")


def settled_epochs(cka_by_epoch: np.ndarray) -> list[int]:
    """Per layer, the first epoch from which its CKA with its final epoch stays >= :data:`SETTLED_CKA`."""
    out = []
    for matrix in cka_by_epoch:
        to_final = np.nan_to_num(matrix[:, -1], nan=0.0)
        below = np.flatnonzero(to_final < SETTLED_CKA)
        out.append(int(below[-1]) + 1 if len(below) else 0)
    return out


def settling(ev: Evidence) -> str | None:
    """Which layer settled first (CKA of each layer with its own final epoch), and whether the one on show has."""
    if ev.cka_by_epoch is None or len(ev.cka_by_epoch) < 2:
        return None
    settled = settled_epochs(ev.cka_by_epoch)
    first = int(np.argmin(settled))
    if settled[first] >= ev.cka_by_epoch.shape[1] - 1 or len(set(settled)) == 1:
        return None
    others = ", ".join(f"{ev.layer_names[i]} {s}" for i, s in enumerate(settled) if i != first)
    here = float(ev.cka_by_epoch[ev.layer][ev.epoch, -1])
    return (f"{ev.layer_names[first]} settled first: its CKA with its final epoch stays at or above "
            f"{SETTLED_CKA:g} from epoch {settled[first]} (others: {others}); {ev.layer_names[ev.layer]} at epoch "
            f"{ev.epoch} has CKA {here:.2f} with its final epoch.")


def probe_drop(ev: Evidence) -> str | None:
    """Whether the layer on show reads the labels linearly better than the next layer does."""
    if ev.layer + 1 >= len(ev.measures):
        return None
    here, deeper = ev.measures[ev.layer][ev.epoch], ev.measures[ev.layer + 1][ev.epoch]
    if here is None or deeper is None:
        return None
    drop = here["probe_acc"] - deeper["probe_acc"]
    if not drop >= PROBE_DROP or here["probe_acc"] - here["probe_chance"] < NO_SEPARATION_OVER_CHANCE:
        return None
    return (f"{ev.layer_names[ev.layer]}'s probe accuracy ({_pct(here['probe_acc'])}) exceeds the next layer "
            f"{ev.layer_names[ev.layer + 1]}'s ({_pct(deeper['probe_acc'])}) by {100 * drop:.1f} points.")


def overfitting(ev: Evidence) -> str | None:
    """A widening gap between train and test accuracy, up to the epoch on show."""
    metrics = ev.metrics[:ev.epoch + 1]
    if not metrics or "train_acc" not in metrics[0]:
        return None
    gap = np.array([m["train_acc"] - m["test_acc"] for m in metrics])
    low = int(np.argmin(gap))
    if gap[-1] < OVERFIT_GAP or gap[-1] - gap[low] < OVERFIT_WIDENING:
        return None
    loss = np.array([m["test_loss"] for m in metrics])
    best = int(np.argmin(loss))
    rose = (f"; test loss rose from {loss[best]:.3f} (epoch {best}) to {loss[-1]:.3f}"
            if loss[-1] > 1.1 * loss[best] else "")
    return (f"Overfitting: the train-test accuracy gap widened from {100 * gap[low]:.1f} points (epoch {low}) to "
            f"{100 * gap[-1]:.1f} points{rose}.")


def collapse(ev: Evidence) -> str | None:
    """Posterior collapse of a beta-VAE: latent units carrying nothing at the epoch on show (after training began:
    an untrained encoder's quiet units are no collapse)."""
    if not ev.latent or ev.epoch < 1 or "active_units" not in ev.metrics[ev.epoch]:
        return None
    active = int(ev.metrics[ev.epoch]["active_units"])
    if active >= ev.latent:
        return None
    return (f"Posterior collapse: {active} of {ev.latent} latent units are active at epoch {ev.epoch} "
            f"(KL {ev.metrics[ev.epoch].get('kl', float('nan')):.2f} nats).")


def memorisation(ev: Evidence) -> str | None:
    """Relabelled training samples fitted to their scrambled labels (memorised), rising over training."""
    if ev.scrambled_fit is None or ev.epoch < 1:
        return None
    fit = np.array(ev.scrambled_fit[:ev.epoch + 1])
    chance = 1.0 / max(len(ev.class_names), 2)
    low = int(np.argmin(fit))
    if fit[-1] - max(chance, fit[low]) < MEMORISED_RISE:
        return None
    return (f"Scrambled samples are being memorised: the network predicts the scrambled label of "
            f"{_pct(fit[-1])} of the {ev.n_scrambled} relabelled training samples (epoch {low}: {_pct(fit[low])}; "
            f"chance {_pct(chance)}).")


#: every kind of sentence, in the order they are written
SENTENCES = (separation, plateau, overlap, settling, probe_drop, overfitting, collapse, memorisation)


def observe(ev: Evidence) -> list[str]:
    """The frame's observations: every sentence of :data:`SENTENCES` whose evidence clears its threshold."""
    return [text for sentence in SENTENCES if (text := sentence(ev)) is not None]
