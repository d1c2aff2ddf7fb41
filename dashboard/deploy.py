"""Background work on Celery: the application over Redis (JSON messages only), the task that lays out one layer's
chain of a run on a worker, and the sender that hands chains to it; and the app's first-request warm-up.

Entry points and their settings live at the top, in :mod:`epochscope.app.serve` and :mod:`epochscope.app.settings`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from dash import Dash

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
        from dashboard.work import job_logging
        from frames.chains import follow_chain
        from layout_engine.params import LayoutParams
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
