"""beta-VAE panel: KL per latent dimension at this epoch, active units against beta over the sweep (both
criteria, and why they differ), reconstructions and prior samples; posterior collapse called out in words when
it happens; the decoder's Jacobian and how orthogonal its active columns are over epochs and over the sweep
(Rolinek et al. 2019), and latent traversals at the epoch on show."""

from __future__ import annotations

import numpy as np
from dash import Dash, Input, Output, State, dcc, html

from dashboard import figures, vocab
from dashboard.context import AppContext
from dashboard.vae_service import VaeView, vae_view
from models.vae import ACTIVE_THRESHOLD


def collapse_message(active: float, latent: int, kl: float, beta: float, epoch: int = 1) -> str:
    """Posterior collapse in words, from the active units of ``latent`` (variance over samples of the posterior
    mean > 0.01, :func:`models.vae.active_units`) and the total KL (nats); at epoch 0 the untrained encoder's
    state, which is no collapse whatever it is."""
    active = int(active)
    if epoch == 0:
        return (f"Before training, at beta {beta:g}: {active} of {latent} latent units vary over the samples "
                f"(KL {kl:.2f} nats). "
                "Collapse is read from epoch 1 on, once the loss has acted on the encoder.")
    if active == 0:
        return (f"Posterior collapse: no latent unit is active at beta {beta:g} (KL {kl:.2f} nats); the decoder "
                "ignores z and draws the same average input for every sample.")
    if active < latent:
        return (f"Partial collapse: {active} of {latent} latent units active at beta {beta:g} "
                f"(KL {kl:.2f} nats); the other units carry nothing about the input.")
    return f"All {latent} latent units active at beta {beta:g} (KL {kl:.2f} nats): no collapse."


def collapse_class(active: float, latent: int, epoch: int) -> str:
    """The message's look: a warning only for a collapse (some or all latents inactive) after training began."""
    return "collapse" if epoch > 0 and int(active) < latent else "collapse collapse-none"


def criteria_message(by_variance: float, by_kl: float) -> str:
    """The two active-unit counts, and why they can differ."""
    text = (f"Active units: {int(by_variance)} by the variance of the posterior mean over samples (> "
            f"{ACTIVE_THRESHOLD}), {int(by_kl)} by the KL per dimension (> {ACTIVE_THRESHOLD} nats).")
    if by_kl > by_variance:
        text += (" A latent can spend nats without carrying the input: its posterior narrows (KL > 0) while its "
                 "mean hardly moves from sample to sample, so the decoder cannot read anything from it.")
    elif by_variance > by_kl:
        text += (" A latent whose mean varies a little over samples while its posterior stays as wide as the "
                 "prior costs almost no KL (about half the mean's variance, in nats): it counts by variance only.")
    return text


def regime_message(over_sweep: list[tuple[float, float, float]], latent: int, random_level: float) -> str:
    """Which betas of the sweep are in the polarised regime (some latents active, the others passive: Rolinek et
    al.'s), and how orthogonal their decoders' active columns end up, against random directions."""
    polarised = [(b, c) for b, c, active in over_sweep if 0 < active < latent and np.isfinite(c)]
    if not polarised:
        return ("No run of the sweep is in the polarised regime (some latents active, the others passive)."
                if over_sweep else "")
    values = ", ".join(f"{c:.2f} at beta {b:g}" for b, c in polarised)
    return (f"Polarised regime (some latents active, the others passive): mean |cos| between the active decoder "
            f"columns {values}; 0 is orthogonal, {random_level:.2f} random directions.")


def layout() -> html.Div:
    """The beta slider of a sweep's runs (one beta per step, arrow keys included; driven by the runs panel), then
    the panel, shown for a beta-VAE."""
    return html.Div(children=[
        html.Div(id=vocab.BETA_ROW, className="beta-row", style={"display": "none"}, children=[
            html.Label("beta of the sweep", htmlFor=vocab.BETA_SLIDER),
            dcc.Slider(id=vocab.BETA_SLIDER, min=0, max=1, step=1, marks={0: "0"}, value=0, className="beta-slider",
                       included=False),
        ]),
        html.Div(id="vae-panel", className="vae", style={"display": "none"}),
    ])


def panel(view: VaeView, image_shape: tuple[int, int] | None) -> list:
    """The panel's children for ``view`` (:func:`dashboard.vae_service.vae_view`)."""
    graph = {"config": figures.NO_TOOLBAR}
    metrics = view.metrics
    children = [html.H3(f"beta-VAE · epoch {view.epoch}"),
                html.P(collapse_message(metrics["active_units"], view.latent, metrics["kl"], view.beta, view.epoch),
                       id="collapse-message", className=collapse_class(metrics["active_units"], view.latent,
                                                                        view.epoch)),
                html.P(criteria_message(metrics["active_units"], metrics.get("active_units_kl", 0)),
                       id="criteria-message", className="muted"),
                dcc.Graph(figure=figures.kl_figure(view.kl_dim, view.active), **graph)]
    if view.sweep is not None:
        children.append(dcc.Graph(figure=figures.active_units_figure([b for b, _ in view.sweep],
                                                                     [a for _, a in view.sweep], view.beta), **graph))
    if np.isfinite(view.coherence).any():
        children.append(dcc.Graph(id="coherence-figure", figure=figures.coherence_figure(
            view.coherence, view.random_level, view.epoch, view.over_sweep, view.beta), **graph))
        children.append(html.P(regime_message(view.over_sweep, view.latent, view.random_level),
                               id="regime-message", className="muted"))
    if view.traversals and image_shape is not None:
        children.append(html.P("Latent traversals of probe sample 0: one active latent moved from -3 to +3 per "
                               "row (most KL first)", className="muted"))
        children.append(dcc.Graph(id="traversals", figure=figures.images_figure(view.traversals, image_shape),
                                  **graph))
    if view.images and image_shape is not None:
        children.append(dcc.Graph(figure=figures.images_figure(view.images, image_shape),
                                  config=figures.NO_TOOLBAR))
    return children


def register(app: Dash, ctx: AppContext) -> None:
    @app.callback(
        Output("vae-panel", "children"), Output("vae-panel", "style"),
        Input(vocab.RUN, "value"), Input(vocab.EPOCH_RESTED, "data"), Input(vocab.RUN_VERSION, "data"),
        State(vocab.EPOCH, "value"),
    )
    def update(run, _rested, _job, epoch):
        """The panel at the epoch on show, once the epoch slider rests (a scrub asks the server once)."""
        try:
            run_ctx = ctx.for_run(run)
            if run_ctx.config.model != "vae":
                return [], {"display": "none"}
            return panel(vae_view(ctx.store, run_ctx, int(epoch)), run_ctx.image_shape), {"display": "block"}
        except (KeyError, IndexError, TypeError, ValueError):
            return [html.P("The beta-VAE panel fills in once the run is recorded.", className="empty")], \
                {"display": "block"}
