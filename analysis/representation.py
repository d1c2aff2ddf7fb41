"""Pure measures of a layer's representation of the probe samples: arrays in, numbers out.

- :func:`linear_probe`: how linearly decodable the labels are (Alain & Bengio 2016).
- :func:`twonn_dimension`: intrinsic dimension from the two nearest neighbours (Facco et al. 2017, used on
  network layers by Ansuini et al. 2019).
- :func:`linear_cka`, :func:`cka_matrix`: linear centred kernel alignment (Kornblith et al. 2019).
- :func:`nearest_neighbours`, :func:`knn_class_purity`, :func:`class_overlap`, :func:`neighbourhood_change`:
  the raw-space kNN view that the 2-D layout tries to keep.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize
from sklearn.neighbors import NearestNeighbors


def nearest_neighbours(X: np.ndarray, n_neighbors: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact Euclidean k nearest neighbours of every row of ``X``, itself left out.

    Parameters
    ----------
    X : ndarray of shape (n, d)
    n_neighbors : int
        k, at most n - 1.

    Returns
    -------
    indices : ndarray of shape (n, k), int32
        Neighbours, nearest first.
    distances : ndarray of shape (n, k), float32
    """
    X = np.asarray(X, dtype=np.float32)
    n = len(X)
    if not 1 <= n_neighbors < n:
        raise ValueError(f"n_neighbors must be in 1..{n - 1} (fewer than the {n} samples), got {n_neighbors}")
    dist, idx = NearestNeighbors(n_neighbors=n_neighbors + 1).fit(X).kneighbors(X)
    # drop the point itself; among duplicates it need not come first, so drop it where it is (else the last)
    is_self = idx == np.arange(n)[:, None]
    is_self[~is_self.any(axis=1), -1] = True
    is_self &= np.cumsum(is_self, axis=1) == 1
    keep = ~is_self
    return (idx[keep].reshape(n, n_neighbors).astype(np.int32),
            dist[keep].reshape(n, n_neighbors).astype(np.float32))


def knn_class_purity(indices: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per sample, the share of its k nearest neighbours (``indices`` (n, k)) that share its label (``labels``
    (n,)): (n,) in [0, 1]. Its mean is the neighbourhood hit (Paulovich et al. 2008) of whichever space the
    neighbours were found in."""
    labels = np.asarray(labels)
    return (labels[indices] == labels[:, None]).mean(axis=1)


def class_overlap(indices: np.ndarray, labels: np.ndarray, n_classes: int) -> np.ndarray:
    """How much each pair of classes shares neighbourhoods: ``O[a, b]`` is the mean of the share of class a's
    neighbour slots taken by class b and the share of b's taken by a, (n_classes, n_classes), symmetric, in
    [0, 1]; the diagonal is each class's own purity.

    Parameters
    ----------
    indices : ndarray of shape (n, k), int
        Each sample's k nearest neighbours.
    labels : ndarray of shape (n,), int in 0 .. n_classes - 1
    n_classes : int
    """
    labels = np.asarray(labels, dtype=np.int64)
    k = indices.shape[1]
    counts = np.zeros((n_classes, n_classes))
    np.add.at(counts, (np.repeat(labels, k), labels[indices].ravel()), 1.0)
    slots = np.maximum(np.bincount(labels, minlength=n_classes) * k, 1)[:, None]
    share = counts / slots  # share[a, b]: of a's neighbour slots, the share that is class b
    return (share + share.T) / 2


def neighbourhood_change(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """Per sample, the share of its k nearest neighbours replaced between two epochs: (n,) in [0, 1], 0 where a
    sample keeps all of them. ``before`` and ``after`` are (n, k) neighbour indices of the same samples."""
    if before.shape != after.shape:
        raise ValueError(f"neighbour tables differ in shape: {before.shape} vs {after.shape}")
    kept = (before[:, :, None] == after[:, None, :]).any(axis=2).sum(axis=1)
    return 1.0 - kept / before.shape[1]


def twonn_dimension(distances: np.ndarray, *, discard: float = 0.1) -> float:
    """Intrinsic dimension by TwoNN (Facco et al. 2017): with r1, r2 each point's two nearest-neighbour
    distances, mu = r2 / r1 follows a Pareto law of exponent d; d is the slope through the origin of
    -log(1 - F(mu)) against log(mu), fitted on all but the ``discard`` largest mu (the noisiest).

    Parameters
    ----------
    distances : ndarray of shape (n, >= 2)
        Each point's nearest-neighbour distances, nearest first (as :func:`nearest_neighbours` gives them).
    discard : float
        Share of the largest ratios left out of the fit, in [0, 1).

    Returns
    -------
    float
        The dimension estimate; NaN when fewer than 10 points have distinct first and second neighbours.
    """
    r1, r2 = np.asarray(distances[:, 0], np.float64), np.asarray(distances[:, 1], np.float64)
    ok = (r1 > 0) & (r2 > r1)  # duplicates (r1 = 0) and ties carry no scale
    mu = np.sort(r2[ok] / r1[ok])
    n = len(mu)
    if n < 10:
        return float("nan")
    keep = max(2, int(np.floor(n * (1.0 - discard))))
    x = np.log(mu[:keep])
    y = -np.log(1.0 - np.arange(1, keep + 1) / n)
    return float((x @ y) / (x @ x))


def _softmax_loss(w: np.ndarray, X: np.ndarray, Y: np.ndarray, l2: float) -> tuple[float, np.ndarray]:
    n, d = X.shape
    W = w.reshape(d + 1, Y.shape[1])
    logits = X @ W[:-1] + W[-1]
    logits -= logits.max(axis=1, keepdims=True)
    log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    loss = -(Y * log_p).sum() / n + 0.5 * l2 * (W[:-1] ** 2).sum()
    G = (np.exp(log_p) - Y) / n
    grad = np.vstack([X.T @ G + l2 * W[:-1], G.sum(axis=0)])
    return float(loss), grad.ravel()


def linear_probe(X_fit: np.ndarray, y_fit: np.ndarray, X_eval: np.ndarray, y_eval: np.ndarray, *,
                 n_classes: int, l2: float = 1e-2, max_iter: int = 100,
                 init: np.ndarray | None = None) -> tuple[float, np.ndarray]:
    """Accuracy on ``(X_eval, y_eval)`` of an L2-regularised multinomial logistic regression fitted on
    ``(X_fit, y_fit)`` (features standardised by the fit set), by L-BFGS.

    Parameters
    ----------
    X_fit : ndarray of shape (n_fit, d)
    y_fit : ndarray of shape (n_fit,), int in 0 .. n_classes - 1
    X_eval : ndarray of shape (n_eval, d)
    y_eval : ndarray of shape (n_eval,), int in 0 .. n_classes - 1
    n_classes : int
    l2 : float
        Weight decay on the standardised weights (the loss is strictly convex: one optimum whatever the start).
    max_iter : int
        L-BFGS iterations.
    init : ndarray of shape (d + 1, n_classes), optional
        Start weights, e.g. the previous epoch's fit of the same layer (converges in a fraction of the
        iterations; the optimum is the same).

    Returns
    -------
    accuracy : float
        Share of ``y_eval`` predicted right, in [0, 1]; NaN when either set is empty.
    weights : ndarray of shape (d + 1, n_classes)
        The fitted weights (last row: biases), to start the next fit from.
    """
    d = X_fit.shape[1]
    if len(y_fit) == 0 or len(y_eval) == 0:
        return float("nan"), np.zeros((d + 1, n_classes))
    mean, std = X_fit.mean(axis=0), X_fit.std(axis=0)
    std = np.where(std > 1e-8, std, 1.0)
    A, B = (np.asarray(X_fit, np.float64) - mean) / std, (np.asarray(X_eval, np.float64) - mean) / std
    Y = np.eye(n_classes)[np.asarray(y_fit, np.int64)]
    w0 = np.zeros((d + 1) * n_classes) if init is None or init.shape != (d + 1, n_classes) else init.ravel()
    result = minimize(_softmax_loss, w0, args=(A, Y, l2), jac=True, method="L-BFGS-B",
                      options={"maxiter": max_iter, "ftol": 1e-6, "gtol": 1e-4})
    W = result.x.reshape(d + 1, n_classes)
    predicted = (B @ W[:-1] + W[-1]).argmax(axis=1)
    return float(np.mean(predicted == np.asarray(y_eval))), W


def chance_accuracy(y_fit: np.ndarray, y_eval: np.ndarray) -> float:
    """Accuracy on ``y_eval`` of always answering the commonest class of ``y_fit``: what a probe that learnt
    nothing scores."""
    if len(y_fit) == 0 or len(y_eval) == 0:
        return float("nan")
    return float(np.mean(np.asarray(y_eval) == np.bincount(np.asarray(y_fit, np.int64)).argmax()))


def _centred_gram(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    X = X - X.mean(axis=0)
    return X @ X.T


def linear_cka(X: np.ndarray, Y: np.ndarray) -> float:
    """Linear CKA between two representations of the same samples, in [0, 1]: 1 when one is an orthogonal
    transform and isotropic scaling of the other (Kornblith et al. 2019); NaN when either is constant.

    Parameters
    ----------
    X : ndarray of shape (n, d1)
    Y : ndarray of shape (n, d2)
    """
    return float(cka_matrix([X, Y])[0, 1])


def cka_matrix(representations: list[np.ndarray]) -> np.ndarray:
    """Linear CKA between every pair of representations of the same n samples: (m, m), symmetric, ones on the
    diagonal (NaN for a constant representation).

    Computed from the centred Gram matrices, ``CKA(X, Y) = <K_X, K_Y> / (|K_X| |K_Y|)``, so m representations
    cost m Gram matrices of n x n plus one (m, n^2) x (n^2, m) product: subsample n first for large probe sets.

    Parameters
    ----------
    representations : list of ndarray, each (n, d_i)
    """
    if len({len(r) for r in representations}) > 1:
        raise ValueError("representations must hold the same samples (the same number of rows)")
    grams = np.stack([_centred_gram(r).ravel() for r in representations])
    norms = np.linalg.norm(grams, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (grams @ grams.T) / np.outer(norms, norms)
    return np.clip(out, 0.0, 1.0, out=out, where=np.isfinite(out))
