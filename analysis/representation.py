"""Pure measures of a layer's representation of the probe samples: arrays in, numbers out.

- :func:`linear_probe`: how linearly decodable the labels are (Alain & Bengio 2016).
- :func:`twonn_dimension`: intrinsic dimension from the two nearest neighbours (Facco et al. 2017, used on
  network layers by Ansuini et al. 2019).
- :func:`linear_cka`, :func:`cka_matrix`: linear centred kernel alignment (Kornblith et al. 2019).
- :func:`class_separation`, :func:`knn_class_purity`, :func:`class_overlap`, :func:`neighbourhood_change`:
  the raw-space kNN view that the 2-D layout tries to keep.
"""

from __future__ import annotations

import numpy as np


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


def class_separation(X: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """The class silhouette (as scikit-learn's ``silhouette_score``: singletons score 0) and the intra /
    inter-class mean distance ratio of points ``X`` (n, d) labelled ``labels`` (n,), from one distance matrix;
    both NaN with fewer than two classes.

    O(n^2 d): pass a subset for large n.
    """
    labels = np.unique(np.asarray(labels), return_inverse=True)[1]
    n_classes = int(labels.max(initial=-1)) + 1
    if n_classes < 2 or n_classes >= len(labels):
        return float("nan"), float("nan")
    X = np.asarray(X, dtype=np.float64)
    sq = (X ** 2).sum(axis=1)
    D = np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2.0 * X @ X.T, 0.0))
    np.fill_diagonal(D, 0.0)
    onehot = np.eye(n_classes)[labels]
    counts = onehot.sum(axis=0)
    sums = D @ onehot  # (n, classes): summed distance of each point to each class
    own = counts[labels] - 1
    a = np.divide(sums[np.arange(len(X)), labels], own, out=np.zeros(len(X)), where=own > 0)
    means = sums / counts
    means[np.arange(len(X)), labels] = np.inf
    b = means.min(axis=1)
    s = np.where(own > 0, (b - a) / np.maximum(np.maximum(a, b), 1e-300), 0.0)
    same = onehot @ onehot.T > 0
    n_same = same.sum() - len(X)
    intra = (D * same).sum() / max(n_same, 1)
    inter = (D * ~same).sum() / max((~same).sum(), 1)
    return float(s.mean()), float(intra / inter) if inter > 0 else float("nan")


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
        Each point's nearest-neighbour distances, nearest first (as
        :func:`layout_engine.graph.nearest_neighbours` gives them).
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
    """Mean cross-entropy of softmax(X W + b) against one-hot ``Y`` plus ``l2 / 2 |W|^2``, and its gradient;
    ``w`` is ``[W; b]`` flattened, (d + 1) x n_classes."""
    n, d = X.shape
    W = w.reshape(d + 1, Y.shape[1])
    logits = X @ W[:-1] + W[-1]
    logits -= logits.max(axis=1, keepdims=True)
    np.maximum(logits, -60.0, out=logits)  # exp of far lower values underflows into subnormals: 5x slower
    log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    loss = -(Y * log_p).sum() / n + 0.5 * l2 * (W[:-1] ** 2).sum()
    G = (np.exp(log_p) - Y) / n
    grad = np.vstack([X.T @ G + l2 * W[:-1], G.sum(axis=0)])
    return float(loss), grad.ravel()


def lbfgs(fun, x0: np.ndarray, *, max_iter: int = 100, memory: int = 10, gtol: float = 1e-5,
          ftol: float = 1e-7) -> np.ndarray:
    """Minimise a smooth function by L-BFGS (two-loop recursion, backtracking Armijo line search).

    scipy's L-BFGS-B spends ~5 ms of its own per iteration on a 1,300-variable problem whose function costs
    1 ms; this one spends microseconds.

    Parameters
    ----------
    fun : callable
        ``fun(x) -> (value, gradient)``.
    x0 : ndarray of shape (m,)
    max_iter : int
    memory : int
        Curvature pairs kept.
    gtol : float
        Stop when the gradient's largest component falls below this.
    ftol : float
        Stop when a step lowers the value by less than this share of it.

    Returns
    -------
    ndarray of shape (m,)
    """
    x = np.array(x0, dtype=np.float64)
    f, g = fun(x)
    pairs: list[tuple[np.ndarray, np.ndarray, float]] = []
    for _ in range(max_iter):
        if np.abs(g).max() < gtol:
            break
        q = g.copy()
        alphas = []
        for s, y, rho in reversed(pairs):
            a = rho * (s @ q)
            alphas.append(a)
            q -= a * y
        if pairs:
            s, y, _ = pairs[-1]
            q *= (s @ y) / (y @ y)
        else:
            q /= max(np.linalg.norm(g), 1.0)
        for (s, y, rho), a in zip(pairs, reversed(alphas)):
            q += (a - rho * (y @ q)) * s
        direction = -q
        slope = g @ direction
        if slope >= 0:  # not a descent direction: start the memory afresh
            pairs.clear()
            direction, slope = -g, -(g @ g)
        step = 1.0
        for _ in range(30):
            f_new, g_new = fun(x + step * direction)
            if f_new <= f + 1e-4 * step * slope:
                break
            step *= 0.5
        else:
            break
        s_k, y_k = step * direction, g_new - g
        sy = s_k @ y_k
        if sy > 1e-12:
            pairs.append((s_k, y_k, 1.0 / sy))
            pairs = pairs[-memory:]
        converged = f - f_new < ftol * max(1.0, abs(f))
        x, f, g = x + s_k, f_new, g_new
        if converged:
            break
    return x


def linear_probe(X_fit: np.ndarray, y_fit: np.ndarray, X_eval: np.ndarray, y_eval: np.ndarray, *,
                 n_classes: int, l2: float = 1e-2, max_iter: int = 100,
                 init: np.ndarray | None = None) -> tuple[float, np.ndarray, np.ndarray]:
    """Accuracy on ``(X_eval, y_eval)`` of an L2-regularised multinomial logistic regression fitted on
    ``(X_fit, y_fit)`` (features standardised by the fit set), by :func:`lbfgs`.

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
    class_recall : ndarray of shape (n_classes,)
        Per class, the share of its ``y_eval`` samples predicted right (NaN for a class with none): when each
        class becomes linearly decodable.
    """
    d = X_fit.shape[1]
    if len(y_fit) == 0 or len(y_eval) == 0:
        return float("nan"), np.zeros((d + 1, n_classes)), np.full(n_classes, np.nan)
    mean, std = X_fit.mean(axis=0), X_fit.std(axis=0)
    std = np.where(std > 1e-8, std, 1.0)
    A, B = (np.asarray(X_fit, np.float64) - mean) / std, (np.asarray(X_eval, np.float64) - mean) / std
    Y = np.eye(n_classes)[np.asarray(y_fit, np.int64)]
    w0 = np.zeros((d + 1) * n_classes) if init is None or init.shape != (d + 1, n_classes) else init.ravel()
    W = lbfgs(lambda w: _softmax_loss(w, A, Y, l2), w0, max_iter=max_iter).reshape(d + 1, n_classes)
    predicted = (B @ W[:-1] + W[-1]).argmax(axis=1)
    y_eval = np.asarray(y_eval, np.int64)
    right = predicted == y_eval
    total = np.bincount(y_eval, minlength=n_classes)[:n_classes]
    hits = np.bincount(y_eval, weights=right, minlength=n_classes)[:n_classes]
    recall = np.divide(hits, total, out=np.full(n_classes, np.nan), where=total > 0)
    return float(np.mean(right)), W, recall


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
