"""Pool membership: which pool position each entrant has, and who has retired.

A pool either identifies its entrants by position (``0..n-1`` of the ``scores``
array) or by string ids given with every lottery. This module maps a lottery's rows
onto pool positions (sorted, entrants only: the C++ core stores sparse columns), grows
the id list when new entrants join, and keeps the retired members, who may never
enter again.
"""

from __future__ import annotations

import itertools
from typing import Any, Optional, Sequence, Union

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._validate import as_float_vector

Member = Union[str, int]


class Entries:
    """One lottery's input, mapped onto the pool.

    Either ``dense`` (scores of every member, positions ``0..n-1``) or sparse: the
    entrants' strictly increasing ``positions`` and their ``scores``; ``rows`` are the
    caller's rows of those entrants (results go back there) and ``n_rows`` the number
    of caller rows. ``n_total`` is the pool size after the lottery; ``new_ids`` the ids
    that join.
    """

    __slots__ = ("dense", "positions", "scores", "rows", "n_rows", "n_total", "new_ids")

    def __init__(self, dense: Optional[NDArray[np.float64]], positions: Any, scores: Any,
                 rows: Any, n_rows: int, n_total: int, new_ids: list[str]) -> None:
        self.dense = dense
        self.positions = positions
        self.scores = scores
        self.rows = rows
        self.n_rows = n_rows
        self.n_total = n_total
        self.new_ids = new_ids

    def to_rows(self, values: NDArray[Any]) -> NDArray[Any]:
        """Per-entrant results (sparse order) as an array over the caller's rows."""
        if self.dense is not None:
            return values
        out = np.zeros(self.n_rows, dtype=values.dtype)
        out[self.rows] = values
        return out


class Members:
    """The entrant ids of a pool (or none, for a positional pool) and its retirees.

    Parameters
    ----------
    ids : list of str, optional
        Ids in pool order; None for a positional pool.
    """

    __slots__ = ("_ids", "_index", "_retired_index", "_retired_at", "_retired_mask")

    def __init__(self, ids: Optional[list[str]] = None) -> None:
        self._ids: Optional[list[str]] = None if ids is None else list(ids)
        self._index: dict[str, int] = (
            {} if ids is None else {x: j for j, x in enumerate(self._ids or [])}
        )
        # ids of retired members live apart from the active ones, so that a lottery's
        # lookups touch a map of the active members only (its new ids also look here)
        self._retired_index: dict[str, int] = {}
        self._retired_at: dict[int, int] = {}  # position -> lotteries before retiring
        # True at retired positions (positions past its end are not retired): a
        # lottery checks its entrants in O(entrants), whatever the number retired
        self._retired_mask = np.zeros(0, dtype=bool)

    @classmethod
    def restored(cls, ids: Any, n_entrants: int, retired: Any = None,
                 n_lotteries: int = 0) -> Members:
        """Members from saved ids and retirements, checked against the pool.

        Raises
        ------
        ValueError
            ``ids`` is not None or a list of unique str, one per entrant, or
            ``retired`` is not a list of ``[position, lottery]`` pairs in range.
        """
        if ids is None:
            out = cls(None)
        else:
            if not isinstance(ids, (list, tuple)) or not all(isinstance(x, str) for x in ids):
                msg = "ids must be None or a list of str"
                raise ValueError(msg)
            if len(ids) != n_entrants or len(set(ids)) != len(ids):
                msg = "ids do not match the pool's entrants"
                raise ValueError(msg)
            out = cls(list(ids))
        if retired is None:
            return out
        if not isinstance(retired, (list, tuple)):
            msg = "retired must be a list of [position, lottery] pairs"
            raise ValueError(msg)
        for pair in retired:
            if (not isinstance(pair, (list, tuple)) or len(pair) != 2
                    or not all(isinstance(v, int) and not isinstance(v, bool) for v in pair)):
                msg = "retired must be a list of [position, lottery] pairs of ints"
                raise ValueError(msg)
            pos, t = pair
            if not (0 <= pos < n_entrants and 0 <= t <= n_lotteries):
                msg = f"retired entry {list(pair)} is out of range"
                raise ValueError(msg)
            if pos in out._retired_at:
                msg = f"retired lists position {pos} twice"
                raise ValueError(msg)
            out._retired_at[pos] = t
        out._rebuild_mask()
        return out

    def _rebuild_mask(self, positions: Optional[list[int]] = None) -> None:
        """Move retired ids out of the active map and mark them in the mask (only
        ``positions``, the newly retired, when given)."""
        todo = list(self._retired_at) if positions is None else positions
        if self._ids is not None:
            for p in todo:
                x = self._ids[p]
                if x in self._index:
                    del self._index[x]
                    self._retired_index[x] = p
        if not todo:
            return
        size = max(self._retired_mask.size, max(todo) + 1)
        if size > self._retired_mask.size:
            grown = np.zeros(size, dtype=bool)
            grown[: self._retired_mask.size] = self._retired_mask
            self._retired_mask = grown
        self._retired_mask[np.asarray(todo, dtype=np.int64)] = True

    # ---- ids ------------------------------------------------------------------------
    @property
    def ids(self) -> Optional[list[str]]:
        """Ids in pool order (a copy), or None for a positional pool."""
        return None if self._ids is None else list(self._ids)

    # ---- retirement -----------------------------------------------------------------
    @property
    def retired_at(self) -> dict[int, int]:
        """``{position: number of lotteries recorded when it retired}`` (a copy)."""
        return dict(self._retired_at)

    def retired_state(self) -> list[list[int]]:
        """The retirements as ``[[position, lottery], ...]``, by position."""
        return [[p, t] for p, t in sorted(self._retired_at.items())]

    def label(self, pos: int) -> Member:
        """The id of position ``pos`` (the position itself in a positional pool)."""
        return pos if self._ids is None else self._ids[pos]

    def position_of(self, member: Any, n_entrants: int, name: str = "entrant") -> int:
        """The pool position of one member (an id, or a position in a pool without
        ids; retired members included); TypeError/ValueError naming ``name``."""
        if self._ids is not None:
            if not isinstance(member, str):
                msg = f"{name} must be an id (str) in this pool, got {type(member).__name__}"
                raise TypeError(msg)
            pos = self._index.get(member, self._retired_index.get(member))
            if pos is None:
                msg = f"{name}: {member!r} is not a member of this pool"
                raise ValueError(msg)
            return pos
        if isinstance(member, (bool, np.bool_)) or not isinstance(member, (int, np.integer)):
            msg = f"{name} must be a position (int) in a pool without ids, got {type(member).__name__}"
            raise TypeError(msg)
        if not 0 <= int(member) < n_entrants:
            msg = f"{name}: position {int(member)} is not in [0, {n_entrants})"
            raise ValueError(msg)
        return int(member)

    def positions_to_retire(self, members: Any, n_entrants: int) -> list[int]:
        """Pool positions of ``members`` (ids, or positions for a positional pool),
        validated; nothing changes. Already retired members are skipped."""
        if isinstance(members, (str, bytes, int, np.integer)):
            msg = "members must be a sequence (of ids, or of positions for a positional pool)"
            raise TypeError(msg)
        try:
            items = list(members)
        except TypeError:
            msg = f"members must be a sequence, got {type(members).__name__}"
            raise TypeError(msg) from None
        out: list[int] = []
        seen: set[int] = set()
        for x in items:
            if self._ids is not None:
                if not isinstance(x, str):
                    msg = f"members must be ids (str) in this pool, got {type(x).__name__}"
                    raise TypeError(msg)
                if x in self._retired_index:
                    continue  # already retired
                if x not in self._index:
                    msg = f"members: {x!r} is not a member of this pool"
                    raise ValueError(msg)
                pos = self._index[x]
            else:
                if isinstance(x, (bool, np.bool_)) or not isinstance(x, (int, np.integer)):
                    msg = (f"members must be positions (int) in a pool without ids, got "
                           f"{type(x).__name__}")
                    raise TypeError(msg)
                pos = int(x)
                if not 0 <= pos < n_entrants:
                    msg = f"members: position {pos} is not in [0, {n_entrants})"
                    raise ValueError(msg)
            if pos not in self._retired_at and pos not in seen:
                seen.add(pos)
                out.append(pos)
        return out

    def retire(self, positions: list[int], n_lotteries: int) -> None:
        """Record the retirement of ``positions`` (validated by
        :meth:`positions_to_retire`) after ``n_lotteries`` lotteries."""
        for p in positions:
            self._retired_at.setdefault(p, n_lotteries)
        self._rebuild_mask(positions)

    def _check_not_retired(self, positions: NDArray[Any]) -> None:
        mask = self._retired_mask
        if mask.size == 0 or positions.size == 0:
            return
        inside = positions[positions < mask.size]
        hit_pos = inside[mask[inside]]
        if hit_pos.size:
            hit = np.isin(positions, hit_pos)
            who = [self.label(int(p)) for p in positions[hit][:5]]
            msg = (f"scores: {int(hit.sum())} retired member(s) have a score > 0 "
                   f"(e.g. {who}); retired members never enter again")
            raise ValueError(msg)

    # ---- one lottery -----------------------------------------------------------------
    def align(
        self, scores: ArrayLike, ids: Optional[Sequence[str]], n_entrants: int
    ) -> Entries:
        """Map one lottery's scores onto the pool. Nothing is changed; call
        :meth:`extend` with the new ids once the lottery is committed.

        Raises
        ------
        ValueError
            Bad ids, or a retired member with a score > 0.
        """
        arr = as_float_vector(scores, "scores")
        if ids is None:
            if self._ids is not None and arr.size != n_entrants:
                msg = (
                    f"ids: this pool identifies its {n_entrants} entrants by id; "
                    "pass ids= (or exactly one score per member, in pool order)"
                )
                raise ValueError(msg)
            if self._retired_at:
                self._check_not_retired(np.flatnonzero(arr > 0))
            return Entries(arr, None, None, None, arr.size, arr.size, [])
        if isinstance(ids, (str, bytes)):
            msg = "ids must be a sequence of str, not a single string"
            raise TypeError(msg)
        id_list = list(ids)
        if len(id_list) != arr.size:
            msg = f"ids must have one entry per score ({arr.size}), got {len(id_list)}"
            raise ValueError(msg)
        for t in set(map(type, id_list)):  # C-speed checks: no Python loop per id
            if not issubclass(t, str):
                msg = f"ids must be str, got {t.__name__}"
                raise TypeError(msg)
        if len(set(id_list)) != len(id_list):
            msg = "ids must be unique"
            raise ValueError(msg)
        if self._ids is None and n_entrants > 0:
            msg = "ids: this pool was started without ids; entrants are positions"
            raise ValueError(msg)
        pos = np.array(list(map(self._index.get, id_list, itertools.repeat(-1))),
                       dtype=np.int64).reshape(-1)
        unknown = np.flatnonzero(pos < 0)
        if unknown.size and self._retired_index:  # retired members, listed again
            back = np.array([self._retired_index.get(id_list[j], -1) for j in unknown.tolist()],
                            dtype=np.int64).reshape(-1)
            pos[unknown] = back
            unknown = unknown[back < 0]
        new_rows = unknown
        pos[new_rows] = np.arange(n_entrants, n_entrants + new_rows.size)
        new_ids = [id_list[j] for j in new_rows.tolist()]  # in order of appearance
        n_total = n_entrants + len(new_ids)
        if n_total >= 2**32 - 1:
            msg = "ids: the pool would exceed 2**32 - 2 members"
            raise ValueError(msg)
        # only entrants are recorded; their positions sorted (the core's order)
        rows = np.flatnonzero(arr > 0)
        rows = rows[np.argsort(pos[rows], kind="stable")]
        positions = pos[rows]
        self._check_not_retired(positions)
        # non-finite / negative scores must still be refused: let the core see them
        bad = np.flatnonzero(~(arr >= 0) | ~np.isfinite(arr))
        if bad.size:
            j = int(bad[0])
            msg = f"scores must be finite and >= 0, got {arr[j]} at index {j}"
            raise ValueError(msg)
        return Entries(None, positions.astype(np.uint32), np.ascontiguousarray(arr[rows]),
                       rows, arr.size, n_total, new_ids)

    def extend(self, new_ids: list[str], used_ids: bool) -> None:
        """Append ``new_ids`` (after a committed lottery that passed ``ids=``)."""
        if not used_ids:
            return
        if self._ids is None:
            self._ids = []
        for x in new_ids:
            self._index[x] = len(self._ids)
            self._ids.append(x)
