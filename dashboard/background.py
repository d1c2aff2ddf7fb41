"""Background callback manager that starts jobs in fresh (spawned) processes, at most :data:`MAX_JOBS` at once.

Dash's ``DiskcacheManager`` forks. A forked child inherits SQLite's per-process lock bookkeeping for every
database the server had open at that instant (the run store, the job cache), and opening the same files again
in the child then fails now and then with "disk I/O error" (SQLite: never carry an open database across a
fork). Spawning costs a second or two of imports per job and removes the hazard.

Every POST to a background callback asks for a process (each holds 0.3-0.6 GB once its imports are done), so
the bound is enforced where a job is admitted, before its process exists: the live jobs of every server
process on the store are listed in the job cache (one transaction checks and registers), and a job over the
bound is answered at once with a message saying so, without a process.
"""

from __future__ import annotations

import logging

import multiprocess
import psutil
from dash import DiskcacheManager

logger = logging.getLogger(__name__)

#: background jobs (processes) running at once, over every server process sharing the store
MAX_JOBS = 4
#: the job cache's key of the live jobs' pids
_JOBS_KEY = "epochscope-live-jobs"
#: what the page shows of a refused job starts with this (dashboard.guard shows it as it is)
REFUSED = "EpochScope: "
#: the job handle of a refused job: Dash signs ``str(job)`` for the page and reads it back as an int; no process
#: has it (psutil.pid_exists(-1) is False), so nothing is polled or killed
NO_PROCESS = -1


def refused_message(live: int, limit: int) -> str:
    return (f"{REFUSED}the server runs {live} background jobs now, at most {limit} at once: "
            f"try again when one has ended (or cancel one)")


class SpawnDiskcacheManager(DiskcacheManager):
    """``DiskcacheManager`` whose jobs run in spawned, not forked, processes, at most ``max_jobs`` at once."""

    def __init__(self, cache, *, max_jobs: int = MAX_JOBS, **kwargs) -> None:
        super().__init__(cache, **kwargs)
        if not isinstance(max_jobs, int) or max_jobs < 1:
            raise ValueError(f"max_jobs must be an integer >= 1, got {max_jobs!r}")
        self.max_jobs = max_jobs

    def live_jobs(self) -> list[int]:
        """The pids of the jobs started on this job cache that are still running."""
        return [pid for pid in self.handle.get(_JOBS_KEY, []) if _running(pid)]

    def call_job_fn(self, key, job_fn, args, context):
        with self.handle.transact():  # one check and registration at a time, over every server process
            live = self.live_jobs()
            if len(live) >= self.max_jobs:
                logger.warning("Refused a background job: %d running, at most %d", len(live), self.max_jobs)
                self.handle.set(key, {"background_callback_error": {
                    "msg": refused_message(len(live), self.max_jobs), "tb": ""}})
                return NO_PROCESS
            process = multiprocess.get_context("spawn").Process(
                target=job_fn, args=(key, self._make_progress_key(key), args, context))
            process.start()
            self.handle.set(_JOBS_KEY, [*live, process.pid])
        return process.pid


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False
