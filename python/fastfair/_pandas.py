"""pandas Series support by duck typing (fastfair never imports pandas).

A *Series-like* is any one-dimensional object with ``.index`` and ``.to_numpy()`` (a
``pandas.Series``; a DataFrame is two-dimensional and is not one). When scores arrive as
a Series, its index labels are the entrants' ids and the result comes back as a Series
of the same type with the same index, so nothing is silently re-ordered or dropped.

Ids may be str or integer labels (``ids=s.index`` of a default ``RangeIndex`` works),
not a mix of both; integer labels are stored as their decimal text (``7`` and ``"7"``
are the same id).
"""

from __future__ import annotations

import numbers
from typing import Any, Optional

import numpy as np

__all__ = ["common_series", "ids_list", "is_series", "rewrap", "series_ids", "unwrap"]


def is_series(x: Any) -> bool:
    """True for a one-dimensional labelled array (pandas.Series or look-alike)."""
    return (
        not isinstance(x, np.ndarray)
        and getattr(x, "ndim", None) == 1
        and hasattr(x, "index")
        and callable(getattr(x, "to_numpy", None))
    )


def unwrap(x: Any) -> tuple[Any, Optional[Any]]:
    """``(values, series)``: the Series' values and the Series itself, or ``(x, None)``."""
    if is_series(x):
        return x.to_numpy(), x
    return x, None


def ids_list(ids: Any, name: str = "ids") -> Optional[list[str]]:
    """Entrant ids as a list of str: str labels as they are, integer labels (Python or
    NumPy ints, not bools) as their decimal text; anything else is a TypeError."""
    if ids is None:
        return None
    if isinstance(ids, (str, bytes)):
        msg = f"{name} must be a sequence of str, not a single string"
        raise TypeError(msg)
    if hasattr(ids, "tolist") and callable(ids.tolist):  # Index, ndarray: native scalars
        ids = ids.tolist()
    out: list[str] = []
    n_str = 0
    for x in ids:
        if isinstance(x, str):
            out.append(x)
            n_str += 1
        elif isinstance(x, numbers.Integral) and not isinstance(x, (bool, np.bool_)):
            out.append(str(int(x)))
        else:
            msg = f"{name} must be str or integer labels, got {type(x).__name__}"
            raise TypeError(msg)
    if 0 < n_str < len(out):
        msg = f"{name} must be all str or all integer labels, not a mix"
        raise TypeError(msg)
    return out


def series_ids(series: Optional[Any], ids: Any) -> Any:
    """The ids to use: the explicit ``ids`` if given, else the Series' index labels."""
    if ids is not None or series is None:
        return ids
    return series.index


def rewrap(result: Any, series: Optional[Any]) -> Any:
    """``result`` as a Series like ``series`` (same index and name), or unchanged."""
    if series is None:
        return result
    return type(series)(result, index=series.index, name=series.name)


def common_series(*args: Any) -> Optional[Any]:
    """The first Series among ``args``; ValueError if two Series have different indexes."""
    first = None
    for x in args:
        if is_series(x):
            if first is None:
                first = x
            elif not first.index.equals(x.index):
                msg = "Series arguments must share one index (align them first)"
                raise ValueError(msg)
    return first
