"""What every panel of one app needs to know: where the store is, which run, which layout parameters."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from layout_engine.pipeline import LayoutParams
from models.config import RunConfig
from models.store import RunStore


@dataclass(frozen=True)
class AppContext:
    """Immutable settings of one app; the store is opened per process from ``store_dir``."""

    store_dir: Path
    config: RunConfig
    params: LayoutParams
    class_names: tuple[str, ...] = tuple(str(c) for c in range(10))

    @property
    def run_id(self) -> str:
        return self.config.run_id

    def open_store(self) -> RunStore:
        return RunStore(self.store_dir)
