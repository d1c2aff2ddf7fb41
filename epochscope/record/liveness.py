"""Who writes a run, and whether that process still runs: the writer of a log directory's run
(:mod:`epochscope.record.logdir`) and of a store's run (:mod:`models.store`) are named ``host:pid``."""

from __future__ import annotations

import os
import socket
import time

#: seconds after its last write that a run written from another machine counts as interrupted
REMOTE_WRITER_TTL = 600.0


def process_owner() -> str:
    """``host:pid`` of the calling process: who writes a run, or holds a lock."""
    return f"{socket.gethostname()}:{os.getpid()}"


def owner_alive(owner: str, since: float | None = None) -> bool:
    """Whether the process ``owner`` (``host:pid[:...]``) still runs: checked directly on this host; elsewhere
    assumed while ``since`` (its last sign of life) is within :data:`REMOTE_WRITER_TTL`."""
    if not owner:
        return False
    host, _, rest = str(owner).partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return since is None or time.time() - since < REMOTE_WRITER_TTL
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    try:  # a killed process nobody has reaped yet (a zombie) is gone too
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rpartition(")")[2].split()[0] not in ("Z", "X")
    except OSError:
        return True
