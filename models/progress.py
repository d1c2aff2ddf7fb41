"""The one progress callback of every long job (training, a beta sweep, laying out frames, measuring), and a
terminal bar that shows it.

``report(stage, done, total) -> stop?``: ``stage`` names the work in words a user reads (``"Training"``,
``"Training beta 0.5 (2/8)"``, ``"Laying out frames"``), ``done`` of its ``total`` steps are finished; return
True to stop the job after the step (what is done so far is kept).
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from tqdm import tqdm

Reporter = Callable[[str, int, int], bool | None]


class TerminalProgress:
    """A :data:`Reporter` that draws one tqdm bar per stage on stderr (the terminal of the command line or of
    the server); never asks to stop."""

    def __init__(self) -> None:
        self.bar: tqdm | None = None

    def __call__(self, stage: str, done: int, total: int) -> bool:
        if self.bar is None or self.bar.desc != stage or self.bar.total != total:
            self.close()
            self.bar = tqdm(total=total, desc=stage, file=sys.stderr, mininterval=1.0, dynamic_ncols=True)
        self.bar.update(done - self.bar.n)
        return False

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
