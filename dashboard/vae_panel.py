"""beta-VAE panel: KL per latent dimension at this epoch, active units against beta over the sweep (both
criteria, and why they differ), reconstructions and prior samples; posterior collapse called out in words when
it happens; the decoder's Jacobian and how orthogonal its active columns are over epochs and over the sweep
(Rolinek et al. 2019), and latent traversals at the epoch on show."""

from __future__ import annotations

import numpy as np
from dash import Dash, Input, Output, State, dcc, html

from analysis.decoder import Weights, column_coherence, jacobian, random_coherence, traversals
from dashboard import figures, vocab
from dashboard.context import AppContext
from dashboard.runs_panel import sweep_of
from models.store import RunStore
from models.vae import ACTIVE_THRESHOLD


def collapse_message(active: float, latent: int, kl: float, beta: float) -> str:
    """Posterior collapse in words, from the active units of ``latent`` (variance over samples of the posterior
    mean > 0.01, :func:`models.vae.active_units`) and the total KL (nats)."""
    active = int(active)
    if active == 0:
        return (f"Posterior collapse: no latent unit is active at beta {beta:g} (KL {kl:.2f} nats); the decoder "
                "ignores z and draws the same average input for every sample.")
    if active < latent:
        return (f"Partial collapse: {active} of {latent} latent units active at beta {beta:g} "
                f"(KL {kl:.2f} nats); the other units carry nothing about the input.")
    return f"All {latent} latent units active at beta {beta:g} (KL {kl:.2f} nats): no collapse."


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


#: codes (posterior means of the first probe samples) the decoder's Jacobian is taken at
JACOBIAN_POINTS = 200


def decoder_weights(store: RunStore, run_id: str, epoch: int) -> Weights | None:
    """The decoder's weights recorded at ``epoch`` (its layers, then its output layer), or ``None`` for a run
    recorded before they were."""
    return store.layer_weights(run_id, epoch, len(store.run_info(run_id).config.hidden) + 1, prefix="d")


def coherence(store: RunStore, run_id: str, epoch: int) -> float:
    """Mean absolute cosine between the decoder Jacobian's active columns (KL > threshold) at ``epoch``, at the
    posterior means of the first :data:`JACOBIAN_POINTS` probe samples; NaN without weights or with fewer than
    two active latents."""
    weights = decoder_weights(store, run_id, epoch)
    if weights is None:
        return float("nan")
    info = store.run_info(run_id)
    mu = store.activations(run_id, epoch, len(info.layer_sizes) - 1)[:JACOBIAN_POINTS]
    active = store.extras(run_id, epoch, ["kl_dim"])["kl_dim"] > ACTIVE_THRESHOLD
    return column_coherence(jacobian(weights, mu), active)


def coherence_curve(store: RunStore, run_id: str) -> np.ndarray:
    """:func:`coherence` at every recorded epoch, (n_epochs,), cached per run state."""
    info = store.run_info(run_id)
    key = f"coherence/{run_id}/{info.created!r}/{info.epochs_done}"
    cached = store.get_derived(key)
    if cached is None:
        cached = {"coherence": np.array([coherence(store, run_id, e) for e in range(info.epochs_done)])}
        store.put_derived(key, cached)
    return cached["coherence"]


def layout() -> html.Div:
    return html.Div(id="vae-panel", className="vae", style={"display": "none"})


def panel(store: RunStore, ctx: AppContext, epoch: int) -> list:
    run = ctx.run_id
    extras = store.extras(run, epoch, ["kl_dim", "reconstructions", "prior_samples"])
    metrics = store.metrics(run)[epoch]
    mu = store.activations(run, epoch, len(ctx.config.layer_sizes) - 1)  # the posterior mean: the last layer
    active = mu.var(axis=0) > ACTIVE_THRESHOLD  # models.vae.active_units, per unit
    graph = {"config": figures.NO_TOOLBAR}
    children = [html.H3(f"beta-VAE · epoch {epoch}"),
                html.P(collapse_message(metrics["active_units"], ctx.config.latent, metrics["kl"], ctx.config.beta),
                       id="collapse-message", className="collapse"),
                html.P(criteria_message(metrics["active_units"], metrics.get("active_units_kl", 0)),
                       id="criteria-message", className="muted"),
                dcc.Graph(figure=figures.kl_figure(extras["kl_dim"], active), **graph)]
    sweep = sweep_of(store, run)
    done = []
    if sweep is not None:
        done = [(b, r) for b, r in sweep if store.has_run(r) and store.run_info(r).epochs_done]
        betas = [b for b, _ in done]
        active = [store.metrics(r)[-1]["active_units"] for _, r in done]
        children.append(dcc.Graph(figure=figures.active_units_figure(betas, active, ctx.config.beta), **graph))
    curve = coherence_curve(store, run)
    if np.isfinite(curve).any():
        n_in = store.probe(run)["X"].shape[1]
        over_sweep = [(b, float(coherence_curve(store, r)[-1]), store.metrics(r)[-1].get("active_units_kl", 0))
                      for b, r in done if store.run_info(r).state == "complete"]
        children.append(dcc.Graph(id="coherence-figure", figure=figures.coherence_figure(
            curve, random_coherence(n_in), epoch, over_sweep, ctx.config.beta), **graph))
        children.append(html.P(regime_message(over_sweep, ctx.config.latent, random_coherence(n_in)),
                               id="regime-message", className="muted"))
    weights = decoder_weights(store, run, epoch)
    kl = extras["kl_dim"]
    if weights is not None and ctx.image_shape is not None and (kl > ACTIVE_THRESHOLD).any():
        latents = np.argsort(-kl)[:int((kl > ACTIVE_THRESHOLD).sum())][:6]  # the most informative first
        code = store.activations(run, epoch, len(ctx.config.layer_sizes) - 1)[0]
        rows = traversals(weights, code, latents)
        children.append(html.P("Latent traversals of probe sample 0: one active latent moved from -3 to +3 per "
                               "row (most KL first)", className="muted"))
        children.append(dcc.Graph(id="traversals", figure=figures.images_figure(
            [(f"z{j}", row) for j, row in zip(latents, rows)], ctx.image_shape), **graph))
    if ctx.image_shape is not None:
        originals = store.probe(run)["X"][:len(extras["reconstructions"])]
        children.append(dcc.Graph(figure=figures.images_figure(
            [("input", originals), ("recon.", extras["reconstructions"]), ("prior", extras["prior_samples"])],
            ctx.image_shape), config=figures.NO_TOOLBAR))
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
            return panel(ctx.store, run_ctx, int(epoch)), {"display": "block"}
        except (KeyError, IndexError, TypeError, ValueError):
            return [html.P("The beta-VAE panel fills in once the run is recorded.", className="empty")], \
                {"display": "block"}
