"""Argument checks shared by the public Python layer (one message style everywhere)."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray


_REAL_KINDS = frozenset("biuf")


def as_real_array(x: ArrayLike, name: str) -> NDArray[np.float64]:
    """``x`` as a float64 array of any shape; only real dtypes (bool/int/float).

    Complex, datetime, timedelta, string, object, structured and masked input is a
    TypeError naming ``name`` (numpy would silently drop an imaginary part or a mask).
    """
    if isinstance(x, np.ma.MaskedArray):
        msg = (f"{name} must not be a masked array (the mask would be ignored); "
               "fill or compress it first")
        raise TypeError(msg)
    try:
        raw = np.asarray(x)
    except (TypeError, ValueError) as exc:
        msg = f"{name} must be an array of real numbers: {exc}"
        raise TypeError(msg) from None
    if raw.dtype.kind == "O" and not isinstance(x, np.ndarray):
        # a Python sequence holding ints beyond int64 (numpy gives object dtype)
        return _python_ints_as_float(raw, name)
    if raw.dtype.kind not in _REAL_KINDS:
        msg = (f"{name} must be an array of real numbers (bool, int or float dtype), "
               f"got dtype {raw.dtype}")
        raise TypeError(msg)
    return raw.astype(np.float64, copy=False)


def _python_ints_as_float(raw: NDArray[Any], name: str) -> NDArray[np.float64]:
    """An object array of real numbers (from a list holding ints beyond int64) as
    float64; TypeError if an element is not a real number.

    Ints beyond float64 (about 1.8e308) are a ValueError, never OverflowError.
    """
    flat = raw.ravel()
    if not all(isinstance(v, numbers.Real) for v in flat):
        kinds = sorted({type(v).__name__ for v in flat})
        msg = (f"{name} must be an array of real numbers (bool, int or float), "
               f"got elements of type {', '.join(kinds)}")
        raise TypeError(msg)
    out = np.empty(flat.size, dtype=np.float64)
    for i, v in enumerate(flat):
        try:
            out[i] = float(v)
        except OverflowError:
            msg = (f"{name} is out of range for float64: element {i} is an int of "
                   f"{int(v).bit_length()} bits (the largest float64 is about 1.8e308)")
            raise ValueError(msg) from None
    return out.reshape(raw.shape)


def as_float_vector(x: ArrayLike, name: str) -> NDArray[np.float64]:
    """``x`` as a 1-D float64 array; TypeError/ValueError naming ``name`` otherwise."""
    arr = as_real_array(x, name)
    if arr.ndim != 1:
        msg = f"{name} must be a 1-dimensional array, got shape {arr.shape}"
        raise ValueError(msg)
    return arr


def as_real(x: Any, name: str) -> float:
    """``x`` (a real number, bools refused) as a float.

    TypeError for anything that is not a real number; ValueError (never
    OverflowError) for a Python int too large for a float.
    """
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, numbers.Real):
        msg = f"{name} must be a real number, got {type(x).__name__}"
        raise TypeError(msg)
    try:
        return float(x)
    except OverflowError:
        bits = x.bit_length() if isinstance(x, int) else "many"
        msg = f"{name} is out of range for a float64, got an int of {bits} bits"
        raise ValueError(msg) from None


def as_int(x: Any, name: str, minimum: int) -> int:
    """``x`` as an int >= ``minimum`` (bools refused); errors name ``name``."""
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, numbers.Integral):
        msg = f"{name} must be an int, got {type(x).__name__}"
        raise TypeError(msg)
    if x < minimum:
        msg = f"{name} must be >= {minimum}, got {x}"
        raise ValueError(msg)
    return int(x)
