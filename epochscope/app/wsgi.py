"""WSGI entry for gunicorn (configured by the environment: :mod:`epochscope.app.settings`)::

    gunicorn --worker-class epochscope.app.http_worker.Worker --workers 4 --threads 4 --bind 127.0.0.1:8050 \
        epochscope.app.wsgi:server
"""

from dashboard.deploy import warm_up
from epochscope.app.serve import app_from_env, log_to_terminal

log_to_terminal()
app, _ = app_from_env()
warm_up(app)
server = app.server
