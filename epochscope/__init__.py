"""EpochScope: see how a neural network's latent spaces form, layer by layer and epoch by epoch.

The top of the project: one configuration path (:mod:`epochscope.settings`), the command line
(``python -m epochscope``, :mod:`epochscope.cli`) and the serving entry points (:mod:`epochscope.serve`,
``epochscope.wsgi:server`` for gunicorn, ``epochscope.worker:celery_app`` for Celery). Nothing below this package
imports it.
"""

__version__ = "0.1.0"
