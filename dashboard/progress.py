"""Progress of a background job in the page: a :data:`models.progress.Reporter` that writes to a Dash
background callback's progress outputs (and to the server's terminal)."""

from __future__ import annotations

from collections.abc import Callable

from models.progress import Reporter, TerminalProgress


def page_progress(set_progress: Callable[[tuple], None], *, terminal: TerminalProgress | None = None,
                  label: str | None = None, bar: bool = True) -> Reporter:
    """A reporter for a background callback whose progress outputs are a bar's ``value`` and ``max`` and a
    message (``bar``), or the message alone; the message reads ``"<label or stage>: done/total"``. Also drawn
    on ``terminal`` when given. Never asks to stop: the page's Cancel button stops the job's process."""

    def report(stage: str, done: int, total: int) -> bool:
        if terminal is not None:
            terminal(stage, done, total)
        message = f"{label or stage}: {done}/{total}"
        set_progress((str(done), str(max(total, 1)), message) if bar else (message,))
        return False

    return report
