"""A beta-VAE with MLP encoder and decoder, its loss, and measures of posterior collapse.

Likelihood: Bernoulli. Inputs are scaled to [0, 1] and read as pixel "on" probabilities; the decoder outputs
the logits of the Bernoulli means, and the reconstruction term is the binary cross-entropy summed over the
features (Kingma & Welling 2014, Higgins et al. 2017). The prior is N(0, I) and the posterior a diagonal
Gaussian N(mu, exp(logvar)).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

#: a latent unit is active when the variance over samples of its posterior mean exceeds this (Burda et al.
#: 2016, as used by Burgess et al. 2018): a collapsed unit's mean no longer depends on the input
ACTIVE_THRESHOLD = 0.01


class BetaVAE(nn.Module):
    """``n_in -> hidden -> (mu, logvar) in R^latent -> reversed(hidden) -> n_in`` logits, ReLU between.

    Parameters
    ----------
    n_in : int
        Input features.
    hidden : sequence of int
        Encoder layer sizes; the decoder mirrors them.
    latent : int
        Latent dimensions.
    """

    def __init__(self, n_in: int, hidden: tuple[int, ...], latent: int) -> None:
        super().__init__()
        sizes = (n_in, *hidden)
        self.encoder = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.mu = nn.Linear(sizes[-1], latent)
        self.logvar = nn.Linear(sizes[-1], latent)
        back = (latent, *reversed(hidden))
        self.decoder = nn.ModuleList(nn.Linear(a, b) for a, b in zip(back[:-1], back[1:]))
        self.out = nn.Linear(back[-1], n_in)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
        """Posterior mean and log-variance, each (batch, latent), and each encoder layer's activations."""
        activations = []
        h = x
        for layer in self.encoder:
            h = torch.relu(layer(h))
            activations.append(h)
        return self.mu(h), self.logvar(h), activations

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Logits of the Bernoulli means, (batch, n_in)."""
        h = z
        for layer in self.decoder:
            h = torch.relu(layer(h))
        return self.out(h)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, list[torch.Tensor]]:
        """Reconstruction logits from a reparameterised sample (the posterior mean in eval mode), mu, logvar,
        and the encoder activations."""
        mu, logvar, activations = self.encode(x)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar) if self.training else mu
        return self.decode(z), mu, logvar, activations


def kl_per_dim(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(q(z_j | x) || N(0, 1)) per sample and latent dimension, (batch, latent), in nats."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)


def loss(recon: torch.Tensor, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor,
         beta: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The beta-VAE objective, averaged over the batch.

    Parameters
    ----------
    recon : Tensor of shape (batch, n_in)
        Decoder output: logits of the Bernoulli means.
    x : Tensor of shape (batch, n_in)
        Inputs in [0, 1].
    mu, logvar : Tensor of shape (batch, latent)
        Posterior parameters.
    beta : float
        Weight of the KL term.

    Returns
    -------
    reconstruction : Tensor, scalar
        Binary cross-entropy summed over features, mean over the batch (nats).
    kl : Tensor, scalar
        KL to the prior summed over latent dimensions, mean over the batch (nats).
    total : Tensor, scalar
        ``reconstruction + beta * kl``.
    """
    reconstruction = F.binary_cross_entropy_with_logits(recon, x, reduction="none").sum(dim=1).mean()
    kl = kl_per_dim(mu, logvar).sum(dim=1).mean()
    return reconstruction, kl, reconstruction + beta * kl


def active_mask(mu: torch.Tensor | np.ndarray, threshold: float = ACTIVE_THRESHOLD) -> np.ndarray:
    """Which latent units are active (Burda et al.): those whose posterior mean varies over the samples ``mu``
    (n, latent) by more than ``threshold``; (latent,) bool."""
    if isinstance(mu, torch.Tensor):
        return (mu.var(dim=0, unbiased=False) > threshold).cpu().numpy()
    return np.asarray(mu).var(axis=0) > threshold


def active_units(mu: torch.Tensor | np.ndarray, threshold: float = ACTIVE_THRESHOLD) -> int:
    """How many latent units are active (:func:`active_mask`)."""
    return int(active_mask(mu, threshold).sum())
