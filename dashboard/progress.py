"""Progress of a background job in the page: a :data:`models.progress.Reporter` that writes to a Dash
background callback's progress outputs (and to the server's terminal)."""

from __future__ import annotations

import time
from collections.abc import Callable

from models.progress import TerminalProgress

#: the run version (:data:`dashboard.vocab.RUN_VERSION`) a job's progress outputs return to once it is over: a
#: change like any other, so panels read the finished run once more
JOB_OVER = -1


#: no time estimate before this many steps of a stage or this many seconds into it (too few to go by)
ESTIMATE_AFTER_STEPS, ESTIMATE_AFTER_S = 2, 3.0


def remaining(started: tuple[str, int, float], done: int, total: int, now: float | None = None) -> str:
    """`` · about 40 s left`` from the pace since the stage ``started`` (its name, count and time), once there is
    enough to go by; else nothing."""
    _, first, at = started
    elapsed = (time.monotonic() if now is None else now) - at
    steps = done - first
    if steps < ESTIMATE_AFTER_STEPS or elapsed < ESTIMATE_AFTER_S or done >= total:
        return ""
    left = elapsed / steps * (total - done)
    return f" · about {left:.0f} s left" if left < 90 else f" · about {left / 60:.0f} min left"


class PageProgress:
    """A reporter for a background callback whose progress outputs are a bar's ``value`` and ``max``, a message
    ``"<label or stage>: done/total"`` (with the time left at the stage's pace so far, once there is enough to go
    by) and, with ``version``, the run version: a count that grows each time the
    job reports new work done (an epoch recorded, a frame laid out, a frame measured), which panels that read
    the store refresh on. Without ``bar``, the message alone; with ``tag`` (the job's ``{"run", "n"}``), one dict
    of the tag, ``done``, ``total`` and ``message`` instead of the bar's three values. Also drawn on ``terminal``
    when given. Never asks to stop: the page's Cancel button stops the job's process."""

    def __init__(self, set_progress: Callable[[tuple], None], *, terminal: TerminalProgress | None = None,
                 label: str | None = None, bar: bool = True, version: bool = False,
                 tag: dict | None = None) -> None:
        self.set_progress, self.terminal, self.label = set_progress, terminal, label
        self.bar, self.with_version, self.tag = bar, version, tag
        self.version = 0
        self._last: tuple[str, int] | None = None
        self._started: tuple[str, int, float] | None = None  # the stage, its count and the time it was first seen

    def __call__(self, stage: str, done: int, total: int) -> bool:
        if self.terminal is not None:
            self.terminal(stage, done, total)
        if (stage, done) != self._last:
            self._last, self.version = (stage, done), self.version + 1
        if self._started is None or self._started[0] != stage or done < self._started[1]:
            self._started = (stage, done, time.monotonic())
        message = f"{self.label or stage}: {done}/{total}" + remaining(self._started, done, total)
        values: tuple = (str(done), str(max(total, 1)), message) if self.bar else (message,)
        if self.tag is not None:  # one state for the page to match against the run on show
            values = ({**self.tag, "done": done, "total": max(total, 1), "message": message},)
        self.set_progress((*values, self.version) if self.with_version else values)
        return False
