"""Progress of a background job in the page: a :data:`models.progress.Reporter` that writes to a Dash
background callback's progress outputs (and to the server's terminal)."""

from __future__ import annotations

from collections.abc import Callable

from models.progress import TerminalProgress

#: the run version (:data:`dashboard.vocab.RUN_VERSION`) a job's progress outputs return to once it is over: a
#: change like any other, so panels read the finished run once more
JOB_OVER = -1


class PageProgress:
    """A reporter for a background callback whose progress outputs are a bar's ``value`` and ``max``, a message
    ``"<label or stage>: done/total"`` and, with ``version``, the run version: a count that grows each time the
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

    def __call__(self, stage: str, done: int, total: int) -> bool:
        if self.terminal is not None:
            self.terminal(stage, done, total)
        if (stage, done) != self._last:
            self._last, self.version = (stage, done), self.version + 1
        message = f"{self.label or stage}: {done}/{total}"
        values: tuple = (str(done), str(max(total, 1)), message) if self.bar else (message,)
        if self.tag is not None:  # one state for the page to match against the run on show
            values = ({**self.tag, "done": done, "total": max(total, 1), "message": message},)
        self.set_progress((*values, self.version) if self.with_version else values)
        return False
