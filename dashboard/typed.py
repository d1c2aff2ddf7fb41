"""Arrays for the browser as plotly.js typed arrays (``{"dtype", "bdata"}``: base64 of little-endian bytes),
which ``assets/epochscope.js`` decodes into JavaScript typed arrays without parsing a number at a time.

Positions are quantised to 16 bits over their own range (``lo`` + ``step`` x code): a step of 1/65,535 of the
frame's extent, far below a pixel at any zoom the map allows, for a quarter of float64's bytes.
"""

from __future__ import annotations

import base64

import numpy as np

#: plotly.js dtype names -> numpy little-endian types
DTYPES = {"u1": "<u1", "u2": "<u2", "i4": "<i4", "f4": "<f4"}
#: codes of a quantised array
QUANT_LEVELS = 65_535


def typed(values: np.ndarray, dtype: str) -> dict:
    """``values`` (any shape, flattened) as ``{"dtype": dtype, "bdata": base64}``; ``ValueError`` when a value
    does not fit an integer dtype."""
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    values = np.asarray(values).ravel()
    kind = np.dtype(DTYPES[dtype])
    if kind.kind in "iu" and values.size and (values.min() < np.iinfo(kind).min or values.max() > np.iinfo(kind).max):
        raise ValueError(f"values in {values.min()}..{values.max()} do not fit {dtype}")
    return {"dtype": dtype, "bdata": base64.b64encode(values.astype(kind).tobytes()).decode("ascii")}


def quantized(values: np.ndarray) -> dict:
    """Finite ``values`` (n,) as 16-bit codes over their range: ``{"dtype": "u2", "bdata", "lo", "step"}``,
    decoded as ``lo + step * code`` (error at most ``step / 2``)."""
    values = np.asarray(values, dtype=np.float64).ravel()
    lo = float(values.min()) if values.size else 0.0
    span = float(values.max()) - lo if values.size else 0.0
    step = span / QUANT_LEVELS if span > 0 else 1.0
    codes = np.rint((values - lo) / step).astype(np.uint16)
    return {**typed(codes, "u2"), "lo": lo, "step": step}


def label_dtype(n_classes: int) -> str:
    """The smallest dtype holding class numbers ``0 .. n_classes - 1``."""
    return "u1" if n_classes <= 256 else "i4"


def decode(array: dict) -> np.ndarray:
    """The inverse of :func:`typed` and :func:`quantized` (for tests and clients written in Python)."""
    values = np.frombuffer(base64.b64decode(array["bdata"]), dtype=DTYPES[array["dtype"]])
    return array["lo"] + array["step"] * values.astype(np.float64) if "step" in array else values
