"""Data sets uploaded in the new-run form: checked as a command-line file is, then kept in the store under
their content hash (:func:`models.datafile.save_upload`)."""

from __future__ import annotations

import base64
import binascii
from pathlib import Path

from models.datafile import DataFileError, save_upload
from models.store import UPLOADS, RunStore

__all__ = ["UPLOADS", "discard_unused", "save_uploaded"]


def save_uploaded(store_dir: Path, contents, filename, label_column: str | None, *, room: int | None = None
                  ) -> Path:
    """Decode an upload (``dcc.Upload``'s ``data:...;base64,...`` contents) and keep it in the store's
    uploads when it reads as a data set and fits the store's ``room`` (:meth:`RunStore.room`; uploads count
    toward its size limit); ``DataFileError`` naming the file and the problem."""
    if not isinstance(contents, str) or "," not in contents or not isinstance(filename, str):
        raise DataFileError("data file: choose a .npz or .csv file to upload")
    try:
        data = base64.b64decode(contents.split(",", 1)[1], validate=True)
    except (binascii.Error, ValueError):
        raise DataFileError(f"{Path(filename).name}: the upload is not valid base64") from None
    if room is not None and len(data) > room:
        raise DataFileError(f"{Path(filename).name}: the store is full ({max(room, 0):,} bytes left for "
                            f"{len(data):,}): delete runs, or raise EPOCHSCOPE_STORE_LIMIT")
    return save_upload(store_dir / UPLOADS, filename, data, label_column=label_column)


def discard_unused(store: RunStore, path: Path) -> bool:
    """Delete the kept upload ``path`` unless a stored or planned run trains on it (its content hash names it,
    so another form may have kept the same file for a run); returns whether it was deleted."""
    configs = [info.config for info in store.list_runs()] + store.list_planned()
    if any(c.data_path is not None and Path(c.data_path).name == path.name for c in configs):
        return False
    path.unlink(missing_ok=True)
    return True
