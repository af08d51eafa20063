"""``fastfair lottery``: fair repeated lotteries for organisers.

    fastfair lottery draw    POOL ENTRANTS.csv -k K [--seed S] [--out WINNERS.csv] [--create]
    fastfair lottery preview POOL ENTRANTS.csv -k K [--out ODDS.csv]
    fastfair lottery verify  POOL
    fastfair lottery history POOL [--out HISTORY.csv]
    fastfair lottery report  POOL [--html AUDIT.html]

The pool file (LotteryPool format) holds the whole history. ``preview`` publishes every
entrant's odds before the draw; ``draw --seed S`` makes the draw publicly re-playable
(``verify`` re-derives every past draw from the recorded inputs and seeds). A draw
saves the pool atomically: a failed or interrupted run leaves the pool file as it was.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path
from typing import Any, Optional

import numpy as np

from .errors import CliError
from . import outputs
from .files import read_entrants, write_text_atomic


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "lottery",
        help="run, preview and verify fair repeated lotteries kept in a pool file",
        description=__doc__.replace("``", ""),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    lsub = p.add_subparsers(dest="action", metavar="ACTION")
    lsub.required = True

    def common(q: argparse.ArgumentParser) -> None:
        q.add_argument("pool", help="the pool file (created by `draw --create`)")
        q.add_argument("entrants", help="CSV file of id,score rows (header optional)")
        q.add_argument("-k", "--winners", type=int, required=True, dest="k",
                       help="number of winners of this lottery")
        q.add_argument("--out", help="CSV file to write (default: standard output)")

    d = lsub.add_parser("draw", help="draw the winners and record the lottery")
    common(d)
    d.add_argument("--seed", type=int, default=None,
                   help="an integer in [0, 2**64) that makes the draw publicly "
                        "re-playable (default: fresh OS entropy, recorded)")
    d.add_argument("--create", action="store_true",
                   help="start a new pool if the pool file does not exist")
    d.add_argument("--name", default=None, help="name of a new pool (with --create)")
    d.add_argument("--preview", action="store_true",
                   help="only print the odds, like `lottery preview` (no draw)")
    d.set_defaults(run=_run_draw)

    v = lsub.add_parser("preview", help="print everyone's odds without drawing")
    common(v)
    v.add_argument("--create", action="store_true",
                   help="preview against an empty pool if the pool file does not exist")
    v.set_defaults(run=_run_preview)

    c = lsub.add_parser("verify", help="re-check a pool's whole history")
    c.add_argument("pool", help="the pool file")
    c.set_defaults(run=_run_verify)

    from . import history, report

    history.add_parser(lsub)
    report.add_parser(lsub)


def _load_pool(path: str, create: bool, name: Optional[str] = None) -> Any:
    from ..lottery import LotteryPool

    if not Path(path).exists():
        if create:
            return LotteryPool(name=name or Path(path).stem)
        msg = f"pool file {path} does not exist (use --create to start a new pool)"
        raise CliError(msg)
    try:
        return LotteryPool.load(path)
    except (OSError, ValueError) as exc:
        msg = f"cannot load pool {path}: {exc}"
        raise CliError(msg) from None


def _emit(text: str, out: Optional[str]) -> None:
    if out is None:
        sys.stdout.write(text)
    else:
        write_text_atomic(out, text)


def _odds(
    args: argparse.Namespace, pool: Any, ids: list[str], scores: list[float]
) -> int:
    try:
        pi = pool.preview(np.asarray(scores), args.k, ids=ids)
    except (ValueError, TypeError) as exc:
        raise CliError(str(exc)) from None
    text = outputs.odds_text(ids, scores, pi, lottery=pool.n_lotteries + 1,
                             seed=getattr(args, "seed", None))
    _emit(text, args.out)
    return 0


def _run_preview(args: argparse.Namespace) -> int:
    pool = _load_pool(args.pool, args.create)
    ids, scores = read_entrants(args.entrants)
    return _odds(args, pool, ids, scores)


def _run_draw(args: argparse.Namespace) -> int:
    pool = _load_pool(args.pool, args.create, args.name)
    ids, scores = read_entrants(args.entrants)
    if args.preview:
        return _odds(args, pool, ids, scores)
    try:
        pi = pool.preview(np.asarray(scores), args.k, ids=ids)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            won = pool.run_lottery(np.asarray(scores), args.k, seed=args.seed, ids=ids)
    except (ValueError, TypeError) as exc:
        raise CliError(str(exc)) from None
    for w in caught:
        print(f"fastfair lottery: note: {w.message}", file=sys.stderr)
    seed = int(pool.seeds[-1])
    text = outputs.winners_text(ids, scores, pi, won, lottery=pool.n_lotteries, seed=seed)
    n_won = int(np.count_nonzero(won))
    # The pool file is the record: save it (atomically) before publishing winners.
    try:
        pool.save(args.pool)
    except OSError as exc:
        msg = f"cannot save pool {args.pool}: {exc}"
        raise CliError(msg) from None
    _emit(text, args.out)
    print(
        f"lottery {pool.n_lotteries} of pool {pool.name!r}: {n_won} winner(s) "
        f"among {sum(1 for s in scores if s > 0)} entrant(s), seed {seed}",
        file=sys.stderr,
    )
    return 0


def _run_verify(args: argparse.Namespace) -> int:
    pool = _load_pool(args.pool, create=False)
    report = pool.verify()
    if report:
        print(f"ok: all {report.n_lotteries} lotteries of {args.pool} re-derive exactly")
        return 0
    for index, what in report.mismatches:
        print(f"lottery {index + 1}: {what}")
    print(f"FAILED: {len(report.mismatches)} mismatch(es) in {args.pool}")
    return 1
