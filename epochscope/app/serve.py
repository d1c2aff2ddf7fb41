"""Serving EpochScope: the app built from :class:`epochscope.app.settings.Settings`, for ``app.py`` / ``python -m
epochscope serve``, gunicorn (:mod:`epochscope.app.wsgi`) and Celery workers (:mod:`epochscope.app.worker`).

Commands (see the README)::

    gunicorn --worker-class epochscope.app.http_worker.Worker --workers 4 --threads 4 --bind 127.0.0.1:8050 \
        epochscope.app.wsgi:server
    celery --app epochscope.app.worker:celery_app worker --loglevel INFO        # with EPOCHSCOPE_REDIS_URL
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

from dash import Dash

from dashboard.deploy import celery_app
from dashboard.factory import create_app
from epochscope.app.settings import Settings, load_settings
from models.logdir_sync import LogdirFollower


def build_app(settings: Settings) -> tuple[Dash, object | None]:
    """The Dash app the settings describe, and its Celery application (``None`` without Redis); ``KeyError``
    naming the run when ``settings.run_id`` is not in the store. With a log directory, its runs are brought into
    the store first and then followed (:class:`models.logdir_sync.LogdirFollower`), and the page opens on the
    newest unless a run is named."""
    celery = celery_app(settings.redis_url) if settings.redis_url else None
    run_id = settings.run_id
    if settings.logdir is not None:
        follower = LogdirFollower(settings.store_dir, settings.logdir)
        found = follower.sync_now().run_ids
        follower.start()
        run_id = run_id or (found[-1] if found else None)
    app = create_app(store_dir=settings.store_dir, config=settings.config, run_id=run_id,
                     params=settings.layout, celery=celery, allowed_hosts=settings.allowed_hosts)
    return app, celery


def app_from_env(environ: Mapping[str, str] = os.environ) -> tuple[Dash, object | None]:
    """:func:`build_app` of the environment's settings (:func:`epochscope.app.settings.load_settings`)."""
    return build_app(load_settings(environ))


def log_to_terminal() -> None:
    """The servers' log format; the development server's request lines left out."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
