"""``create_app``: the Dash app over a store, for one run."""

from __future__ import annotations

import os
from pathlib import Path

import diskcache
from dash import Dash, html

from dashboard import controls, jobs, map_panel
from dashboard.background import SpawnDiskcacheManager
from dashboard.context import AppContext
from layout_engine.pipeline import LayoutParams
from models.config import RunConfig
from models.store import default_store_dir

ASSETS = Path(__file__).resolve().parent.parent / "assets"


def create_app(*, store_dir: str | os.PathLike | None = None, config: RunConfig | None = None,
               params: LayoutParams | None = None) -> Dash:
    """Build the EpochScope app.

    Parameters
    ----------
    store_dir : path, optional
        Store directory; default :func:`models.store.default_store_dir`.
    config : RunConfig, optional
        The run to show (trained on first use); default: the built-in default experiment.
    params : LayoutParams, optional
        Layout parameters.
    """
    ctx = AppContext(store_dir=Path(store_dir) if store_dir else default_store_dir(),
                     config=config or RunConfig(), params=params or LayoutParams())
    ctx.store_dir.mkdir(parents=True, exist_ok=True)
    manager = SpawnDiskcacheManager(diskcache.Cache(str(ctx.store_dir / "jobs")))
    app = Dash(__name__, title="EpochScope", assets_folder=str(ASSETS), background_callback_manager=manager)
    app.layout = html.Div(className="page", children=[
        html.Header(className="header", children=[
            html.H1("EpochScope"),
            html.Span(f"{ctx.run_id} · MLP {'-'.join(map(str, ctx.config.hidden))} on {ctx.config.dataset}",
                      className="run-name"),
        ]),
        jobs.layout(),
        controls.layout(ctx),
        map_panel.layout(),
    ])
    controls.register(app)
    jobs.register(app, ctx)
    map_panel.register(app, ctx)
    return app
