"""``fastfair tickets``: ticket-hat lotteries (tickets drawn without replacement).

    fastfair tickets odds ENTRANTS.csv -k K [--waitlist M] [--out ODDS.csv]
    fastfair tickets draw ENTRANTS.csv -k K (--seed S | --seed-string TEXT)
                          [--waitlist M] [--out DRAW.csv]

ENTRANTS.csv has rows id,tickets (read like `fastfair lottery`'s entrants, with the same
CSV options; a tickets/score column header is optional; 0 tickets = not entered).
Publish the exact odds before the draw (``odds``: every entrant's probability of a
place and, with --waitlist M, of a place or one of the first M waitlist spots; on
stderr, one line per ticket count: entrants, odds and expected places), then
draw with a seed announced in advance (``draw``: the winners in draw order, then the
waitlist in order; the same seed always gives the same draw). ``--seed-string TEXT``
(published lottery numbers, a beacon value) gives the 64-bit seed as in ``fastfair
lottery draw``: the first 8 bytes of the SHA-256 of its UTF-8 text, little-endian.
Bad input: one line on stderr, exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Optional

import numpy as np

from .argtypes import seed_int, whole_number
from .errors import CliError
from .files import add_csv_options, csv_text, write_text_atomic


def read_entrants(path: str, args: argparse.Namespace) -> tuple[list[str], list[float]]:
    """The entrants file as (ids, tickets), by the shared reader of ``fastfair lottery``
    (same CSV options: --id-column, --score-column, --header, --delimiter, --encoding)."""
    from . import files

    return files.read_entrants(path, args)


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "tickets",
        help="ticket-hat lotteries: exact odds before, a re-playable draw after",
        description=__doc__.replace("``", ""),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    tsub = p.add_subparsers(dest="action", metavar="ACTION")
    tsub.required = True

    def common(q: argparse.ArgumentParser) -> None:
        q.add_argument("entrants", help="CSV file of id,tickets rows (header optional)")
        q.add_argument("-k", "--winners", type=whole_number, required=True, dest="k",
                       help="number of places")
        q.add_argument("--waitlist", type=whole_number, default=0, metavar="M",
                       help="number of waitlist places drawn after the winners")
        q.add_argument("--out", help="CSV file to write (default: standard output)")
        add_csv_options(q)

    o = tsub.add_parser("odds", help="every entrant's exact odds (publish before)")
    common(o)
    o.set_defaults(run=_run_odds)
    d = tsub.add_parser("draw", help="draw the hat with a seed announced in advance")
    common(d)
    seeds = d.add_mutually_exclusive_group(required=True)
    seeds.add_argument("--seed", type=seed_int,
                       help="an integer in [0, 2**64): the same seed gives the same draw")
    seeds.add_argument("--seed-string", metavar="TEXT",
                       help="a published string (lottery numbers, a beacon value) whose "
                            "SHA-256 gives the 64-bit seed, as in `lottery draw`")
    d.set_defaults(run=_run_draw)


def _emit(text: str, out: Optional[str]) -> None:
    if out is None:
        sys.stdout.write(text)
        return
    try:
        write_text_atomic(out, text)
    except OSError as exc:
        msg = f"cannot write {out}: {exc.strerror or exc}"
        raise CliError(msg) from None


def _fmt(x: float) -> str:
    return repr(float(x))


def _run_odds(args: argparse.Namespace) -> int:
    from ..tickets import ticket_odds

    ids, tickets = read_entrants(args.entrants, args)
    t = np.asarray(tickets, dtype=np.float64)
    try:
        win = ticket_odds(t, args.k)
        rows: list[list[str]]
        if args.waitlist:
            wl = ticket_odds(t, args.k, waitlist=args.waitlist)
            header = ["id", "tickets", "probability", "probability_with_waitlist"]
            rows = [[i, _fmt(s), f"{p:.17g}", f"{q:.17g}"]
                    for i, s, p, q in zip(ids, tickets, win, wl)]
        else:
            header = ["id", "tickets", "probability"]
            rows = [[i, _fmt(s), f"{p:.17g}"] for i, s, p in zip(ids, tickets, win)]
    except (ValueError, TypeError) as exc:
        raise CliError(str(exc)) from None
    _emit(csv_text(header, rows), args.out)
    for line in class_lines(t, win, wl if args.waitlist else None, args.k):
        print(line, file=sys.stderr)
    return 0


#: Most ticket classes listed one per line by `tickets odds` (a real hat has a few).
MAX_CLASS_LINES = 20


def class_lines(tickets: Any, win: Any, with_waitlist: Optional[Any], k: int) -> list[str]:
    """The odds table organisers publish, for stderr: one line per ticket count
    (entrants, odds of a place, and of a place or the waitlist), or a one-line range
    when there are more than :data:`MAX_CLASS_LINES` distinct counts."""
    entered = tickets > 0
    counts, first, size = np.unique(tickets[entered], return_index=True,
                                    return_counts=True)
    p = win[entered][first]
    q = None if with_waitlist is None else with_waitlist[entered][first]
    head = (f"ticket hat: {k} place(s) among {int(entered.sum()):,} entrant(s), "
            f"{counts.size:,} ticket count(s)")
    if counts.size > MAX_CLASS_LINES:
        return [head + f"; odds {p.min():.4g} to {p.max():.4g}"]
    width = max(len(f"{c:g}") for c in counts)
    out = [head]
    for j, c in enumerate(counts.tolist()):
        line = (f"  {c:>{width}g} ticket(s): {int(size[j]):,} entrant(s), "
                f"P(place) {p[j]:.4g}, expected places {size[j] * p[j]:.4g}")
        if q is not None:
            line += f", P(place or waitlist) {q[j]:.4g}"
        out.append(line)
    return out


def _run_draw(args: argparse.Namespace) -> int:
    from ..tickets import draw_tickets

    from .._seed import seed_from_string

    seed = args.seed
    if args.seed_string is not None:
        try:
            seed = seed_from_string(args.seed_string, "--seed-string")
        except (ValueError, TypeError) as exc:
            raise CliError(str(exc)) from None
    ids, tickets = read_entrants(args.entrants, args)
    try:
        order = draw_tickets(np.asarray(tickets, dtype=np.float64), args.k,
                             seed=seed, waitlist=args.waitlist)
    except (ValueError, TypeError) as exc:
        raise CliError(str(exc)) from None
    # the seed on every row, as in `lottery draw`'s winners file: the published draw
    # file says how to replay it (seed_string too when the seed was a string)
    extra = [str(seed)] + ([args.seed_string] if args.seed_string is not None else [])
    rows = []
    for pos, j in enumerate(order.tolist(), start=1):
        status = "winner" if pos <= args.k else "waitlist"
        rows.append([str(pos), ids[j], _fmt(tickets[j]), status, *extra])
    header = ["position", "id", "tickets", "status", "seed"]
    if args.seed_string is not None:
        header.append("seed_string")
    _emit(csv_text(header, rows), args.out)
    print(
        f"ticket hat: {args.k} winner(s) and {args.waitlist} on the waitlist among "
        f"{sum(1 for s in tickets if s > 0)} entrant(s), seed {seed}"
        + (f" (from --seed-string {args.seed_string!r})"
           if args.seed_string is not None else ""),
        file=sys.stderr,
    )
    return 0
