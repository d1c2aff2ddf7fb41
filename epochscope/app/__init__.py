"""The app's entry points: settings, the command line, the servers and the Celery worker.

The app's packages (``models``, ``layout_engine``, ``dashboard``, ...) sit at the top of a checkout; an installed
``epochscope`` carries them inside itself, under ``epochscope/_app``, so that installing it adds no top-level
``models`` to collide with a user's own. Importing this package puts the folder that holds them first on
``sys.path``: only the app's processes (servers, workers, the command line) do that, never a training script that
imports the recorder.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

#: what the app imports beyond the recorder's numpy and torch (the ``app`` extra: requirements.txt)
APP_MODULES = ("dash", "plotly", "diskcache", "sklearn", "scipy", "numba")


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


def main(argv: list[str] | None = None) -> int:
    """The ``epochscope`` command (:mod:`epochscope.app.cli`); without the app's dependencies installed, says how
    to install them instead of failing on an import."""
    missing = [m for m in APP_MODULES if importlib.util.find_spec(m) is None]
    if missing:
        print(f"epochscope: the app needs {', '.join(missing)}: pip install 'epochscope[app]' (the recorder, "
              f"epochscope.Recorder and epochscope.callbacks, needs only numpy and torch)", file=sys.stderr)
        return 2
    from epochscope.app.cli import main as cli_main

    return cli_main(argv)
