"""Networks, data and training for EpochScope: train a run and record every epoch into a :class:`RunStore`."""

from models.config import RunConfig
from models.store import RunStore, default_store_dir

__all__ = ["RunConfig", "RunStore", "default_store_dir"]
