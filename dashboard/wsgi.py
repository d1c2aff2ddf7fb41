"""WSGI entry for gunicorn: ``gunicorn --workers 4 --threads 4 --bind 127.0.0.1:8050 dashboard.wsgi:server``
(configured by the environment: :mod:`dashboard.deploy`)."""

import logging

from dashboard.deploy import app_from_env, warm_up

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
app, _ = app_from_env()
warm_up(app)
server = app.server
