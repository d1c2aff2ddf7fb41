"""The app's entry points: settings, the command line, the servers and the Celery worker.

The app's packages (``models``, ``layout_engine``, ``dashboard``, ...) sit at the top of a checkout; an installed
``epochscope`` carries them inside itself, under ``epochscope/_app``, so that installing it adds no top-level
``models`` to collide with a user's own. Importing this package puts the folder that holds them first on
``sys.path``: only the app's processes (servers, workers, the command line) do that, never a training script that
imports the recorder.
"""

from __future__ import annotations

import sys
from pathlib import Path


def app_root() -> Path:
    """The folder holding the app's packages: ``epochscope/_app`` of an installed package, else the checkout."""
    package = Path(__file__).resolve().parent.parent
    vendored = package / "_app"
    return vendored if (vendored / "dashboard").is_dir() else package.parent


def _put_app_first() -> None:
    root = str(app_root())
    if root in sys.path:
        sys.path.remove(root)
    sys.path.insert(0, root)


_put_app_first()
