"""``create_app``: the Dash app over a store, for one run."""

from __future__ import annotations

import os
from pathlib import Path

import diskcache
from dash import CeleryManager, Dash, dcc, html

from dashboard import catalogue, guard, vocab
from dashboard.background import SpawnDiskcacheManager
from dashboard.context import AppContext
from dashboard.deploy import chain_sender
from dashboard.panels import (
    analysis_panel,
    compare_panel,
    controls,
    export,
    inspector,
    jobs,
    map_panel,
    neurons_panel,
    new_run,
    plane_panel,
    runs_panel,
    story_panel,
    training_panel,
    url_state,
    vae_panel,
)
from layout_engine.params import LayoutParams
from models.config import RunConfig
from models.data import IMAGE_SHAPES
from models.store import default_store_dir

ASSETS = Path(__file__).resolve().parent.parent / "assets"
#: assets the page does not load: the HTML animation export's driver (inlined in each export instead)
ASSETS_IGNORED = r"epochscope-animation\.js"


def create_app(*, store_dir: str | os.PathLike | None = None, config: RunConfig | None = None,
               run_id: str | None = None, params: LayoutParams | None = None, celery=None,
               allowed_hosts: tuple[str, ...] = guard.LOCAL_HOSTS) -> Dash:
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
    celery : celery.Celery, optional
        Run background jobs on this Celery application's workers (:mod:`dashboard.deploy`) instead of in
        processes beside the server.
    allowed_hosts : tuple of str
        The host names the server answers to (``"*"``: any; :func:`dashboard.guard.install`).
    """
    store_dir = Path(store_dir) if store_dir else default_store_dir()
    store_dir.mkdir(parents=True, exist_ok=True)
    config = config or RunConfig()
    send_chains = None
    if celery is not None:
        send_chains = chain_sender(celery, store_dir)
    ctx = AppContext(store_dir=store_dir, config=config, params=params or LayoutParams(),
                     image_shape=IMAGE_SHAPES.get(config.dataset) if config.model != "custom" else None,
                     send_chains=send_chains).for_run(run_id)
    manager = (CeleryManager(celery) if celery is not None
               else SpawnDiskcacheManager(diskcache.Cache(str(ctx.store_dir / "jobs"))))
    # the tab's title is the run's name (set with the URL): no "Updating..." over it while callbacks run
    app = Dash(__name__, title="EpochScope", update_title="", assets_folder=str(ASSETS),
               assets_ignore=ASSETS_IGNORED, background_callback_manager=manager,
               on_error=guard.callback_error)
    guard.install(app, allowed_hosts)
    app.layout = lambda: page(ctx)  # built per page load: the run list is current, and no store is opened here
    controls.register(app, ctx)
    runs_panel.register(app, ctx)
    jobs.register(app, ctx)
    map_panel.register(app, ctx)
    compare_panel.register(app, ctx)
    inspector.register(app, ctx)
    training_panel.register(app, ctx)
    analysis_panel.register(app, ctx)
    story_panel.register(app, ctx)
    neurons_panel.register(app, ctx)
    plane_panel.register(app, ctx)
    url_state.register(app, ctx)
    export.register(app, ctx)
    vae_panel.register(app, ctx)
    new_run.register(app, ctx)
    return app


def page(ctx: AppContext) -> html.Div:
    """The page; the URL's query then sets the view (see :mod:`dashboard.panels.url_state`)."""
    return html.Div(className="page", children=[
        dcc.Location(id=vocab.URL_IN, refresh=False),
        dcc.Location(id=vocab.URL, refresh=False),
        dcc.Store(id=vocab.URL_APPLIED, data=False),
        dcc.Store(id=vocab.SELECTED),
        dcc.Store(id=vocab.RUN_LABEL, data=ctx.store.name(ctx.run_id, ctx.config)),
        dcc.Store(id=vocab.SELECTED_NEURON),
        dcc.Store(id=vocab.GO_TO),  # where a panel asks the sliders to go (controls: goTo)
        dcc.Store(id=vocab.EVENT_FOCUS),  # the event clicked last in the story (its samples are ringed)
        dcc.Store(id=vocab.EPOCH_RESTED),  # the epoch slider's value once it rests (controls: restEpoch)
        html.Header(className="header", children=[
            html.H1("EpochScope"),
            runs_panel.layout(ctx),
            new_run.layout(),
        ]),
        html.Div(className="status", children=[
            jobs.layout(),
            html.Span(catalogue.heading(ctx.store, ctx.run_id, ctx.config), id=vocab.RUN_NAME,
                      className="run-name"),
        ]),
        html.Div(id=vocab.URL_PROBLEMS, className="url-problems"),
        html.Div(id="server-problems", className="url-problems"),
        controls.layout(ctx),
        compare_panel.layout(),
        html.Div(className="workspace", children=[
            map_panel.layout(beside=compare_panel.view(), footer=export.layout()),
            html.Aside(className="side", children=[inspector.layout(), plane_panel.layout(), vae_panel.layout(),
                                                   training_panel.layout()]),
        ]),
        story_panel.layout(),
        analysis_panel.layout(),
        neurons_panel.layout(),
    ])

