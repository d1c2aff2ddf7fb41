"""Dataset cartography (Swayamdipta et al. 2020): where each training sample sits by the model's mean confidence
in its label over epochs and the variability of that confidence; easy, ambiguous and hard-to-learn regions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: a sample of mean confidence at or above EASY_CONFIDENCE is easy to learn, below HARD_CONFIDENCE hard to learn,
#: in between ambiguous; so is any whose confidence varies by AMBIGUOUS_VARIABILITY (std over epochs) or more.
#: Every sample of a small network varies by ~0.2 while it is first learnt (on digits the 10th-90th percentiles
#: of a clean run are 0.20-0.27), so variability alone, the paper's axis, would call nearly all ambiguous here.
EASY_CONFIDENCE, HARD_CONFIDENCE, AMBIGUOUS_VARIABILITY = 2 / 3, 1 / 3, 0.3
REGIONS = ("easy", "ambiguous", "hard")


@dataclass(frozen=True)
class Cartography:
    """Per sample over the training epochs.

    Attributes
    ----------
    confidence : ndarray of shape (n,)
        Mean probability the model gives the sample's (trained-on) label.
    variability : ndarray of shape (n,)
        Standard deviation of that probability over the epochs.
    correctness : ndarray of shape (n,)
        Share of epochs in which the label was predicted.
    region : ndarray of shape (n,), int
        Index into :data:`REGIONS`.
    """

    confidence: np.ndarray
    variability: np.ndarray
    correctness: np.ndarray
    region: np.ndarray


def cartography(label_prob: np.ndarray, correct: np.ndarray) -> Cartography:
    """The data map of ``n`` samples over ``E`` epochs.

    Parameters
    ----------
    label_prob : ndarray of shape (E, n)
        Per epoch, the probability given to each sample's label (epoch 0, before training, left out by the
        caller: it says nothing about learning).
    correct : ndarray of shape (E, n), bool
        Per epoch, whether the label was the prediction.

    Returns
    -------
    Cartography
    """
    label_prob = np.asarray(label_prob, dtype=np.float64)
    if label_prob.ndim != 2 or label_prob.shape != np.shape(correct) or len(label_prob) == 0:
        raise ValueError(f"label_prob and correct must both be (epochs >= 1, n), got {label_prob.shape} and "
                         f"{np.shape(correct)}")
    confidence, variability = label_prob.mean(axis=0), label_prob.std(axis=0)
    region = np.where(confidence >= EASY_CONFIDENCE, 0, np.where(confidence < HARD_CONFIDENCE, 2, 1))
    region[variability >= AMBIGUOUS_VARIABILITY] = 1
    return Cartography(confidence=confidence, variability=variability,
                       correctness=np.asarray(correct, dtype=np.float64).mean(axis=0), region=region)


def region_shares(region: np.ndarray, groups: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    """For each named group of samples (a boolean mask over ``region`` (n,)), the share of it in each region;
    an empty group gets NaN shares."""
    out = {}
    for name, mask in groups.items():
        members = region[np.asarray(mask, bool)]
        out[name] = {r: float(np.mean(members == i)) if len(members) else float("nan")
                     for i, r in enumerate(REGIONS)}
    return out
