"""Serving EpochScope to many users: the app built from the environment, for gunicorn and Celery workers.

Environment
-----------
``EPOCHSCOPE_HOME``
    The store directory, shared by every server and worker process (default: see
    :func:`models.store.default_store_dir`).
``EPOCHSCOPE_RUN``
    A stored run to open on (default: the built-in experiment).
``EPOCHSCOPE_CONFIG``
    Instead, a run configuration as JSON (:meth:`models.config.RunConfig.to_json`) to open on, trained on first use.
``EPOCHSCOPE_LAYOUT``
    Layout parameters as JSON (fields of :class:`layout_engine.pipeline.LayoutParams`, e.g. ``{"guard": null}``
    to lay out warm frames without checking them against a cold layout: about twice as fast); every server and
    worker must be given the same.
``EPOCHSCOPE_REDIS_URL``
    When set (``redis://127.0.0.1:6379/0``), background jobs (training, sweeps, frames) run on Celery workers over
    this Redis, which may be on other machines sharing the store directory; otherwise on Dash's disk-cache manager
    in processes beside the server.

Commands (see the README)::

    gunicorn --workers 4 --threads 4 --bind 127.0.0.1:8050 dashboard.wsgi:server
    celery --app dashboard.worker:celery_app worker --loglevel INFO        # with EPOCHSCOPE_REDIS_URL
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import asdict
from pathlib import Path

from dash import Dash

from models.config import RunConfig

REDIS_ENV = "EPOCHSCOPE_REDIS_URL"
#: the Celery task that lays out one layer's chain of a run (:func:`frames.chains.follow_chain`)
CHAIN_TASK = "epochscope.lay_out_chain"


def celery_app(redis_url: str):
    """A Celery application with ``redis_url`` as broker and result backend (JSON messages only: no pickle)."""
    from celery import Celery

    app = Celery("epochscope", broker=redis_url, backend=redis_url)
    app.conf.update(task_serializer="json", result_serializer="json", accept_content=["json"],
                    broker_connection_retry_on_startup=True, worker_hijack_root_logger=False,
                    task_acks_late=False, worker_prefetch_multiplier=1)

    @app.task(name=CHAIN_TASK)
    def lay_out_chain(store_dir: str, run_id: str, params: dict, layer: int) -> int:
        """Lay out one layer's chain of a run, sent by the job that prepares it; returns the epochs ready."""
        from dashboard.jobs import job_logging
        from frames.chains import follow_chain
        from layout_engine.pipeline import LayoutParams
        from models.store import RunStore

        job_logging()
        store = RunStore(store_dir)
        try:
            return follow_chain(store, run_id, LayoutParams(**params), layer)
        finally:
            store.close()

    return app


def chain_sender(celery, store_dir: str | os.PathLike) -> Callable[[str, object, list[int]], None]:
    """A :data:`frames.chains.ChainSender` that sends each layer's chain to ``celery``'s workers as a
    :data:`CHAIN_TASK` on the store at ``store_dir`` (shared by every worker)."""
    def send(run_id: str, params, layers: list[int]) -> None:
        for layer in layers:
            celery.send_task(CHAIN_TASK, args=[str(Path(store_dir)), run_id, asdict(params), int(layer)])

    return send


def warm_up(app: Dash) -> None:
    """Run Dash's first-request set-up (assets, scripts, the layout's check) now, in this process, before any
    serving thread exists: done lazily it races, and a request that arrives while another thread is still
    setting up finds no registered scripts (a 500 for the page's JavaScript under gunicorn's threads)."""
    response = app.server.test_client().get("/_dash-layout")
    if response.status_code != 200:
        raise RuntimeError(f"the app's layout did not build ({response.status_code}): see the log")


def app_from_env(environ: Mapping[str, str] = os.environ) -> tuple[Dash, object | None]:
    """The Dash app as the environment says, and its Celery application (``None`` without Redis).

    ``ValueError`` naming the variable when ``EPOCHSCOPE_CONFIG`` or ``EPOCHSCOPE_LAYOUT`` is not valid;
    ``KeyError`` naming the run when ``EPOCHSCOPE_RUN`` is not in the store.
    """
    from dashboard.factory import create_app
    from layout_engine.pipeline import LayoutParams

    config = None
    if environ.get("EPOCHSCOPE_CONFIG"):
        try:
            config = RunConfig.from_json(environ["EPOCHSCOPE_CONFIG"])
        except (ValueError, TypeError) as exc:  # bad JSON, unknown field or value out of range
            raise ValueError(f"EPOCHSCOPE_CONFIG must be a run configuration as JSON: {exc}") from exc
    params = None
    if environ.get("EPOCHSCOPE_LAYOUT"):
        try:
            params = LayoutParams(**json.loads(environ["EPOCHSCOPE_LAYOUT"]))
        except (ValueError, TypeError) as exc:  # bad JSON, unknown field or value out of range
            raise ValueError(f"EPOCHSCOPE_LAYOUT must be layout parameters as a JSON object: {exc}") from exc
    celery = celery_app(environ[REDIS_ENV]) if environ.get(REDIS_ENV) else None
    app = create_app(store_dir=environ.get("EPOCHSCOPE_HOME") or None, config=config,
                     run_id=environ.get("EPOCHSCOPE_RUN") or None, params=params, celery=celery)
    return app, celery
