"""beta-VAE panel: KL per latent dimension at this epoch, active units against beta over the sweep,
reconstructions and prior samples; posterior collapse called out in words when it happens."""

from __future__ import annotations

from dash import Dash, Input, Output, State, dcc, html

from dashboard import figures
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


def layout() -> html.Div:
    return html.Div(id="vae-panel", className="vae", style={"display": "none"})


def panel(store: RunStore, ctx: AppContext, epoch: int) -> list:
    run = ctx.run_id
    extras = store.extras(run, epoch, ["kl_dim", "reconstructions", "prior_samples"])
    metrics = store.metrics(run)[epoch]
    mu = store.activations(run, epoch, len(ctx.config.layer_sizes) - 1)  # the posterior mean: the last layer
    active = mu.var(axis=0) > ACTIVE_THRESHOLD  # models.vae.active_units, per unit
    children = [html.H3(f"beta-VAE · epoch {epoch}"),
                html.P(collapse_message(metrics["active_units"], ctx.config.latent, metrics["kl"], ctx.config.beta),
                       id="collapse-message", className="collapse"),
                dcc.Graph(figure=figures.kl_figure(extras["kl_dim"], active), config={"displayModeBar": False})]
    sweep = sweep_of(store, run)
    if sweep is not None:
        done = [(b, r) for b, r in sweep if store.has_run(r) and store.run_info(r).epochs_done]
        betas = [b for b, _ in done]
        active = [store.metrics(r)[-1]["active_units"] for _, r in done]
        children.append(dcc.Graph(figure=figures.active_units_figure(betas, active, ctx.config.beta),
                                  config={"displayModeBar": False}))
    if ctx.image_shape is not None:
        originals = store.probe(run)["X"][:len(extras["reconstructions"])]
        children.append(dcc.Graph(figure=figures.images_figure(
            [("input", originals), ("recon.", extras["reconstructions"]), ("prior", extras["prior_samples"])],
            ctx.image_shape), config={"displayModeBar": False}))
    return children


def register(app: Dash, ctx: AppContext) -> None:
    @app.callback(
        Output("vae-panel", "children"), Output("vae-panel", "style"),
        Input("run-picker", "value"), Input("epoch-rested", "data"), Input("job-message", "children"),
        State("epoch-slider", "value"),
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
