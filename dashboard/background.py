"""Background callback manager that starts jobs in fresh (spawned) processes.

Dash's ``DiskcacheManager`` forks. A forked child inherits SQLite's per-process lock bookkeeping for every
database the server had open at that instant (the run store, the job cache), and opening the same files again
in the child then fails now and then with "disk I/O error" (SQLite: never carry an open database across a
fork). Spawning costs a second or two of imports per job and removes the hazard.
"""

from __future__ import annotations

import multiprocess
from dash import DiskcacheManager


class SpawnDiskcacheManager(DiskcacheManager):
    """``DiskcacheManager`` whose jobs run in spawned, not forked, processes."""

    def call_job_fn(self, key, job_fn, args, context):
        process = multiprocess.get_context("spawn").Process(
            target=job_fn, args=(key, self._make_progress_key(key), args, context))
        process.start()
        return process.pid
