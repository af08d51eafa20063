"""Lottery divisions on the command line: ``--division-column`` and ``-k LABEL=SEATS``.

    fastfair lottery draw POOL ENTRANTS.csv --division-column division -k F=50 -k M=50
    fastfair lottery preview POOL ENTRANTS.csv --division-column 3 -k F=50 -k M=50

One pool, its entrants partitioned into divisions (e.g. F / M / masters), each with its
own number of seats: every draw gives every division exactly its seats, and fairness
across lotteries runs within each division (see the pool's ``run_lottery(...,
divisions=...)``). The entrants file names each entrant's division in the column given
by ``--division-column`` (a header name or a 1-based position). Without it, ``-k`` is
one whole number, as always.

Rules (each a one-line error, exit code 2, before the pool is changed):

- ``-k LABEL=SEATS`` needs ``--division-column``; with ``--division-column`` every
  ``-k`` is ``LABEL=SEATS`` (a plain ``-k 50`` is refused), one per division (a label
  given twice is refused); SEATS is a whole number >= 0; a plain ``-k`` is given once.
- Every division with entrants (score > 0) in the file has seats (``-k LABEL=0`` gives
  a division none); a division's seats are at most its entrants; every ``-k`` label
  has a row in the file (a mistyped one suggests the label it resembles).
- ``--waitlist M`` draws M alternates in every division, ``--waitlist LABEL=M`` (once
  per division, absent ones: none) a division's own; each division needs that many
  entrants who do not win.
- Labels are the text of the cell, stripped of surrounding whitespace, never empty;
  case matters (``F`` and ``f`` are two divisions).

Read back: :func:`division_info` (a lottery's seats and entrants per division),
:func:`member_divisions` and :func:`labels_of` (who was in which division), and
:func:`check_quotas` (each division's winners counted against its seats).
"""

from __future__ import annotations

import argparse
import difflib
import shlex
from collections import Counter
from typing import Any, Mapping, Optional, Sequence, Union

from .argtypes import whole_number
from .errors import CliError
from .files import Entrants, _column

__all__ = [
    "Seats",
    "add_options",
    "check_field",
    "check_quotas",
    "division_info",
    "labels_of",
    "library_kwargs",
    "member_divisions",
    "resolve_seats",
    "resolve_waitlist",
    "seats_value",
    "odds_lines",
    "summary_lines",
]

Seats = Union[int, dict[str, int]]
"""The seats of a lottery: one whole number, or division label -> seats."""


def seats_value(text: str) -> Union[int, tuple[str, int]]:
    """An ``-k`` value: a whole number, or ``LABEL=SEATS`` (split at the last ``=``,
    so a label may contain ``=``)."""
    if "=" not in text:
        return whole_number(text)
    label, _eq, raw = text.rpartition("=")
    label = label.strip()
    if not label:
        msg = f"expected LABEL=SEATS with a non-empty division label, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    try:
        count = int(raw)
    except ValueError:
        msg = f"division {label!r}: expected a whole number, got {raw!r}"
        raise argparse.ArgumentTypeError(msg) from None
    if count < 0:
        msg = f"division {label!r}: expected a whole number >= 0, got {count}"
        raise argparse.ArgumentTypeError(msg)
    return label, count


def add_options(q: argparse.ArgumentParser) -> None:
    """``-k`` (repeatable) and ``--division-column`` for ``lottery draw``/``preview``."""
    q.add_argument("-k", "--winners", type=seats_value, action="append", required=True,
                   dest="k", metavar="K|LABEL=SEATS",
                   help="number of winners of this lottery; with --division-column, "
                        "the seats of each division, one -k per division "
                        "(-k F=50 -k M=50)")
    q.add_argument("--division-column", type=_column, default=None, metavar="NAME|N",
                   help="the entrants column holding each entrant's division (a header "
                        "name or a 1-based position): each division gets exactly its "
                        "seats (-k LABEL=SEATS)")


def resolve_seats(args: argparse.Namespace) -> Seats:
    """The ``-k`` values of ``args`` as one int, or label -> seats with
    ``--division-column`` (the rules of the module docstring)."""
    return _resolve(args.k, args.division_column is not None, "-k", "the seats",
                    plain_per_division=False)


def resolve_waitlist(args: argparse.Namespace) -> Seats:
    """The ``--waitlist`` values: one int (with divisions: that many alternates in
    every division), or label -> alternates (``--waitlist F=5``, divisions only)."""
    values = getattr(args, "waitlist", None) or [0]
    return _resolve(values, args.division_column is not None, "--waitlist",
                    "the alternates", plain_per_division=True)


def _resolve(values: Sequence[Union[int, tuple[str, int]]], divided: bool, option: str,
             what: str, plain_per_division: bool) -> Seats:
    pairs = [v for v in values if isinstance(v, tuple)]
    plain = [v for v in values if not isinstance(v, tuple)]
    if pairs and not divided:
        label, n = pairs[0]
        msg = (f"{option} {label}={n} gives {what} of a division: name the entrants' "
               f"division column with --division-column (or give {option} one number)")
        raise CliError(msg)
    if plain and divided and not plain_per_division:
        msg = (f"{option} {plain[0]}: with --division-column give {what} of each division "
               f"as {option} LABEL=SEATS (e.g. {option} F=50 {option} M=50)")
        raise CliError(msg)
    if len(plain) > 1 or (plain and pairs):
        shown = " ".join(f"{option} {v[0]}={v[1]}" if isinstance(v, tuple) else
                         f"{option} {v}" for v in values)
        msg = (f"{option} given {len(values)} times ({shown}); give one number"
               + (f", or one {option} LABEL=N per division" if divided else " once"))
        raise CliError(msg)
    if plain:
        return int(plain[0])
    twice = [label for label, n in Counter(label for label, _s in pairs).items() if n > 1]
    if twice:
        msg = f"{option}: division {twice[0]!r} is given more than once"
        raise CliError(msg)
    return {label: n for label, n in pairs}


def _opt(option: str, label: str, n: Union[int, str]) -> str:
    """``-k LABEL=N`` as the user would type it (quoted when the shell needs it)."""
    return f"{option} {shlex.quote(f'{label}={n}')}"


def _unknown(option: str, label: str, n: int, rows: Counter[str], path: str) -> CliError:
    """A division label of ``-k``/``--waitlist`` that no row of the file has."""
    close = [x for x in rows if x.casefold() == label.casefold()]
    close = close or difflib.get_close_matches(label, list(rows), n=1)
    hint = (f"did you mean {close[0]!r}?" if close else
            "its divisions: " + ", ".join(repr(x) for x in sorted(rows)[:10]))
    return CliError(f"{_opt(option, label, n)}: no entrant of {path} is in division "
                    f"{label!r} ({hint})")


def check_field(table: Entrants, seats: Seats, path: str, waitlist: Seats = 0) -> None:
    """The entrants file against the seats and alternates: every ``-k`` and
    ``--waitlist`` label has a row, every division with entrants has seats, no division
    gets more seats than entrants, nor more alternates than entrants left after its
    seats."""
    if table.divisions is None or not isinstance(seats, dict):
        return
    rows: Counter[str] = Counter(table.divisions)
    entrants: Counter[str] = Counter(
        d for d, s in zip(table.divisions, table.scores) if s > 0)
    alternates = waitlist if isinstance(waitlist, dict) else {}
    for option, given in (("-k", seats), ("--waitlist", alternates)):
        for label, n in given.items():
            if label not in rows:
                raise _unknown(option, label, n, rows, path)
    for label, n in entrants.items():
        if label not in seats:
            msg = (f"division {label!r} has {n:,} entrant(s) in {path} but no seats: add "
                   f"{_opt('-k', label, 'SEATS')} ({_opt('-k', label, 0)} for none)")
            raise CliError(msg)
    for label, k in seats.items():
        if k > entrants[label]:
            msg = (f"{_opt('-k', label, k)}: division {label!r} has only "
                   f"{entrants[label]:,} entrant(s) with a score > 0 in {path}")
            raise CliError(msg)
    every = waitlist if isinstance(waitlist, int) else 0  # alternates in every division
    for label, k in seats.items():
        m = alternates.get(label, every)
        spare = entrants[label] - k
        if m > spare:
            shown = _opt("--waitlist", label, m) if alternates else f"--waitlist {m}"
            msg = (f"{shown}: division {label!r} has only {spare:,} entrant(s) who do not "
                   f"win ({entrants[label]:,} entrant(s), {k:,} seat(s)) in {path}")
            raise CliError(msg)


def library_kwargs(table: Entrants) -> dict[str, Any]:
    """The ``divisions=`` keyword of the pool's ``preview``/``run_lottery`` (empty for
    an undivided lottery, so those calls stay as they were)."""
    return {} if table.divisions is None else {"divisions": table.divisions}


def division_info(pool: Any, t: int = -1) -> Optional[Mapping[str, Mapping[str, int]]]:
    """``{label: {"k": seats, "entrants": count}}`` of lottery ``t``, or None for an
    undivided lottery (or a pool that has no divisions)."""
    try:
        info = pool.lottery_info(t)
    except (AttributeError, IndexError):
        return None
    divisions = info.get("divisions")
    return divisions if divisions else None


def summary_lines(divisions: Optional[Mapping[str, Mapping[str, int]]]) -> list[str]:
    """One line per division: its seats and entrants (for the printed summary)."""
    if not divisions:
        return []
    width = max(len(str(label)) for label in divisions)
    return [f"  division {str(label):<{width}}  {int(d['k']):,} seat(s) among "
            f"{int(d['entrants']):,} entrant(s)" for label, d in divisions.items()]


def odds_lines(table: Entrants, seats: Seats, pi: Any) -> list[str]:
    """One line per division of a divided preview (printed on stderr): its seats and
    entrants, and the range and average of its entrants' odds (empty when the
    entrants file has no divisions). O(rows) NumPy work."""
    import numpy as np

    if table.divisions is None or not isinstance(seats, dict):
        return []
    entered = np.asarray(table.scores, dtype=np.float64) > 0
    p = np.asarray(pi, dtype=np.float64)[entered]
    labels, code = np.unique(np.asarray(table.divisions, dtype=object)[entered]
                             .astype(str), return_inverse=True)
    count = np.bincount(code, minlength=labels.size)
    lo = np.full(labels.size, np.inf)
    hi = np.full(labels.size, -np.inf)
    np.minimum.at(lo, code, p)
    np.maximum.at(hi, code, p)
    total = np.bincount(code, weights=p, minlength=labels.size)
    rows = {str(x): j for j, x in enumerate(labels.tolist())}
    order = sorted(seats)  # code order, as the draw's summary
    width = max(len(str(label)) for label in order)
    out = []
    for label in order:
        j = rows.get(label)
        line = f"  division {label:<{width}}  {seats[label]:,} seat(s) among "
        if j is None:
            out.append(line + "0 entrant(s)")
            continue
        out.append(line + f"{int(count[j]):,} entrant(s), odds {lo[j]:.4g} to {hi[j]:.4g}"
                   f" (average {total[j] / count[j]:.4g})")
    return out


def member_divisions(pool: Any, t: int = -1) -> Optional[Sequence[Optional[str]]]:
    """Each pool member's division at lottery ``t`` (None for those who did not enter),
    or None for an undivided lottery."""
    if division_info(pool, t) is None:
        return None
    labels = pool.division_labels(t)
    return list(labels)


def check_quotas(pool: Any) -> tuple[int, list[tuple[int, str]]]:
    """Count, independently of the pool's own replay, each division's winners in every
    lottery drawn by division: (how many lotteries were, [(lottery index, what is
    wrong)]) for a division whose winners differ from its seats."""
    winners = pool.winners
    divided = 0
    problems: list[tuple[int, str]] = []
    for t in range(pool.n_lotteries):
        info = division_info(pool, t)
        if info is None:
            continue
        divided += 1
        labels = member_divisions(pool, t) or []
        won: Counter[str] = Counter(
            label for label, w in zip(labels, winners[:, t].tolist()) if w and label)
        outside = int(winners[:, t].sum()) - sum(won.values())
        if outside:
            problems.append((t, f"{outside} winner(s) in no division"))
        for label, d in info.items():
            if won[label] != int(d["k"]):
                problems.append((t, f"division {label!r}: {won[label]} winner(s), "
                                    f"{int(d['k'])} seat(s)"))
    return divided, problems


def labels_of(pool: Any, members: Sequence[Any], t: int = -1) -> Optional[list[Optional[str]]]:
    """The division at lottery ``t`` of each of ``members`` (ids, or positions in a
    pool without ids), or None for an undivided lottery."""
    labels = member_divisions(pool, t)
    if labels is None:
        return None
    ids = pool.ids
    index = None if ids is None else {x: j for j, x in enumerate(ids)}
    out: list[Optional[str]] = []
    for m in members:
        j = int(m) if index is None else index.get(str(m))
        out.append(None if j is None or not 0 <= j < len(labels) else labels[j])
    return out
