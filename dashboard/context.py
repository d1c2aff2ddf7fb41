"""What every panel of one app needs to know: where the store is, which run, which layout parameters."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from layout_engine.pipeline import LayoutParams
from models.config import RunConfig
from models.store import RunStore


@dataclass(frozen=True)
class AppContext:
    """Immutable settings of one app; the store is opened from ``store_dir`` in each process that uses it."""

    store_dir: Path
    config: RunConfig
    params: LayoutParams
    class_names: tuple[str, ...] = tuple(str(c) for c in range(10))
    #: shape to show one input as an image (digits: 8 x 8), or None
    image_shape: tuple[int, int] | None = None
    #: the run's last epoch when its config does not say (a custom run: the last recorded)
    recorded_last_epoch: int | None = None

    @property
    def last_epoch(self) -> int:
        """The last epoch the run has, or will have once trained."""
        return self.config.epochs if self.recorded_last_epoch is None else self.recorded_last_epoch

    @property
    def run_id(self) -> str:
        return self.config.run_id

    def open_store(self) -> RunStore:
        """A new handle on the store, for a job that opens and closes its own."""
        return RunStore(self.store_dir)

    @cached_property
    def store(self) -> RunStore:
        """This process's shared handle for callbacks: opening one costs ~5 ms, too much per slider step.

        diskcache handles are thread-safe and reconnect in a forked child, so one per process serves all.
        """
        return self.open_store()
