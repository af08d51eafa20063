"""Pool membership: which pool position each entrant id has.

A pool either identifies its entrants by position (``0..n-1`` of the ``scores``
array) or by string ids given with every lottery; this module maps a lottery's rows
onto pool positions and grows the id list when new entrants join.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._validate import as_float_vector


class Members:
    """The entrant ids of a pool (or none, for a positional pool).

    Parameters
    ----------
    ids : list of str, optional
        Ids in pool order; None for a positional pool.
    """

    __slots__ = ("_ids", "_index")

    def __init__(self, ids: Optional[list[str]] = None) -> None:
        self._ids: Optional[list[str]] = None if ids is None else list(ids)
        self._index: dict[str, int] = (
            {} if ids is None else {x: j for j, x in enumerate(self._ids or [])}
        )

    @classmethod
    def restored(cls, ids: Any, n_entrants: int) -> Members:
        """Members from saved ids, checked against the pool's entrant count.

        Raises
        ------
        ValueError
            ``ids`` is not None or a list of unique str, one per entrant.
        """
        if ids is None:
            return cls(None)
        if not isinstance(ids, (list, tuple)) or not all(isinstance(x, str) for x in ids):
            msg = "ids must be None or a list of str"
            raise ValueError(msg)
        if len(ids) != n_entrants or len(set(ids)) != len(ids):
            msg = "ids do not match the pool's entrants"
            raise ValueError(msg)
        return cls(ids)

    @property
    def ids(self) -> Optional[list[str]]:
        """Ids in pool order (a copy), or None for a positional pool."""
        return None if self._ids is None else list(self._ids)

    def align(
        self, scores: ArrayLike, ids: Optional[Sequence[str]], n_entrants: int
    ) -> tuple[NDArray[np.float64], Optional[NDArray[np.intp]], list[str]]:
        """Scores in pool order, the positions of the caller's rows, and new ids.

        Nothing is changed; call :meth:`extend` with the new ids once the lottery
        is committed.
        """
        arr = as_float_vector(scores, "scores")
        if ids is None:
            if self._ids is not None and arr.size != n_entrants:
                msg = (
                    f"ids: this pool identifies its {n_entrants} entrants by id; "
                    "pass ids= (or exactly one score per member, in pool order)"
                )
                raise ValueError(msg)
            return arr, None, []
        if isinstance(ids, (str, bytes)):
            msg = "ids must be a sequence of str, not a single string"
            raise TypeError(msg)
        id_list = list(ids)
        if len(id_list) != arr.size:
            msg = f"ids must have one entry per score ({arr.size}), got {len(id_list)}"
            raise ValueError(msg)
        for x in id_list:
            if not isinstance(x, str):
                msg = f"ids must be str, got {type(x).__name__}"
                raise TypeError(msg)
        if len(set(id_list)) != len(id_list):
            msg = "ids must be unique"
            raise ValueError(msg)
        if self._ids is None and n_entrants > 0:
            msg = "ids: this pool was started without ids; entrants are positions"
            raise ValueError(msg)
        known = self._index
        new_ids = [x for x in id_list if x not in known]
        n_total = n_entrants + len(new_ids)
        new_pos = {x: n_entrants + j for j, x in enumerate(new_ids)}
        pos = np.fromiter(
            (known[x] if x in known else new_pos[x] for x in id_list),
            dtype=np.intp,
            count=len(id_list),
        )
        full = np.zeros(n_total)
        full[pos] = arr
        return full, pos, new_ids

    def extend(self, new_ids: list[str], used_ids: bool) -> None:
        """Append ``new_ids`` (after a committed lottery that passed ``ids=``)."""
        if not used_ids:
            return
        if self._ids is None:
            self._ids = []
        for x in new_ids:
            self._index[x] = len(self._ids)
            self._ids.append(x)
