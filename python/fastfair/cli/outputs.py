"""The CSV files a lottery publishes: ``winners.csv``, ``odds.csv`` and ``waitlist.csv``.

Both have the columns ``id,score,probability,lottery,seed``:

* ``score`` and ``probability`` are printed as the *shortest round-trip* decimal of the
  float64 value (Python's ``repr``): parsing the printed text gives back exactly the
  number the draw used, so nothing is rounded away, ``0.4`` prints as ``0.4`` (not
  ``0.40000000000000002``), and two entrants with the same probability print the same
  text. The printed odds of a lottery therefore sum to ``k`` exactly as closely as the
  draw's own float64 probabilities do.
* ``lottery`` is the lottery's number in the pool (1 for the first lottery).
* ``seed`` is the 64-bit seed the draw used (for ``odds.csv`` before a draw: the seed
  given on the command line, or empty when it is not known yet).
* ``seed_string``, a sixth column present only when the lottery's seed was a string
  (e.g. published lottery numbers or a beacon value): that string; ``seed`` then holds
  the 64-bit seed it hashes to.
* ``division``, present only for a lottery with divisions (``--division-column``), right
  after ``id``: the entrant's division label.

``waitlist.csv`` (:func:`waitlist_text`) has the columns ``position,id,lottery,seed``
(position 1 = the first alternate); for a lottery drawn by division ``division`` follows
``id`` and positions count within each division.

The writers take a path or an open text file and write straight to it; they never
rename anything (the draw command writes temporary files and renames them itself).
"""

from __future__ import annotations

import csv
import io
import os
from collections import Counter
from typing import IO, Any, Iterable, Optional, Sequence, Union

import numpy as np

__all__ = [
    "COLUMNS",
    "format_float",
    "odds_text",
    "pool_seed",
    "waitlist_text",
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


def pool_seed(pool: Any, t: int = -1) -> tuple[int, Optional[str]]:
    """The 64-bit seed of lottery ``t`` of ``pool`` and its string seed (None when the
    seed was not a string, or the pool does not record string seeds)."""
    seed = int(pool.seeds[t])
    strings = getattr(pool, "seed_strings", None)
    text = None
    if strings is not None:
        try:
            text = strings[t]
        except (IndexError, TypeError):
            text = None
    return seed, (None if text is None else str(text))


def _seed_columns(
    seed: Optional[Union[int, str]], seed_string: Optional[str]
) -> tuple[str, Optional[str]]:
    """The ``seed`` column text and the ``seed_string`` column (None: no column)."""
    if isinstance(seed, str):
        from .. import _seed

        to_int = getattr(_seed, "seed_from_string", None)
        if to_int is None:
            msg = "this fastfair has no string seeds; pass the 64-bit seed"
            raise TypeError(msg)
        seed_string, seed = seed, int(to_int(seed))
    return ("" if seed is None else str(int(seed))), seed_string


def _rows(
    ids: Sequence[str],
    scores: Any,
    probabilities: Any,
    lottery: int,
    seed_text: str,
    keep: Optional[Any] = None,
    seed_string: Optional[str] = None,
    divisions: Optional[Sequence[str]] = None,
) -> Iterable[tuple[object, ...]]:
    s = np.asarray(scores, dtype=np.float64)
    p = np.asarray(probabilities, dtype=np.float64)
    if not len(ids) == s.shape[0] == p.shape[0]:
        msg = (
            f"ids, scores and probabilities must have the same length, got "
            f"{len(ids)}, {s.shape[0]}, {p.shape[0]}"
        )
        raise ValueError(msg)
    if divisions is not None and len(divisions) != len(ids):
        msg = f"divisions must have one label per entrant ({len(ids)}), got {len(divisions)}"
        raise ValueError(msg)
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
    tail = () if seed_string is None else (seed_string,)
    if divisions is not None:
        return ((ids[i], divisions[i], repr(sl[i]), repr(pl[i]), int(lottery), seed_text,
                 *tail) for i in index)
    return ((ids[i], repr(sl[i]), repr(pl[i]), int(lottery), seed_text, *tail)
            for i in index)


def _write(target: Target, rows: Iterable[Sequence[object]],
           seed_string: Optional[str] = None, divided: bool = False) -> int:
    header: tuple[str, ...] = COLUMNS if seed_string is None else (*COLUMNS, "seed_string")
    if divided:
        header = (header[0], "division", *header[1:])

    def emit(fh: IO[str]) -> int:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
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
    seed_string: Optional[str] = None,
    divisions: Optional[Sequence[str]] = None,
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
        The seed the draw used: the 64-bit seed, or the string seed (hashed to the
        64-bit seed by fastfair's documented rule).
    seed_string : str, optional
        The string the 64-bit ``seed`` came from; adds the ``seed_string`` column.
    divisions : sequence of str, optional
        Every entrant's division label (a lottery with divisions); adds the
        ``division`` column after ``id``.

    Returns
    -------
    int
        The number of rows (winners) written.
    """
    seed_text, text = _seed_columns(seed, seed_string)
    rows = _rows(ids, scores, probabilities, lottery, seed_text, keep=won, seed_string=text,
                 divisions=divisions)
    return _write(target, rows, text, divisions is not None)


def write_odds(
    target: Target,
    ids: Sequence[str],
    scores: Any,
    probabilities: Any,
    *,
    lottery: int,
    seed: Optional[Union[int, str]] = None,
    seed_string: Optional[str] = None,
    divisions: Optional[Sequence[str]] = None,
) -> int:
    """Write ``odds.csv``: one row per entrant (every row of ``ids``), in that order.

    ``lottery`` is the number the lottery will have (or has) in the pool; ``seed`` is
    the draw's seed when known (else the column is empty) and ``divisions`` every
    entrant's division, as for :func:`write_winners`. Returns the rows written.
    """
    seed_text, text = _seed_columns(seed, seed_string)
    rows = _rows(ids, scores, probabilities, lottery, seed_text, seed_string=text,
                 divisions=divisions)
    return _write(target, rows, text, divisions is not None)


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


def waitlist_text(pool: Any) -> str:
    """The last lottery's waitlist as CSV (see the module docstring)."""
    from .divisions import labels_of
    from .files import csv_text

    seed, _text = pool_seed(pool)
    alternates = pool.waitlist()
    labels = labels_of(pool, alternates)
    if labels is None:
        return csv_text(["position", "id", "lottery", "seed"],
                        [(j + 1, x, pool.n_lotteries, seed)
                         for j, x in enumerate(alternates)])
    place: Counter[Optional[str]] = Counter()
    rows: list[tuple[object, ...]] = []
    for x, label in zip(alternates, labels):
        place[label] += 1
        rows.append((place[label], x, label, pool.n_lotteries, seed))
    return csv_text(["position", "id", "division", "lottery", "seed"], rows)
