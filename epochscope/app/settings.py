"""One configuration path: the settings every entry point reads (``make run`` / ``app.py``, ``make serve`` and
its gunicorn workers, the Celery workers and the command line), from the environment and then the command line's
options, each checked when read.

Environment
-----------
``EPOCHSCOPE_HOME``
    The store directory, shared by every server and worker process (default: see
    :func:`models.store.default_store_dir`).
``EPOCHSCOPE_RUN``
    A stored run to open on (default: the built-in experiment).
``EPOCHSCOPE_CONFIG``
    Instead, a run configuration as JSON (:meth:`models.config.RunConfig.to_json`) to open on, trained on first
    use.
``EPOCHSCOPE_LAYOUT``
    Layout parameters as a JSON object (fields of :class:`layout_engine.params.LayoutParams`, e.g.
    ``{"guard": null}``). Frames are indexed by these parameters: a server finds the frames laid out ahead by
    ``python -m epochscope prepare`` (or by another server or worker) only when both read the same.
``EPOCHSCOPE_LOGDIR``
    A log directory (:mod:`epochscope.record.logdir`) whose runs the page shows, followed while they grow.
``EPOCHSCOPE_REDIS_URL``
    When set (``redis://127.0.0.1:6379/0``), background jobs run on Celery workers over this Redis; otherwise in
    processes beside the server.
``EPOCHSCOPE_ALLOWED_HOSTS``
    Host names the server answers to besides ``localhost``, ``127.0.0.1`` and ``::1``, comma-separated (a server
    reached under another name, e.g. behind a proxy); ``*`` answers any. A request naming another host is
    refused (a web page elsewhere cannot reach a server on 127.0.0.1 by rebinding its own name to it).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dashboard.guard import LOCAL_HOSTS
from layout_engine.params import LayoutParams
from models.config import RunConfig
from models.store import default_store_dir

HOME_ENV = "EPOCHSCOPE_HOME"
RUN_ENV = "EPOCHSCOPE_RUN"
CONFIG_ENV = "EPOCHSCOPE_CONFIG"
LAYOUT_ENV = "EPOCHSCOPE_LAYOUT"
REDIS_ENV = "EPOCHSCOPE_REDIS_URL"
LOGDIR_ENV = "EPOCHSCOPE_LOGDIR"
HOSTS_ENV = "EPOCHSCOPE_ALLOWED_HOSTS"


@dataclass(frozen=True)
class Settings:
    """What a server, a worker or a command runs with.

    Attributes
    ----------
    store_dir : Path
        The store directory.
    layout : LayoutParams
        The layout parameters every frame is laid out and looked up with.
    run_id : str or None
        A stored run to open on; ``None``: ``config``.
    config : RunConfig
        The run to open on when ``run_id`` is not given (trained on first use).
    redis_url : str or None
        Celery over this Redis for background jobs; ``None``: processes beside the server.
    logdir : Path or None
        A log directory whose runs are brought into the store and followed (:mod:`models.logdir_sync`).
    allowed_hosts : tuple of str
        The host names the server answers to (``"*"``: any).
    """

    store_dir: Path
    layout: LayoutParams
    run_id: str | None = None
    config: RunConfig = RunConfig()
    redis_url: str | None = None
    logdir: Path | None = None
    allowed_hosts: tuple[str, ...] = LOCAL_HOSTS


def parse_layout(text: str, source: str = LAYOUT_ENV) -> LayoutParams:
    """Layout parameters from a JSON object; ``ValueError`` naming ``source`` and the bad field with its range."""
    try:
        return LayoutParams.from_json(text)
    except ValueError as exc:
        raise ValueError(f"{source}: {exc}") from None


def load_settings(environ: Mapping[str, str] | None = None, *, store: str | os.PathLike | None = None,
                  run: str | None = None, layout: str | None = None,
                  logdir: str | os.PathLike | None = None) -> Settings:
    """The settings: each from its command-line option when given (``store``, ``run``, ``layout`` as JSON,
    ``logdir``),
    else from the environment (module docstring), else the default.

    Raises
    ------
    ValueError
        Naming the option or variable and what it accepts, when a value is not valid.
    """
    env = os.environ if environ is None else environ
    config = RunConfig()
    if env.get(CONFIG_ENV):
        try:
            config = RunConfig.from_json(env[CONFIG_ENV])
        except (ValueError, TypeError) as exc:  # bad JSON, unknown field or value out of range
            raise ValueError(f"{CONFIG_ENV} must be a run configuration as JSON: {exc}") from exc
    if layout is not None:
        params = parse_layout(layout, "--layout")
    elif env.get(LAYOUT_ENV):
        params = parse_layout(env[LAYOUT_ENV])
    else:
        params = LayoutParams()
    home = store or env.get(HOME_ENV) or None
    logs = logdir or env.get(LOGDIR_ENV) or None
    log_path = Path(logs).expanduser() if logs else None
    if log_path is not None and log_path.exists() and not log_path.is_dir():
        raise ValueError(f"{'--logdir' if logdir else LOGDIR_ENV}: {log_path} is not a directory")
    return Settings(store_dir=Path(home).expanduser() if home else default_store_dir(), layout=params,
                    run_id=run or env.get(RUN_ENV) or None, config=config, redis_url=env.get(REDIS_ENV) or None,
                    logdir=log_path, allowed_hosts=parse_hosts(env.get(HOSTS_ENV, "")))


def parse_hosts(text: str) -> tuple[str, ...]:
    """:data:`LOCAL_HOSTS` and the comma-separated host names of ``text`` (``*``: any host); ``ValueError``
    naming the variable for a name that is not a host name."""
    extra = tuple(h.strip().lower() for h in text.split(",") if h.strip())
    bad = [h for h in extra if not re.fullmatch(r"\*|[a-z0-9.-]{1,253}|[0-9a-f:]{2,39}", h)]
    if bad:
        raise ValueError(f"{HOSTS_ENV} must be comma-separated host names or *, got {bad[0]!r}")
    return LOCAL_HOSTS + extra
