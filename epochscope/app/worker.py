"""Celery worker entry: ``EPOCHSCOPE_REDIS_URL=redis://... celery --app epochscope.app.worker:celery_app worker``.

It builds the same app as the server from the same settings (:mod:`epochscope.app.settings`), so the background
callbacks are registered as Celery tasks under the same names and frames are looked up with the same layout
parameters; the store directory (``EPOCHSCOPE_HOME``) must be the servers' one.
"""

from celery.signals import worker_process_init

from dashboard import context
from epochscope.app.serve import app_from_env
from epochscope.app.settings import REDIS_ENV

app, celery_app = app_from_env()
if celery_app is None:
    raise SystemExit(f"set {REDIS_ENV} (redis://host:6379/0) to run a worker")


@worker_process_init.connect
def _fresh_store_handles(**_kwargs) -> None:
    """A forked pool process opens its own store handles (SQLite connections must not cross a fork)."""
    context.forget_stores()
