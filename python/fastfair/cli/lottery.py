"""``fastfair lottery``: fair repeated lotteries for organisers.

    fastfair lottery draw    POOL ENTRANTS.csv -k K [--seed S | --seed-string TEXT]
                             [--out WINNERS.csv] [--create] [--expect-lottery N]
                             [--waitlist M [--waitlist-out WAITLIST.csv]]
                             [--lock-timeout SECONDS]
    fastfair lottery draw    POOL ENTRANTS.csv --division-column COL -k F=50 -k M=50 ...
                             [--waitlist M | --waitlist F=5 --waitlist M=3 ...]
    fastfair lottery decline POOL ID [--expect-lottery N] [--lock-timeout SECONDS]
    fastfair lottery preview POOL ENTRANTS.csv -k K [--out ODDS.csv]
                             [--division-column COL -k LABEL=SEATS ...]
    fastfair lottery verify  POOL
    fastfair lottery history POOL [--out HISTORY.csv]
    fastfair lottery report  POOL [--html AUDIT.html]

The pool file (LotteryPool format) holds the whole history. ``preview`` publishes every
entrant's odds before the draw; ``draw --seed S`` makes the draw publicly re-playable
(``verify`` re-derives every past draw from the recorded inputs and seeds).

A draw is all-or-nothing and one at a time: it locks the pool (POOL.lock beside it;
waits at most --lock-timeout seconds, then exit code 3), writes its outputs to temporary
files beside them, saves the pool atomically, then renames the outputs into place. If an
output or the pool cannot be written (exit code 4), nothing is recorded and nothing is
published. ``--expect-lottery N`` refuses to draw (exit code 5) unless the pool holds
N-1 lotteries, so re-running a year's draw never records a second lottery.

The entrants CSV: one row per entrant with an id and a score (tickets, weight); a header
line is optional, the delimiter (comma, semicolon, tab) is detected, extra columns are
ignored; see --id-column, --score-column, --delimiter and --encoding. Divisions
(--division-column COL names the column of each entrant's division, and -k LABEL=SEATS,
once per division, its seats): every division gets exactly its seats, and fairness
across lotteries runs within each division; --waitlist M then draws M alternates in
every division (--waitlist LABEL=M: that division's own), and a decline goes to the
next alternate of the decliner's division.
"""

from __future__ import annotations

import argparse
import os
import pickle
import stat
import sys
import warnings
from pathlib import Path
from typing import Any, Optional

import numpy as np

from .argtypes import positive_int
from . import divisions
from . import outputs as out_files
from .errors import CliError, EXIT_CODES_HELP, NotWritableError, UnexpectedStateError
from .files import Entrants, add_csv_options, csv_text, read_entrant_table
from .locking import add_lock_option, pool_lock
from .staging import StagedOutputs, check_output_path


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "lottery",
        help="run, preview and verify fair repeated lotteries kept in a pool file",
        description=__doc__.replace("``", ""),
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    lsub = p.add_subparsers(dest="action", metavar="ACTION")
    lsub.required = True

    def common(q: argparse.ArgumentParser) -> None:
        q.add_argument("pool", help="the pool file (created by `draw --create`)")
        q.add_argument("entrants", help="CSV file of entrants: an id and a score per row")
        divisions.add_options(q)
        q.add_argument("--out", help="CSV file to write (default: standard output)")
        add_csv_options(q)

    d = lsub.add_parser("draw", help="draw the winners and record the lottery",
                        epilog=EXIT_CODES_HELP,
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    common(d)
    d.add_argument("--seed", type=int, default=None,
                   help="an integer in [0, 2**64) that makes the draw publicly "
                        "re-playable (default: fresh OS entropy, recorded)")
    d.add_argument("--seed-string", default=None, metavar="TEXT",
                   help="a published string (lottery numbers, a beacon value) whose "
                        "SHA-256 gives the 64-bit seed; recorded with the lottery")
    d.add_argument("--waitlist", type=divisions.seats_value, action="append",
                   default=None, metavar="M|LABEL=M",
                   help="also draw M ordered alternates among those who did not win, "
                        "by the same fairness rule (see `lottery decline`); with "
                        "--division-column M alternates in every division, or "
                        "--waitlist LABEL=M per division")
    d.add_argument("--waitlist-out", default=None, metavar="FILE",
                   help="CSV file of the waitlist (position, id, lottery, seed)")
    d.add_argument("--create", action="store_true",
                   help="start a new pool if the pool file does not exist")
    d.add_argument("--name", default=None, help="name of a new pool (with --create)")
    d.add_argument("--expect-lottery", type=positive_int, default=None, metavar="N",
                   help="refuse to draw (exit code 5) unless this draw records lottery "
                        "number N, i.e. the pool holds N-1 lotteries")
    add_lock_option(d)
    d.add_argument("--preview", action="store_true",
                   help="only print the odds, like `lottery preview` (no draw)")
    d.set_defaults(run=_run_draw)

    v = lsub.add_parser("preview", help="print everyone's odds without drawing",
                        epilog=EXIT_CODES_HELP,
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    common(v)
    v.add_argument("--create", action="store_true",
                   help="preview against an empty pool if the pool file does not exist")
    v.set_defaults(run=_run_preview)

    x = lsub.add_parser("decline", help="a winner declines: the next alternate gets "
                        "the seat", epilog=EXIT_CODES_HELP,
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    x.add_argument("pool", help="the pool file")
    x.add_argument("entrant", metavar="ID", help="id of the winner who declines")
    x.add_argument("--expect-lottery", type=positive_int, default=None, metavar="N",
                   help="refuse (exit code 5) unless the pool's last lottery is number N")
    add_lock_option(x)
    x.set_defaults(run=_run_decline)

    c = lsub.add_parser("verify", help="re-check a pool's whole history",
                        epilog=EXIT_CODES_HELP,
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    c.add_argument("pool", help="the pool file")
    c.set_defaults(run=_run_verify)

    from . import history, report

    history.add_parser(lsub)
    report.add_parser(lsub)


# ------------------------------------------------------------------------ the pool file


def check_pool_path(path: str, create: bool) -> bool:
    """Whether the pool file exists; refuse a path that is not a regular file (a FIFO,
    a device, a directory) and a missing pool without ``create``."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        if not create:
            msg = f"pool file {path} does not exist (use --create to start a new pool)"
            raise CliError(msg) from None
        parent = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(parent):
            msg = f"cannot create pool {path}: directory {parent} does not exist"
            raise CliError(msg) from None
        return False
    except OSError as exc:
        msg = f"cannot read pool {path}: {exc.strerror or exc}"
        raise CliError(msg) from None
    if not stat.S_ISREG(st.st_mode):
        msg = f"pool {path} is not a regular file"
        raise CliError(msg)
    return True


def _load_pool(path: str, create: bool, name: Optional[str] = None) -> Any:
    from ..lottery import LotteryPool

    if not check_pool_path(path, create):
        return LotteryPool(name=name or Path(path).stem)
    try:
        return LotteryPool.load(path)
    except OSError as exc:
        msg = f"cannot load pool {path}: {exc.strerror or exc}"
        raise CliError(msg) from None
    except (ValueError, OverflowError, RecursionError) as exc:
        msg = f"cannot load pool {path}: {exc}"
        raise CliError(msg) from None


def _save_pool(pool: Any, path: str) -> None:
    try:
        pool.save(path)
    except OSError as exc:
        msg = f"cannot save pool {path}: {exc.strerror or exc}; nothing was recorded"
        raise NotWritableError(msg) from None


# ---------------------------------------------------------------------------- outputs


def _check_outputs(args: argparse.Namespace) -> None:
    """Refuse, before anything happens, an ``--out`` that is the pool, its lock file
    or the entrants file (also through a symlink, a relative path or a hard link)."""
    if args.out is not None:
        check_output_path(args.out, "--out", pool=args.pool,
                          protected={"the entrants file": args.entrants})
    wl_out = getattr(args, "waitlist_out", None)
    if wl_out is not None:
        check_output_path(wl_out, "--waitlist-out", pool=args.pool,
                          protected={"the entrants file": args.entrants})
        if args.out is not None and os.path.abspath(wl_out) == os.path.abspath(args.out):
            raise CliError("--waitlist-out and --out must be different files")
    if getattr(args, "seed", None) is not None and getattr(args, "seed_string", None):
        raise CliError("give --seed or --seed-string, not both")


def _publish(text: str, out: Optional[str], what: str) -> None:
    """Write ``text`` to ``out`` atomically, or to standard output."""
    if out is None:
        sys.stdout.write(text)
        return
    with StagedOutputs() as staged:
        staged.add(out, text, what)
        try:
            staged.commit()
        except OSError as exc:
            msg = f"cannot write the {what} {out}: {exc.strerror or exc}"
            raise NotWritableError(msg) from None


def _record_and_publish(
    args: argparse.Namespace, pool: Any, before: bytes, outputs: dict[str, tuple[str, str]]
) -> None:
    """All-or-nothing: stage every output (target -> (text, what)), save the pool, then
    rename the outputs into place. If a rename fails after the save, the previous pool
    (``before``, pickled before the draw) is saved back, so the lottery is not recorded
    without its outputs."""
    with StagedOutputs() as staged:
        for target, (text, what) in outputs.items():
            staged.add(target, text, what)
        _save_pool(pool, args.pool)
        try:
            staged.commit()
        except OSError as exc:
            _save_pool(pickle.loads(before), args.pool)
            msg = (
                f"cannot put an output in place: {exc.strerror or exc}; the draw was "
                "undone (the pool is as before)"
            )
            raise NotWritableError(msg) from None


# ---------------------------------------------------------------------------- commands


def _read_entrants(args: argparse.Namespace) -> Entrants:
    """The entrants file, its divisions checked against ``-k`` (``args.k`` becomes one
    int, or label -> seats with ``--division-column``)."""
    args.k = divisions.resolve_seats(args)
    args.waitlist = divisions.resolve_waitlist(args)
    table = read_entrant_table(args.entrants, args)
    divisions.check_field(table, args.k, args.entrants, args.waitlist)
    return table


def _odds(args: argparse.Namespace, pool: Any, table: Entrants) -> int:
    ids, scores = table.ids, table.scores
    try:
        pi = pool.preview(np.asarray(scores), args.k, ids=ids,
                          **divisions.library_kwargs(table))
    except (ValueError, TypeError) as exc:
        raise CliError(str(exc)) from None
    text = out_files.odds_text(ids, scores, pi, lottery=pool.n_lotteries + 1,
                               seed=getattr(args, "seed", None), divisions=table.divisions)
    _publish(text, args.out, "odds file")
    lines = divisions.odds_lines(table, args.k, pi)
    if lines:  # a divided preview: each division's seats and odds, on stderr
        print(f"odds of lottery {pool.n_lotteries + 1} of pool {pool.name!r} "
              f"({args.pool}), not drawn: {sum(args.k.values()):,} seat(s) among "
              f"{sum(1 for s in scores if s > 0):,} entrant(s)", file=sys.stderr)
        for line in lines:
            print(line, file=sys.stderr)
    return 0


def _run_preview(args: argparse.Namespace) -> int:
    _check_outputs(args)
    pool = _load_pool(args.pool, args.create)
    return _odds(args, pool, _read_entrants(args))


def _check_expected_lottery(pool: Any, args: argparse.Namespace) -> None:
    """``--expect-lottery N``: the pool must hold exactly N-1 lotteries."""
    n = args.expect_lottery
    if n is None or pool.n_lotteries == n - 1:
        return
    held = pool.n_lotteries
    hint = " (was it already drawn?)" if held >= n else ""
    msg = (
        f"--expect-lottery {n}: pool {args.pool} holds {held} lotteries, so this draw "
        f"would record lottery {held + 1}, not {n}{hint}; nothing was drawn"
    )
    raise UnexpectedStateError(msg)


def _draw(
    pool: Any, args: argparse.Namespace, table: Entrants
) -> tuple[Any, Any, list[str]]:
    """Run the lottery in memory: (probabilities, winners mask, notes for stderr)."""
    ids, scores = table.ids, table.scores
    by_division = divisions.library_kwargs(table)
    try:
        pi = pool.preview(np.asarray(scores), args.k, ids=ids, **by_division)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            seed = args.seed_string if args.seed_string is not None else args.seed
            won = pool.run_lottery(np.asarray(scores), args.k, seed=seed, ids=ids,
                                   waitlist=args.waitlist, **by_division)
    except (ValueError, TypeError) as exc:
        raise CliError(str(exc)) from None
    return pi, won, [str(w.message) for w in caught]


def _winners_text(pool: Any, table: Entrants, pi: Any, won: Any) -> str:
    seed, seed_string = out_files.pool_seed(pool)
    return out_files.winners_text(
        table.ids, table.scores, pi, won, lottery=pool.n_lotteries, seed=seed,
        seed_string=seed_string, divisions=table.divisions,
    )


def _run_draw(args: argparse.Namespace) -> int:
    _check_outputs(args)
    check_pool_path(args.pool, args.create)
    table = _read_entrants(args)
    if args.preview:
        pool = _load_pool(args.pool, args.create, args.name)
        _check_expected_lottery(pool, args)
        return _odds(args, pool, table)
    with pool_lock(args.pool, args.lock_timeout):
        pool = _load_pool(args.pool, args.create, args.name)
        _check_expected_lottery(pool, args)
        before = pickle.dumps(pool, protocol=pickle.HIGHEST_PROTOCOL)
        pi, won, notes = _draw(pool, args, table)
        text = _winners_text(pool, table, pi, won)
        outputs = {} if args.out is None else {args.out: (text, "winners file")}
        if args.waitlist_out is not None:
            outputs[args.waitlist_out] = (out_files.waitlist_text(pool), "waitlist file")
        _record_and_publish(args, pool, before, outputs)
    if args.out is None:
        sys.stdout.write(text)
    for note in notes:
        print(f"fastfair lottery: note: {note}", file=sys.stderr)
    print(
        f"recorded lottery {pool.n_lotteries} of pool {pool.name!r} ({args.pool}): "
        f"{int(np.count_nonzero(won))} winner(s) among "
        f"{sum(1 for s in table.scores if s > 0)} entrant(s), seed {int(pool.seeds[-1])}"
        + (f", {len(pool.waitlist())} alternate(s) on the waitlist" if args.waitlist else ""),
        file=sys.stderr,
    )
    for line in divisions.summary_lines(divisions.division_info(pool)):
        print(line, file=sys.stderr)
    return 0


def _run_decline(args: argparse.Namespace) -> int:
    check_pool_path(args.pool, create=False)
    with pool_lock(args.pool, args.lock_timeout):
        pool = _load_pool(args.pool, create=False)
        if pool.n_lotteries == 0:
            raise CliError(f"pool {args.pool} holds no lottery yet")
        n = args.expect_lottery
        if n is not None and pool.n_lotteries != n:
            msg = (f"--expect-lottery {n}: the last lottery of pool {args.pool} is "
                   f"number {pool.n_lotteries}; nothing was changed")
            raise UnexpectedStateError(msg)
        try:
            got = pool.decline(args.entrant)
        except (ValueError, TypeError) as exc:
            raise CliError(str(exc)) from None
        _save_pool(pool, args.pool)
    label = (divisions.labels_of(pool, [got]) or [None])[0]
    print(f"{args.entrant} declined lottery {pool.n_lotteries}: the seat goes to {got}"
          + (f" (division {label})" if label is not None else ""))
    return 0


def _run_verify(args: argparse.Namespace) -> int:
    pool = _load_pool(args.pool, create=False)
    report = pool.verify()
    divided, quota_problems = divisions.check_quotas(pool)
    mismatches = sorted([*report.mismatches, *quota_problems])
    if not mismatches:
        print(f"ok: all {report.n_lotteries} lotteries of {args.pool} re-derive exactly"
              + (f"; each division of the {divided} lotter{'y' if divided == 1 else 'ies'}"
                 " drawn by division got exactly its seats" if divided else ""))
        return 0
    for index, what in mismatches:
        print(f"lottery {index + 1}: {what}")
    print(f"FAILED: {len(mismatches)} mismatch(es) in {args.pool}")
    return 1
