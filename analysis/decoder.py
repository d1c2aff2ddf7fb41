"""The beta-VAE's decoder from its recorded weights (pure numpy): its outputs, its Jacobian with respect to the
latent code, how orthogonal that Jacobian's columns are (Rolinek et al. 2019, "Variational Autoencoders Pursue
PCA Directions (by Accident)"), and latent traversals.

The decoder is :meth:`models.vae.BetaVAE.decode`: ReLU layers, then a linear layer of Bernoulli logits; its
output in data space is their sigmoid.
"""

from __future__ import annotations

import numpy as np

#: where a latent traversal moves one latent (in posterior standard deviations of the prior)
TRAVERSAL = np.linspace(-3.0, 3.0, 7)

Weights = list[tuple[np.ndarray, np.ndarray]]


def decode(weights: Weights, z: np.ndarray) -> np.ndarray:
    """Bernoulli means, (n, n_in), of latent codes ``z`` (n, latent); ``weights`` are the decoder's layers then
    its output layer, each (W (out, in), b (out,)) as torch stores them."""
    h = np.asarray(z, dtype=np.float64)
    for W, b in weights[:-1]:
        h = np.maximum(h @ np.asarray(W, np.float64).T + b, 0.0)
    W, b = weights[-1]
    return 1.0 / (1.0 + np.exp(-(h @ np.asarray(W, np.float64).T + b)))


def jacobian(weights: Weights, z: np.ndarray) -> np.ndarray:
    """The Jacobian of :func:`decode` at each code, (n, n_in, latent): ``d mean_i / d z_j``."""
    h = np.asarray(z, dtype=np.float64)
    J = np.broadcast_to(np.eye(h.shape[1]), (len(h), h.shape[1], h.shape[1])).copy()  # d h / d z
    for W, b in weights[:-1]:
        W = np.asarray(W, np.float64)
        pre = h @ W.T + b
        J = (pre > 0)[:, :, None] * np.einsum("oi,nij->noj", W, J)
        h = np.maximum(pre, 0.0)
    W, b = weights[-1]
    W = np.asarray(W, np.float64)
    mean = 1.0 / (1.0 + np.exp(-(h @ W.T + b)))
    return (mean * (1.0 - mean))[:, :, None] * np.einsum("oi,nij->noj", W, J)


def column_coherence(J: np.ndarray, columns: np.ndarray) -> float:
    """How far the decoder's Jacobian is from orthogonal in ``columns`` (the active latents): the mean, over
    codes and pairs of columns, of the absolute cosine between two columns; 0 when they are orthogonal. NaN with
    fewer than two columns.

    Parameters
    ----------
    J : ndarray of shape (n, n_in, latent)
    columns : ndarray of shape (latent,), bool
    """
    cols = np.asarray(J)[:, :, np.asarray(columns, bool)]
    k = cols.shape[2]
    if k < 2:
        return float("nan")
    norms = np.linalg.norm(cols, axis=1, keepdims=True)
    unit = np.divide(cols, norms, out=np.zeros_like(cols), where=norms > 1e-12)
    gram = np.abs(np.einsum("nik,nil->nkl", unit, unit))
    off = gram[:, ~np.eye(k, dtype=bool)]
    return float(off.mean())


def random_coherence(n_in: int) -> float:
    """The mean absolute cosine of two random directions in ``n_in`` dimensions, ``~sqrt(2 / (pi n_in))``: what
    :func:`column_coherence` reads for columns with no preference for orthogonality."""
    return float(np.sqrt(2.0 / (np.pi * n_in)))


def traversals(weights: Weights, code: np.ndarray, latents: np.ndarray,
               steps: np.ndarray = TRAVERSAL) -> np.ndarray:
    """Decodings of ``code`` (latent,) with one latent at a time set to each of ``steps``: (len(latents),
    len(steps), n_in), one row per latent of ``latents``."""
    code = np.asarray(code, dtype=np.float64)
    rows = []
    for j in latents:
        z = np.repeat(code[None, :], len(steps), axis=0)
        z[:, j] = steps
        rows.append(decode(weights, z))
    return np.array(rows)
