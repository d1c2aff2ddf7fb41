"""Data sets uploaded in the new-run form: checked as a command-line file is, then kept in the store under
their content hash (:func:`models.datafile.save_upload`)."""

from __future__ import annotations

import base64
import binascii
from pathlib import Path

from models.datafile import DataFileError, save_upload

#: where an uploaded data set is kept, under the store
UPLOADS = "uploads"


def save_uploaded(store_dir: Path, contents, filename, label_column: str | None) -> Path:
    """Decode an upload (``dcc.Upload``'s ``data:...;base64,...`` contents) and keep it in the store's
    uploads when it reads as a data set; ``DataFileError`` naming the file and the problem."""
    if not isinstance(contents, str) or "," not in contents or not isinstance(filename, str):
        raise DataFileError("data file: choose a .npz or .csv file to upload")
    try:
        data = base64.b64decode(contents.split(",", 1)[1], validate=True)
    except (binascii.Error, ValueError):
        raise DataFileError(f"{Path(filename).name}: the upload is not valid base64") from None
    return save_upload(store_dir / UPLOADS, filename, data, label_column=label_column)
