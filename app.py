"""Serve EpochScope: ``python app.py [--host 127.0.0.1] [--port 8050] [--store DIR] [--run RUN_ID]``."""

from __future__ import annotations

import argparse
import logging

from dashboard import create_app
from dashboard.deploy import warm_up
from models.store import default_store_dir


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Serve the EpochScope dashboard on the default experiment or a stored run.")
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1, this machine only)")
    parser.add_argument("--port", type=int, default=8050, help="port, 1-65535 (default 8050)")
    parser.add_argument("--store", default=None,
                        help=f"store directory (default $EPOCHSCOPE_HOME or {default_store_dir()})")
    parser.add_argument("--run", default=None,
                        help="a run id from the store (python -m models list); default: the built-in experiment")
    args = parser.parse_args(argv)
    if not 1 <= args.port <= 65535:
        parser.error(f"--port must be in 1-65535, got {args.port}")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    try:
        app = create_app(store_dir=args.store, run_id=args.run)
    except KeyError as exc:
        parser.error(f"--run: {exc.args[0]} (see python -m models list --store ...)")
    warm_up(app)
    logging.getLogger("epochscope").info("EpochScope at http://%s:%d (store %s)", args.host, args.port,
                                         args.store or default_store_dir())
    app.run(host=args.host, port=args.port, debug=False)


if __name__ == "__main__":
    main()
