"""Lottery divisions: division labels, seats per division, and their checks.

A divided lottery (docs/divisions.md) gives each row of ``scores`` a division label and
``k`` a mapping ``label -> seats``. The labels of one lottery are numbered in sorted
order (Unicode code points of the label text): label ``j`` of that sorted list is
division code ``j`` in the C++ core, which processes the divisions in that order. So
the result does not depend on the order of the mapping ``k``.

Labels are str, or integers stored as their decimal text (like ids: ``7`` and ``"7"``
are the same division); every label must be non-empty.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence

import numpy as np
from numpy.typing import NDArray

from .. import _pandas

__all__ = [
    "MAX_DIVISIONS",
    "DivisionPlan",
    "check_division_records",
    "division_state_prefix",
    "label_text",
    "member_labels",
    "plan",
    "waitlist_counts",
]

#: Division codes are uint16 in the core.
MAX_DIVISIONS = 1 << 16


@dataclass(frozen=True)
class DivisionPlan:
    """One divided lottery, checked: ``labels`` (sorted; code ``j`` is ``labels[j]``),
    ``codes`` (one per row of scores; rows of non-entrants whose label is not in ``k``
    get 0, never read), ``seats`` (per code) and ``entrants`` (score > 0, per code)."""

    labels: list[str]
    codes: NDArray[np.uint16]
    seats: NDArray[np.int64]
    entrants: NDArray[np.int64]

    @property
    def k(self) -> int:
        """Total seats (the sum over divisions)."""
        return int(self.seats.sum())


def _label_array(values: Any) -> NDArray[np.str_]:
    """The labels as a 1-D str array: str as they are, integers as their decimal text;
    anything else (floats, None, bools, a single string) is a TypeError. Arrays of str
    or ints, and lists of str, are converted without Python work per label."""
    if isinstance(values, (str, bytes)):
        msg = "divisions must be a sequence of labels, not a single string"
        raise TypeError(msg)
    if isinstance(values, np.ndarray):
        if values.ndim != 1:
            msg = f"divisions must be one-dimensional, got shape {values.shape}"
            raise ValueError(msg)
        kind = values.dtype.kind
        if kind == "U":
            return values
        if kind in "iu":
            return values.astype(str)
        if kind != "O":
            msg = f"divisions must be str or integer labels, got dtype {values.dtype}"
            raise TypeError(msg)
        items = values.tolist()
    else:
        try:
            items = list(values)
        except TypeError:
            msg = f"divisions must be a sequence of labels, got {type(values).__name__}"
            raise TypeError(msg) from None
    types = set(map(type, items))
    if types and all(issubclass(t, str) for t in types):
        return np.array(items, dtype=str)
    out = _pandas.ids_list(items, "divisions")  # ints (or a mix): checked one by one
    return np.array(out or [], dtype=str)


def label_text(x: Any, name: str) -> str:
    """One division label as text: a non-empty str, or an int as its decimal text."""
    out = _pandas.ids_list([x], name)
    assert out is not None
    if out[0] == "":
        msg = f"{name}: division labels must be non-empty"
        raise ValueError(msg)
    return out[0]


def _seats(value: Any, label: str) -> int:
    from .draw import as_count  # (draw imports nothing from here)

    return as_count(value, f"k[{label!r}]")


def plan(divisions: Any, k: Any, scores: NDArray[np.float64],
         series: Optional[Any] = None) -> Optional[DivisionPlan]:
    """Check ``divisions`` (labels, one per row of ``scores``) against ``k`` and return
    the plan, or None for an undivided lottery (``divisions is None`` and an int ``k``).

    Raises
    ------
    TypeError
        ``k`` a mapping without ``divisions`` or not a mapping with them; labels that
        are not str or int; seats that are not whole numbers.
    ValueError
        Wrong length, empty labels, an entrant's label missing from ``k``, a ``k``
        label with no row, seats negative or above that division's entrants.
    """
    if divisions is None:
        if isinstance(k, Mapping):
            msg = ("divisions: k is a mapping of seats per division, so divisions (one "
                   "label per row of scores) is needed")
            raise TypeError(msg)
        return None
    if not isinstance(k, Mapping):
        msg = (f"k must be a mapping division label -> seats when divisions are given, "
               f"got {type(k).__name__}")
        raise TypeError(msg)
    values, div_series = _pandas.unwrap(divisions)
    if series is not None and div_series is not None:
        _pandas.common_series(series, div_series)
    rows = _label_array(values)
    if rows.size != scores.size:
        msg = f"divisions must have one label per row of scores ({scores.size}), got {rows.size}"
        raise ValueError(msg)
    empty = np.flatnonzero(rows == "")
    if empty.size:
        msg = f"divisions: division labels must be non-empty (row {int(empty[0])})"
        raise ValueError(msg)
    seats: dict[str, int] = {}
    for key, value in k.items():
        label = label_text(key, "k")
        if label in seats:
            msg = f"k names division {label!r} twice"
            raise ValueError(msg)
        seats[label] = _seats(value, label)
    labels = sorted(seats)
    if not labels:
        msg = "k must name at least one division"
        raise ValueError(msg)
    if len(labels) > MAX_DIVISIONS:
        msg = f"k: at most {MAX_DIVISIONS} divisions, got {len(labels)}"
        raise ValueError(msg)
    # codes by binary search in the sorted labels (NumPy compares str by code point,
    # like Python's sorted): no Python work per row
    table = np.array(labels, dtype=str)
    at = np.minimum(np.searchsorted(table, rows), len(labels) - 1)
    raw = np.where(table[at] == rows, at, -1).astype(np.int64)
    entered = scores > 0
    missing = np.flatnonzero(entered & (raw < 0))
    if missing.size:
        names = np.unique(rows[missing]).tolist()
        msg = (f"k: no seats given for division(s) {names[:5]} of {missing.size} "
               f"entrant(s) with a score > 0")
        raise ValueError(msg)
    present = np.zeros(len(labels), dtype=bool)
    present[raw[raw >= 0]] = True
    if not present.all():
        msg = f"k: division(s) {[labels[j] for j in np.flatnonzero(~present)[:5]]} have no row"
        raise ValueError(msg)
    codes = np.where(raw < 0, 0, raw)
    entrants = np.bincount(codes[entered], minlength=len(labels)).astype(np.int64)
    ks = np.array([seats[x] for x in labels], dtype=np.int64)
    over = np.flatnonzero(ks > entrants)
    if over.size:
        j = int(over[0])
        msg = (f"k[{labels[j]!r}] must be <= that division's entrants with a score > 0 "
               f"({int(entrants[j])}), got {int(ks[j])}")
        raise ValueError(msg)
    return DivisionPlan(labels, codes.astype(np.uint16), ks, entrants)


def check_division_records(raw: Any, n_divisions: NDArray[np.int64]) -> list[Optional[list[str]]]:
    """The saved label tables (one per lottery: None when undivided, else the sorted,
    unique, non-empty labels, as many as the lottery's divisions); ValueError else."""
    n_t = int(n_divisions.size)
    if raw is None:
        if np.any(n_divisions):
            msg = "invalid LotteryPool state: divided lotteries without division labels"
            raise ValueError(msg)
        return [None] * n_t
    if not isinstance(raw, (list, tuple)) or len(raw) != n_t:
        msg = "invalid LotteryPool state: division_labels must be a list, one per lottery"
        raise ValueError(msg)
    out: list[Optional[list[str]]] = []
    for t, labels in enumerate(raw):
        d = int(n_divisions[t])
        if labels is None:
            if d:
                msg = f"invalid LotteryPool state: lottery {t + 1} has {d} divisions but no labels"
                raise ValueError(msg)
            out.append(None)
            continue
        if (not isinstance(labels, (list, tuple)) or d == 0 or len(labels) != d
                or not all(isinstance(x, str) and x for x in labels)
                or list(labels) != sorted(set(labels))):
            msg = (f"invalid LotteryPool state: the division labels of lottery {t + 1} must "
                   "be a non-empty list of sorted, unique, non-empty str, one per division")
            raise ValueError(msg)
        out.append(list(labels))
    return out


def member_labels(n_entrants: int, positions: NDArray[Any], scores: NDArray[Any],
                  codes: NDArray[Any], labels: Optional[Sequence[str]]) -> list[Optional[str]]:
    """Each pool member's division label at one lottery (None: did not enter, i.e. no
    score > 0, or the lottery is undivided)."""
    out = np.full(n_entrants, None, dtype=object)
    if labels is not None:
        keep = scores > 0
        out[positions[keep]] = np.array(labels, dtype=object)[codes[keep]]
    return list(out.tolist())


def waitlist_counts(waitlist: Any, dplan: DivisionPlan) -> NDArray[np.int64]:
    """Alternates per division (code order): an int is that many in every division, a
    mapping ``label -> count`` each division's own (absent labels: 0). Each count must
    be <= the division's entrants who do not win (``entrants - seats``)."""
    from .draw import as_count

    n_div = len(dplan.labels)
    if isinstance(waitlist, Mapping):
        counts = np.zeros(n_div, dtype=np.int64)
        code_of = {x: j for j, x in enumerate(dplan.labels)}
        for key, value in waitlist.items():
            label = label_text(key, "waitlist")
            if label not in code_of:
                msg = f"waitlist: {label!r} is not a division of this lottery"
                raise ValueError(msg)
            counts[code_of[label]] = as_count(value, f"waitlist[{label!r}]")
    else:
        counts = np.full(n_div, as_count(waitlist, "waitlist"), dtype=np.int64)
    spare = dplan.entrants - dplan.seats
    over = np.flatnonzero(counts > spare)
    if over.size:
        j = int(over[0])
        msg = (f"waitlist[{dplan.labels[j]!r}] must be <= that division's entrants - seats "
               f"= {int(spare[j])} (the entrants who do not win), got {int(counts[j])}")
        raise ValueError(msg)
    return counts


def division_state_prefix(division_state: Any, lengths: NDArray[np.int64],
                          t: int) -> tuple[Any, Any, Any]:
    """The core's division state (n_divisions, seats, codes) of lotteries ``0..t``."""
    n_div, seats, codes = division_state
    n_div = n_div[: t + 1]
    n_codes = int(lengths[: t + 1][n_div > 0].sum())
    return n_div, seats[: int(n_div.sum())], codes[:n_codes]


def state_of(core: Any, labels: Sequence[Optional[list[str]]]) -> dict[str, Any]:
    """The division part of a pool's state: ``division_labels`` (per lottery: None or
    the sorted labels), ``division_k`` (the seats of every division of the divided
    lotteries, in order) and ``division_codes`` (the code of every entry of the
    divided lotteries, in order). Undivided lotteries add nothing to the arrays."""
    _n_div, seats, codes = core.division_state()
    return {
        "division_labels": [None if x is None else list(x) for x in labels],
        "division_k": seats,
        "division_codes": codes,
    }


def restored_state(st: dict[str, Any], n_lotteries: int,
                   state_array: Any) -> tuple[list[Optional[list[str]]], tuple[Any, ...]]:
    """The labels and the core's division arrays ``(n_divisions, seats, codes)`` of a
    state (absent before format 4: every lottery undivided, no arrays); ValueError
    when malformed. ``state_array(st, key, kinds, dtype)`` reads one checked array."""
    raw = st.get("division_labels")
    if raw is None and st.get("division_k") is None and st.get("division_codes") is None:
        return [None] * n_lotteries, ()
    if not isinstance(raw, (list, tuple)) or len(raw) != n_lotteries:
        msg = "invalid LotteryPool state: division_labels must be a list, one per lottery"
        raise ValueError(msg)
    n_div = np.array([0 if x is None else len(x) if isinstance(x, (list, tuple)) else -1
                      for x in raw], dtype=np.int64)
    if np.any(n_div < 0) or np.any(n_div > MAX_DIVISIONS):
        msg = "invalid LotteryPool state: division_labels must hold None or lists of labels"
        raise ValueError(msg)
    labels = check_division_records(raw, n_div)
    seats = state_array(st, "division_k", "iu", np.int64)
    codes = state_array(st, "division_codes", "iu", np.uint16)
    return labels, (n_div, seats, codes)
