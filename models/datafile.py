"""A user's own data set from a ``.npz`` (arrays ``X`` and ``y``) or ``.csv`` (a named label column) file.

Every check names the problem: the file's type and size, the arrays' shapes and dtypes, NaN or infinite values,
the number of samples, features and classes. ``.npz`` files are read with ``allow_pickle=False``: an object
array is rejected, never unpickled.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import os
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from epochscope.record.logdir import class_names_problem
from models.npz import NPZ_LOCK

#: largest file accepted, bytes
MAX_FILE_BYTES = 64 * 2**20
#: accepted numbers of samples, features and classes
SAMPLES_RANGE = (10, 100_000)
FEATURES_RANGE = (1, 4096)
CLASSES_RANGE = (2, 100)
SUFFIXES = (".npz", ".csv")


class DataFileError(ValueError):
    """A data file was rejected; the message names the file and the problem."""


def read_table(path: str | Path, *, label_column: str | None = None) -> tuple[np.ndarray, np.ndarray,
                                                                              tuple[str, ...]]:
    """Read and validate a user's data set.

    Parameters
    ----------
    path : str or Path
        A ``.npz`` file with a 2-D numeric array ``X`` and a 1-D array ``y`` of labels (integers or strings),
        or a ``.csv`` file with a header row, numeric feature columns and the label column.
    label_column : str, optional
        The CSV's label column (default ``"label"``); ignored for ``.npz``.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features), float64
    y : ndarray of shape (n_samples,), int64
        Labels mapped to ``0 .. n_classes - 1`` in sorted order of the original labels.
    class_names : tuple of str
        The original label of each class.

    Raises
    ------
    DataFileError
        Naming the file and what is wrong with it.
    """
    path = Path(path)
    if path.suffix.lower() not in SUFFIXES:
        raise DataFileError(f"{path.name}: file type must be one of {', '.join(SUFFIXES)}, got {path.suffix!r}")
    if not path.is_file():
        raise DataFileError(f"{path}: no such file")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise DataFileError(f"{path.name}: file is {size:,} bytes, the limit is {MAX_FILE_BYTES:,} bytes")
    return read_bytes(path.name, path.read_bytes(), label_column=label_column)


def read_bytes(name: str, data: bytes, *, label_column: str | None = None) -> tuple[np.ndarray, np.ndarray,
                                                                                    tuple[str, ...]]:
    """:func:`read_table` on a file's content ``data``; ``name`` (its file name) gives its type and names it in
    messages."""
    if Path(name).suffix.lower() == ".npz":
        X, labels = _read_npz(name, data)
    else:
        X, labels = _read_csv(name, data, label_column or "label")
    return _validate(name, X, labels)


#: largest file accepted through the page's upload (its base64 form must fit a request: dashboard/guard.py)
MAX_UPLOAD_BYTES = 16 * 2**20


def save_upload(directory: str | Path, filename: str, data: bytes, *, label_column: str | None = None) -> Path:
    """Keep an uploaded data set in ``directory`` under a name made of its content's hash (never the
    uploader's name or path), once it reads as a valid table; returns where it is.

    ``DataFileError`` naming the file for a wrong type, a file over :data:`MAX_UPLOAD_BYTES`, or any problem
    :func:`read_table` finds (then nothing is kept).
    """
    name = Path(str(filename)).name  # only the name counts; "../x.csv" is "x.csv"
    suffix = Path(name).suffix.lower()
    if suffix not in SUFFIXES:
        raise DataFileError(f"{name}: file type must be one of {', '.join(SUFFIXES)}, got {suffix!r}")
    if len(data) > MAX_UPLOAD_BYTES:
        raise DataFileError(f"{name}: file is {len(data):,} bytes, the upload limit is {MAX_UPLOAD_BYTES:,} bytes")
    read_bytes(name, data, label_column=label_column)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"{hashlib.sha256(data).hexdigest()[:16]}{suffix}"
    partial = directory / f".{target.name}.{os.getpid()}.part"
    partial.write_bytes(data)
    os.replace(partial, target)  # whole or not at all
    return target


#: the most bytes a data file's arrays may take once read (``X`` and ``y`` together): checked from the .npz's
#: array headers before anything is inflated (a 1.9 MB file of zeros inflates to gigabytes)
MAX_ARRAY_BYTES = 512 * 2**20


def npz_array_bytes(name: str, data: bytes, members: Sequence[str] = ("X", "y")) -> int:
    """The bytes the ``members`` arrays of an .npz file take once read, from their headers (each member's
    first bytes: nothing is inflated); ``DataFileError`` naming the file for a member over
    :data:`MAX_ARRAY_BYTES`, an object array or an unreadable header."""
    total = 0
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for member in members:
                if f"{member}.npy" not in archive.namelist():
                    continue
                with archive.open(f"{member}.npy") as fh:
                    version = np.lib.format.read_magic(fh)
                    read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                                   else np.lib.format.read_array_header_2_0)
                    shape, _, dtype = read_header(fh)
                if dtype.hasobject:
                    raise DataFileError(f"{name}: arrays must be plain numbers or strings, not Python objects")
                total += int(np.prod(shape, dtype=np.float64) * dtype.itemsize)
    except DataFileError:
        raise
    except (OSError, zipfile.BadZipFile, EOFError, ValueError) as exc:
        raise DataFileError(f"{name}: not a readable .npz file ({exc})") from None
    if total > MAX_ARRAY_BYTES:
        raise DataFileError(f"{name}: its arrays X and y would take {total:,} bytes once read; the limit is "
                            f"{MAX_ARRAY_BYTES:,} bytes")
    return total


def _read_npz(name: str, data: bytes) -> tuple[np.ndarray, np.ndarray]:
    npz_array_bytes(name, data)  # before anything is inflated
    try:
        with NPZ_LOCK, np.load(io.BytesIO(data), allow_pickle=False) as npz:
            missing = [k for k in ("X", "y") if k not in npz.files]
            if missing:
                found = ", ".join(npz.files) or "none"
                raise DataFileError(f"{name}: arrays {', '.join(missing)} missing (found: {found})")
            return npz["X"], npz["y"]
    except DataFileError:
        raise
    except ValueError as exc:  # object arrays need pickle, which is refused
        raise DataFileError(f"{name}: arrays must be plain numbers or strings, not Python objects ({exc})") from None
    except (OSError, zipfile.BadZipFile, EOFError) as exc:
        raise DataFileError(f"{name}: not a readable .npz file ({exc})") from None


def _read_csv(name: str, data: bytes, label_column: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DataFileError(f"{name}: a CSV file must be UTF-8 text") from None
    numbered = [(line, r) for line, r in enumerate(csv.reader(io.StringIO(text)), start=1) if r]
    if len(numbered) < 2:
        raise DataFileError(f"{name}: needs a header row and at least one data row")
    header = [h.strip() for h in numbered[0][1]]
    if label_column not in header:
        raise DataFileError(f"{name}: label column {label_column!r} not in the header ({', '.join(header)})")
    target = header.index(label_column)
    labels, features = [], []
    for line, row in numbered[1:]:  # line: the file's own line number, as an editor shows it
        if len(row) != len(header):
            raise DataFileError(f"{name}: line {line} has {len(row)} fields, the header has {len(header)}")
        labels.append(row[target].strip())
        try:
            values = [float(v) for i, v in enumerate(row) if i != target]
        except ValueError:
            bad = next(v for i, v in enumerate(row) if i != target and not _is_number(v))
            raise DataFileError(f"{name}: line {line}: feature value {bad!r} is not a number") from None
        if not all(math.isfinite(v) for v in values):
            column = next(header[i] for i, v in enumerate(row) if i != target and not math.isfinite(float(v)))
            raise DataFileError(f"{name}: line {line}, column {column!r}: {row[header.index(column)].strip()!r} is "
                                f"not a finite number")
        features.append(values)
    return np.asarray(features, dtype=np.float64).reshape(len(features), len(header) - 1), np.asarray(labels)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _validate(name: str, X: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    if X.ndim != 2:
        raise DataFileError(f"{name}: X must be 2-D (samples x features), got shape {X.shape}")
    if not (np.issubdtype(X.dtype, np.number) or X.dtype == bool):
        raise DataFileError(f"{name}: X must be numeric, got dtype {X.dtype}")
    if labels.ndim != 1:
        raise DataFileError(f"{name}: y must be 1-D, got shape {labels.shape}")
    n, d = X.shape
    if len(labels) != n:
        raise DataFileError(f"{name}: X has {n} samples but y has {len(labels)} labels")
    if not SAMPLES_RANGE[0] <= n <= SAMPLES_RANGE[1]:
        raise DataFileError(f"{name}: number of samples must be in {SAMPLES_RANGE[0]}..{SAMPLES_RANGE[1]}, got {n}")
    if not FEATURES_RANGE[0] <= d <= FEATURES_RANGE[1]:
        raise DataFileError(f"{name}: number of features must be in {FEATURES_RANGE[0]}..{FEATURES_RANGE[1]}, got {d}")
    X = X.astype(np.float64)
    bad = ~np.isfinite(X)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        kind = "NaN" if np.isnan(X[row, col]) else "infinite"
        raise DataFileError(f"{name}: X has {int(bad.sum())} NaN or infinite values (first: {kind} at sample "
                            f"{row}, feature {col})")
    y, names = _classes(name, labels)
    return X, y, names


def _classes(name: str, labels: np.ndarray) -> tuple[np.ndarray, tuple[str, ...]]:
    """Each sample's class (0..k-1) and the classes' names, from a file's labels (n,)."""
    if labels.dtype.kind == "f":
        if not np.all(np.isfinite(labels)) or not np.all(labels == np.round(labels)):
            raise DataFileError(f"{name}: y must hold class labels (integers or strings), not real numbers")
        labels = labels.astype(np.int64)
    elif labels.dtype.kind not in "iubUS":
        raise DataFileError(f"{name}: y must hold integers or strings, got dtype {labels.dtype}")
    classes, y = np.unique(labels, return_inverse=True)
    if not CLASSES_RANGE[0] <= len(classes) <= CLASSES_RANGE[1]:
        raise DataFileError(f"{name}: number of classes must be in {CLASSES_RANGE[0]}..{CLASSES_RANGE[1]}, "
                            f"got {len(classes)}")
    names = tuple(str(c) for c in classes)
    problem = class_names_problem(names)
    if problem:
        raise DataFileError(f"{name}: {problem}")
    return y.astype(np.int64), names
