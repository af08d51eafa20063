"""``fastfair lottery history POOL --out FILE``: every past lottery as one CSV.

One row per entrant and lottery, for the entrants of that lottery (score > 0; with
``--all-members`` also the members who entered an earlier lottery but not this one;
retired members only up to the last lottery they entered), in lottery order and,
within a lottery, pool order (the order in which entrants first joined). Columns:

    lottery               the lottery's number (1 = the first)
    id                    the entrant's id (its position 0..n-1 in a pool without ids)
    score                 the entrant's score in that lottery (0 = did not enter)
    probability           the win probability the draw used
    deserved              the seats the entrant deserved in that lottery
    won                   1 if the entrant won that lottery, else 0
    cumulative_wins       wins up to and including that lottery
    cumulative_deserved   deserved seats up to and including that lottery

A pool with lotteries drawn by division (``--division-column``) has one more column,
``division``, right after ``id``: the entrant's division in that lottery (empty for an
undivided lottery, and for a member listed by ``--all-members`` who did not enter).
Floats are printed as the shortest decimal that parses back to the exact float64.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys
from typing import IO, Any, Union

import numpy as np

from .divisions import member_divisions
from .errors import CliError

__all__ = ["HISTORY_COLUMNS", "add_parser", "write_history"]

HISTORY_COLUMNS = (
    "lottery", "id", "score", "probability", "deserved", "won",
    "cumulative_wins", "cumulative_deserved",
)


def add_parser(lsub: Any) -> None:
    h = lsub.add_parser(
        "history",
        help="export every past lottery as CSV (one row per entrant and lottery)",
        description=__doc__.replace("``", ""),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    h.add_argument("pool", help="the pool file")
    h.add_argument("--out", help="CSV file to write (default: standard output)")
    h.add_argument("--all-members", action="store_true",
                   help="also list pool members who did not enter a lottery (score 0)")
    h.set_defaults(run=_run_history)


def _entrant_ids(pool: Any) -> list[str]:
    ids = pool.ids
    return [str(i) for i in range(pool.n_entrants)] if ids is None else list(ids)


def write_history(
    target: Union[str, "os.PathLike[str]", IO[str]], pool: Any, all_members: bool = False
) -> int:
    """Write the pool's whole history as CSV (columns :data:`HISTORY_COLUMNS`).

    Uses only the pool's public history arrays. Returns the number of rows written.
    """
    scores = pool.scores
    prob = pool.win_probabilities
    won = pool.winners
    deserved = pool.deserved
    cum_wins = np.cumsum(won, axis=1, dtype=np.int64)
    cum_deserved = np.cumsum(deserved, axis=1)
    ids = _entrant_ids(pool)
    n_lotteries = scores.shape[1] if scores.ndim == 2 else 0
    # who had entered this lottery or an earlier one (for --all-members)
    entered_by = np.logical_or.accumulate(scores > 0, axis=1) if all_members else None
    labels = [member_divisions(pool, t) for t in range(n_lotteries)]
    divided = any(x is not None for x in labels)
    if entered_by is not None and n_lotteries:
        # retired members (when the pool records them) are listed up to the last
        # lottery they entered: they never enter again
        index = {x: j for j, x in enumerate(ids)}
        for member in getattr(pool, "retired", None) or []:
            j = index.get(str(member))
            if j is None:
                continue
            entered = np.flatnonzero(scores[j] > 0)
            entered_by[j, (entered[-1] + 1 if entered.size else 0):] = False

    def emit(fh: IO[str]) -> int:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(HISTORY_COLUMNS if not divided else
                        (*HISTORY_COLUMNS[:2], "division", *HISTORY_COLUMNS[2:]))
        n_rows = 0
        for t in range(n_lotteries):
            if entered_by is not None:
                rows = np.flatnonzero(entered_by[:, t])
            else:
                rows = np.flatnonzero(scores[:, t] > 0)
            cols = (
                scores[rows, t].tolist(),
                prob[rows, t].tolist(),
                deserved[rows, t].tolist(),
                won[rows, t].tolist(),
                cum_wins[rows, t].tolist(),
                cum_deserved[rows, t].tolist(),
            )
            number = t + 1
            # str(float) is the shortest round-trip repr
            lab = labels[t]

            def division(i: int) -> tuple[str, ...]:
                if not divided:
                    return ()
                return ("" if lab is None or lab[i] is None else str(lab[i]),)

            writer.writerows(
                (number, ids[i], *division(i), s, p, d, w, cw, cd)
                for i, s, p, d, w, cw, cd in zip(rows.tolist(), *cols)
            )
            n_rows += rows.size
        return n_rows

    if hasattr(target, "write"):
        return emit(target)  # type: ignore[arg-type]
    with open(os.fspath(target), "w", encoding="utf-8", newline="") as fh:
        return emit(fh)


def _load(path: str) -> Any:
    from ..lottery import LotteryPool

    try:
        return LotteryPool.load(path)
    except (OSError, ValueError) as exc:
        msg = f"cannot load pool {path}: {exc}"
        raise CliError(msg) from None


def _run_history(args: argparse.Namespace) -> int:
    pool = _load(args.pool)
    if args.out is None:
        buf = io.StringIO()
        write_history(buf, pool, args.all_members)
        sys.stdout.write(buf.getvalue())
        return 0
    if os.path.abspath(args.out) == os.path.abspath(args.pool):
        msg = f"--out {args.out} is the pool file; choose another file"
        raise CliError(msg)
    from .._atomic import atomic_write

    try:
        with atomic_write(args.out, "w", encoding="utf-8", newline="") as fh:
            n = write_history(fh, pool, args.all_members)
    except OSError as exc:
        msg = f"cannot write {args.out}: {exc.strerror or exc}"
        raise CliError(msg) from None
    print(f"{n} row(s) of {pool.n_lotteries} lotter{'y' if pool.n_lotteries == 1 else 'ies'} "
          f"written to {args.out}", file=sys.stderr)
    return 0
