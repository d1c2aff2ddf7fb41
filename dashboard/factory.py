"""``create_app``: the Dash app over a store, for one run."""

from __future__ import annotations

import os
from pathlib import Path

import diskcache
from dash import Dash, dcc, html

from dashboard import controls, export, inspector, jobs, map_panel, training_panel, url_state
from dashboard.background import SpawnDiskcacheManager
from dashboard.context import AppContext
from layout_engine.pipeline import LayoutParams
from models.config import RunConfig
from models.store import RunStore, default_store_dir

ASSETS = Path(__file__).resolve().parent.parent / "assets"


def create_app(*, store_dir: str | os.PathLike | None = None, config: RunConfig | None = None,
               run_id: str | None = None, params: LayoutParams | None = None) -> Dash:
    """Build the EpochScope app.

    Parameters
    ----------
    store_dir : path, optional
        Store directory; default :func:`models.store.default_store_dir`.
    config : RunConfig, optional
        The run to show (trained on first use); default: the built-in default experiment.
    run_id : str, optional
        Instead of ``config``: a run already in the store (trained from the command line, a sweep, or
        recorded from your own loop); ``KeyError`` naming it when it is not there.
    params : LayoutParams, optional
        Layout parameters.
    """
    store_dir = Path(store_dir) if store_dir else default_store_dir()
    store_dir.mkdir(parents=True, exist_ok=True)
    config = config or RunConfig()
    class_names, last_epoch = tuple(str(c) for c in range(10)), None
    if run_id is not None:
        store = RunStore(store_dir)
        try:
            info = store.run_info(run_id)
        finally:
            store.close()
        config, class_names = info.config, info.class_names
        last_epoch = info.epochs_done - 1 if config.model == "custom" else None
    ctx = AppContext(store_dir=store_dir, config=config, params=params or LayoutParams(), class_names=class_names,
                     image_shape=(8, 8) if config.dataset == "digits" else None, recorded_last_epoch=last_epoch)
    manager = SpawnDiskcacheManager(diskcache.Cache(str(ctx.store_dir / "jobs")))
    app = Dash(__name__, title="EpochScope", assets_folder=str(ASSETS), background_callback_manager=manager)
    app.layout = page(ctx)
    controls.register(app)
    jobs.register(app, ctx)
    map_panel.register(app, ctx)
    inspector.register(app, ctx)
    training_panel.register(app, ctx)
    url_state.register(app, ctx)
    export.register(app, ctx)
    return app


def page(ctx: AppContext) -> html.Div:
    """The page; the URL's query then sets the view (see :mod:`dashboard.url_state`)."""
    return html.Div(className="page", children=[
        dcc.Location(id="url-in", refresh=False),
        dcc.Location(id="url", refresh=False),
        dcc.Store(id="url-applied", data=False),
        dcc.Store(id="selected"),
        html.Header(className="header", children=[
            html.H1("EpochScope"),
            html.Span(f"{ctx.run_id} · {_describe(ctx.config)} on {ctx.config.dataset}", className="run-name"),
        ]),
        html.Div(id="url-problems", className="url-problems"),
        jobs.layout(),
        controls.layout(ctx),
        html.Div(className="workspace", children=[
            map_panel.layout(),
            html.Aside(className="side", children=[inspector.layout(), training_panel.layout()]),
        ]),
    ])


def _describe(config: RunConfig) -> str:
    sizes = "-".join(map(str, config.layer_sizes))
    if config.model == "vae":
        return f"beta-VAE {sizes} (beta {config.beta:g})"
    return f"{'MLP' if config.model == 'mlp' else 'custom model'} {sizes}"
