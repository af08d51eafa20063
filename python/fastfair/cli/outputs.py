"""The CSV files a lottery publishes: ``winners.csv`` and ``odds.csv``.

Both have the columns ``id,score,probability,lottery,seed``:

* ``score`` and ``probability`` are printed as the *shortest round-trip* decimal of the
  float64 value (Python's ``repr``): parsing the printed text gives back exactly the
  number the draw used, so nothing is rounded away, ``0.4`` prints as ``0.4`` (not
  ``0.40000000000000002``), and two entrants with the same probability print the same
  text. The printed odds of a lottery therefore sum to ``k`` exactly as closely as the
  draw's own float64 probabilities do.
* ``lottery`` is the lottery's number in the pool (1 for the first lottery).
* ``seed`` is the seed the draw used (for ``odds.csv`` before a draw: the seed given on
  the command line, or empty when it is not known yet).

The writers take a path or an open text file and write straight to it; they never
rename anything (the draw command writes temporary files and renames them itself).
"""

from __future__ import annotations

import csv
import io
import os
from typing import IO, Any, Iterable, Optional, Sequence, Union

import numpy as np

__all__ = [
    "COLUMNS",
    "format_float",
    "odds_text",
    "winners_text",
    "write_odds",
    "write_winners",
]

#: Column names of ``winners.csv`` and ``odds.csv``.
COLUMNS = ("id", "score", "probability", "lottery", "seed")

Target = Union[str, "os.PathLike[str]", IO[str]]


def format_float(x: float) -> str:
    """The shortest decimal text that parses back to exactly ``x`` (float64 ``repr``)."""
    return repr(float(x))


def _rows(
    ids: Sequence[str],
    scores: Any,
    probabilities: Any,
    lottery: int,
    seed: Optional[Union[int, str]],
    keep: Optional[Any] = None,
) -> Iterable[tuple[str, str, str, int, str]]:
    s = np.asarray(scores, dtype=np.float64)
    p = np.asarray(probabilities, dtype=np.float64)
    if not len(ids) == s.shape[0] == p.shape[0]:
        msg = (
            f"ids, scores and probabilities must have the same length, got "
            f"{len(ids)}, {s.shape[0]}, {p.shape[0]}"
        )
        raise ValueError(msg)
    seed_text = "" if seed is None else str(seed)
    index: Iterable[int]
    if keep is None:
        index = range(len(ids))
    else:
        mask = np.asarray(keep).astype(bool)
        if mask.shape != s.shape:
            msg = f"winners must have one entry per entrant ({s.shape[0]}), got {mask.shape}"
            raise ValueError(msg)
        index = np.flatnonzero(mask).tolist()
    # tolist() gives Python floats, whose str() is the shortest round-trip repr
    sl, pl = s.tolist(), p.tolist()
    return ((ids[i], repr(sl[i]), repr(pl[i]), int(lottery), seed_text) for i in index)


def _write(target: Target, rows: Iterable[Sequence[object]]) -> int:
    def emit(fh: IO[str]) -> int:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(COLUMNS)
        n = 0
        for row in rows:
            writer.writerow(row)
            n += 1
        return n

    if hasattr(target, "write"):
        return emit(target)  # type: ignore[arg-type]
    with open(os.fspath(target), "w", encoding="utf-8", newline="") as fh:
        return emit(fh)


def write_winners(
    target: Target,
    ids: Sequence[str],
    scores: Any,
    probabilities: Any,
    won: Any,
    *,
    lottery: int,
    seed: Union[int, str],
) -> int:
    """Write ``winners.csv``: one row per winner, in the order of ``ids``.

    Parameters
    ----------
    target : path or text file
        Written directly (opened with ``"w"`` when a path); never renamed.
    ids, scores, probabilities, won : sequences of the same length
        Every entrant of the lottery (``won`` is 0/1); only winners are written.
    lottery : int
        The lottery's number in the pool (1-based).
    seed : int or str
        The seed the draw used.

    Returns
    -------
    int
        The number of rows (winners) written.
    """
    return _write(target, _rows(ids, scores, probabilities, lottery, seed, keep=won))


def write_odds(
    target: Target,
    ids: Sequence[str],
    scores: Any,
    probabilities: Any,
    *,
    lottery: int,
    seed: Optional[Union[int, str]] = None,
) -> int:
    """Write ``odds.csv``: one row per entrant (every row of ``ids``), in that order.

    ``lottery`` is the number the lottery will have (or has) in the pool; ``seed`` is
    the draw's seed when known (else the column is empty). Returns the rows written.
    """
    return _write(target, _rows(ids, scores, probabilities, lottery, seed))


def winners_text(*args: Any, **kwargs: Any) -> str:
    """:func:`write_winners` into a string."""
    buf = io.StringIO()
    write_winners(buf, *args, **kwargs)
    return buf.getvalue()


def odds_text(*args: Any, **kwargs: Any) -> str:
    """:func:`write_odds` into a string."""
    buf = io.StringIO()
    write_odds(buf, *args, **kwargs)
    return buf.getvalue()
