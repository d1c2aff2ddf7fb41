"""What the beta-VAE panel shows at an epoch, read from the store and from what the job derived
(:mod:`analysis.epoch_stages`): a view model, no Dash."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.decoder import random_coherence, traversals
from analysis.epoch_stages import decoder_weights, final_coherence, read_coherence
from dashboard.context import AppContext
from models.store import RunStore
from models.sweep import sweep_of
from models.vae import ACTIVE_THRESHOLD, active_mask

#: latent traversals shown, most informative first
MAX_TRAVERSALS = 6


@dataclass(frozen=True)
class VaeView:
    """The beta-VAE panel at one epoch.

    Attributes
    ----------
    epoch, latent : int
    beta : float
    metrics : dict
        The epoch's recorded metrics (``active_units``, ``active_units_kl``, ``kl``).
    kl_dim : ndarray of shape (latent,)
        KL per latent dimension, nats.
    active : ndarray of shape (latent,), bool
        Active by the variance of the posterior mean (:func:`models.vae.active_mask`).
    sweep : list of (beta, active units), or None
        The run's sweep, over its runs recorded so far.
    coherence : ndarray of shape (n_epochs,)
        The decoder's column coherence per epoch (NaN where not derived).
    random_level : float
        Its value for random directions.
    over_sweep : list of (beta, final coherence, active units by KL)
        The sweep's complete runs.
    traversals : list of (name, ndarray of shape (steps, n_in))
        Latent traversals of probe sample 0 (none without weights, an image shape or an active latent).
    images : list of (name, ndarray of shape (k, n_in))
        Inputs, reconstructions and prior samples (none without an image shape).
    """

    epoch: int
    latent: int
    beta: float
    metrics: dict
    kl_dim: np.ndarray
    active: np.ndarray
    sweep: list[tuple[float, float]] | None
    coherence: np.ndarray
    random_level: float
    over_sweep: list[tuple[float, float, float]]
    traversals: list[tuple[str, np.ndarray]]
    images: list[tuple[str, np.ndarray]]


def vae_view(store: RunStore, ctx: AppContext, epoch: int) -> VaeView:
    """The view of the run ``ctx`` at ``epoch``; ``KeyError`` / ``IndexError`` while it is not recorded."""
    run = ctx.run_id
    info = store.run_info(run)
    extras = store.extras(run, epoch, ["kl_dim", "reconstructions", "prior_samples"])
    metrics = store.metrics(run)[epoch]
    mu = store.activations(run, epoch, len(ctx.config.layer_sizes) - 1)  # the posterior mean: the last layer
    members = sweep_of(store, run)
    done = []  # the sweep's runs recorded so far, each read once: (beta, info, last epoch's metrics)
    for beta, other in members or []:
        other_info = store.run_info(other) if store.has_run(other) else None
        if other_info is not None and other_info.epochs_done:
            done.append((beta, other_info, store.metrics(other)[-1]))
    sweep = None if members is None else [(b, last["active_units"]) for b, _, last in done]
    over_sweep = [(b, final_coherence(store, i), last.get("active_units_kl", 0)) for b, i, last in done
                  if i.state == "complete"]
    kl = extras["kl_dim"]
    rows: list[tuple[str, np.ndarray]] = []
    weights = decoder_weights(store, info, epoch)
    if weights is not None and ctx.image_shape is not None and (kl > ACTIVE_THRESHOLD).any():
        latents = np.argsort(-kl)[:int((kl > ACTIVE_THRESHOLD).sum())][:MAX_TRAVERSALS]
        rows = [(f"z{j}", row) for j, row in zip(latents, traversals(weights, mu[0], latents))]
    images: list[tuple[str, np.ndarray]] = []
    if ctx.image_shape is not None:
        originals = store.probe(run)["X"][:len(extras["reconstructions"])]
        images = [("input", originals), ("recon.", extras["reconstructions"]), ("prior", extras["prior_samples"])]
    return VaeView(epoch=epoch, latent=ctx.config.latent, beta=ctx.config.beta, metrics=metrics, kl_dim=kl,
                   active=active_mask(mu), sweep=sweep, coherence=read_coherence(store, info),
                   random_level=random_coherence(store.probe(run)["X"].shape[1]), over_sweep=over_sweep,
                   traversals=rows, images=images)
