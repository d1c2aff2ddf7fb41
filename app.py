"""Serve EpochScope: ``python app.py [--host 127.0.0.1] [--port 8050] [--store DIR] [--run RUN_ID] [--layout JSON]``,
the same as ``python -m epochscope serve`` (settings: :mod:`epochscope.app.settings`)."""

from __future__ import annotations

import sys

from epochscope.app.cli import main

if __name__ == "__main__":
    sys.exit(main(["serve", *sys.argv[1:]]))
