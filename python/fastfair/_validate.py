"""Argument checks shared by the public Python layer (one message style everywhere)."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray


def as_float_vector(x: ArrayLike, name: str) -> NDArray[np.float64]:
    """``x`` as a 1-D float64 array; TypeError/ValueError naming ``name`` otherwise."""
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        msg = f"{name} must be an array of real numbers: {exc}"
        raise TypeError(msg) from None
    if arr.ndim != 1:
        msg = f"{name} must be a 1-dimensional array, got shape {arr.shape}"
        raise ValueError(msg)
    return arr


def as_int(x: Any, name: str, minimum: int) -> int:
    """``x`` as an int >= ``minimum`` (bools refused); errors name ``name``."""
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, numbers.Integral):
        msg = f"{name} must be an int, got {type(x).__name__}"
        raise TypeError(msg)
    if x < minimum:
        msg = f"{name} must be >= {minimum}, got {x}"
        raise ValueError(msg)
    return int(x)
