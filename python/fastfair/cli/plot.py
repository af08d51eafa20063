"""``fastfair plot``: pictures saved to PNG (needs the ``plot`` extra, matplotlib).

    fastfair plot lottery POOL --out PREFIX [--size 1200x800] [--dpi 100]
                          [--lottery T] [--heatmaps auto|yes|no] [--runs R] [--seed S]
        PREFIX-unfairness.png  largest |wins - deserved| after each lottery, against
                               independent draws with the same deserved seats
        PREFIX-deviation.png   wins - deserved seats over entrants (histogram)
        PREFIX-odds.png        odds of lottery T by years without a win
        PREFIX-probabilities.png, -winners.png, -cumulative.png
                               per-entrant heatmaps (auto: pools of <= 300 members)
        PREFIX-division-unfairness.png, -division-odds.png
                               pools drawn by division: the largest |wins - deserved|
                               within each division, and lottery T's odds per division
        Every picture has the same fixed size, whatever the number of entrants.
    fastfair plot stream --out FILE.png [--notion prop|ef] [--agents N] [--rounds T]
                         [--instance random|heavy|table1|round-robin] [--seed S]
        the largest normalised deficit after every round: fastfair's p-potential rule
        against the baselines, with the guarantee tau_p(t) of the rule

Bad options give one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import os
import re
import types
from pathlib import Path
from typing import Any, NoReturn

from .argtypes import seed_int
from .errors import CliError

#: Largest side of a picture, in pixels (the default is 1200 x 800).
MAX_SIDE_PX = 4000
#: Smallest width and height: below them the text of a picture no longer fits.
MIN_WIDTH_PX, MIN_HEIGHT_PX = 600, 400
MAX_AGENTS = 100
MAX_ROUNDS = 100_000
#: Heatmaps draw one row per member: refused above this, even with --heatmaps yes.
HEATMAP_LIMIT = 2000


class _OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (no usage block), exit status 2;
    unknown arguments are reported here too (not by the top-level parser)."""

    def error(self, message: str) -> NoReturn:
        _one_line_error(self, message)

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        return _strict_parse(self, super().parse_known_args, args, namespace)


def _one_line_error(self: argparse.ArgumentParser, message: str) -> NoReturn:
    self.exit(2, f"{self.prog}: error: {message}\n")


def _strict_parse(parser: argparse.ArgumentParser, parse: Any, args: Any,
                  namespace: Any) -> Any:
    ns, extras = parse(args, namespace)
    if extras:
        _one_line_error(parser, f"unrecognized arguments: {' '.join(extras)}")
    return ns, extras


def _bounded_int(lo: int, hi: int) -> Any:
    def parse(text: str) -> int:
        try:
            value = int(text, 10)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"must be an integer, got {text!r}") from None
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"must be in [{lo}, {hi}], got {value}")
        return value

    return parse


def _size(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d{1,6})\s*[xX]\s*(\d{1,6})\s*", text)
    if not m:
        raise argparse.ArgumentTypeError(f"must look like 1200x800 (pixels), got {text!r}")
    w, h = int(m.group(1)), int(m.group(2))
    if not (MIN_WIDTH_PX <= w <= MAX_SIDE_PX and MIN_HEIGHT_PX <= h <= MAX_SIDE_PX):
        raise argparse.ArgumentTypeError(
            f"must be between {MIN_WIDTH_PX}x{MIN_HEIGHT_PX} and "
            f"{MAX_SIDE_PX}x{MAX_SIDE_PX} pixels, got {w}x{h}")
    return w, h


def _lottery_number(text: str) -> int:
    try:
        value = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
    if value == 0:
        raise argparse.ArgumentTypeError("lotteries are numbered from 1 (-1 = the last)")
    return value


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "plot",
        help="save lottery pictures or a deficit-over-time picture to PNG",
        description=__doc__.replace("``", ""),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    # the `plot` parser itself is made by the top-level parser: give it one-line errors
    plain_parse = p.parse_known_args
    p.error = types.MethodType(_one_line_error, p)
    p.parse_known_args = (
        lambda args=None, namespace=None: _strict_parse(p, plain_parse, args, namespace))
    psub = p.add_subparsers(dest="what", metavar="WHAT", parser_class=_OneLineParser)
    psub.required = True
    lot = psub.add_parser("lottery", help="organiser's pictures of a pool's history")
    lot.add_argument("pool", help="the pool file")
    lot.add_argument("--out", required=True, help="file name prefix of the PNGs")
    lot.add_argument("--size", type=_size, default=(1200, 800), metavar="WxH",
                     help="picture size in pixels (default 1200x800)")
    lot.add_argument("--dpi", type=_bounded_int(50, 300), default=100,
                     help="dots per inch: text size relative to the picture (default 100)")
    lot.add_argument("--lottery", type=_lottery_number, default=-1, metavar="T",
                     help="the lottery whose odds to show (1 = first, default -1 = last)")
    lot.add_argument("--heatmaps", choices=["auto", "yes", "no"], default="auto",
                     help="per-entrant heatmaps (auto: pools of at most 300 members)")
    lot.add_argument("--runs", type=_bounded_int(1, 100), default=10,
                     help="independent-draw histories of the baseline (default 10)")
    lot.add_argument("--seed", type=seed_int, default=0,
                     help="seed of the independent-draw baseline (default 0)")
    lot.set_defaults(run=_run_lottery)
    st = psub.add_parser("stream", help="deficit over time: fastfair vs baselines")
    st.add_argument("--out", required=True, help="the PNG file")
    st.add_argument("--notion", choices=["prop", "ef"], default="prop")
    st.add_argument("--agents", type=_bounded_int(2, MAX_AGENTS), default=4)
    st.add_argument("--rounds", type=_bounded_int(1, MAX_ROUNDS), default=2000)
    st.add_argument(
        "--instance",
        choices=["random", "heavy", "table1", "round-robin"],
        default="random",
        help="random uniform values, heavy-tailed (Pareto) values, or a stream built "
        "against a baseline (table1 and round-robin are for 2 agents)",
    )
    st.add_argument("--seed", type=seed_int, default=0,
                    help="seed of the random streams, an integer in [0, 2**64)")
    st.set_defaults(run=_run_stream)


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        msg = 'plots need matplotlib: python -m pip install "fastfair[plot]"'
        raise CliError(msg) from None
    return plt


def _out_dir(prefix: str) -> None:
    """Create the directory of ``--out`` if needed (a clear error if that fails)."""
    parent = Path(prefix).parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        msg = f"--out {prefix}: cannot create directory {parent}: {exc.strerror or exc}"
        raise CliError(msg) from None
    if not os.access(parent, os.W_OK):
        msg = f"--out {prefix}: directory {parent} is not writable"
        raise CliError(msg)


def _save(fig: Any, path: str) -> None:
    try:
        fig.savefig(path, dpi=fig.dpi)
    except OSError as exc:
        msg = f"cannot write {path}: {exc.strerror or exc}"
        raise CliError(msg) from None


def _run_lottery(args: argparse.Namespace) -> int:
    plt = _pyplot()
    from ..lottery import LotteryPool
    from ..plotting import lottery_figures

    try:
        pool = LotteryPool.load(args.pool)
    except (OSError, ValueError) as exc:
        msg = f"cannot load pool {args.pool}: {exc}"
        raise CliError(msg) from None
    if pool.n_lotteries == 0:
        msg = f"pool {args.pool} has no lotteries to plot"
        raise CliError(msg)
    t = args.lottery - 1 if args.lottery > 0 else args.lottery
    if not -pool.n_lotteries <= t < pool.n_lotteries:
        msg = f"--lottery {args.lottery}: the pool has {pool.n_lotteries} lotteries"
        raise CliError(msg)
    heatmaps = {"auto": None, "yes": True, "no": False}[args.heatmaps]
    if heatmaps and pool.n_entrants > HEATMAP_LIMIT:
        msg = (f"--heatmaps yes: {pool.n_entrants:,} members is too many for one row "
               f"each (at most {HEATMAP_LIMIT:,}); the other pictures scale")
        raise CliError(msg)
    _out_dir(args.out)
    figures = lottery_figures(pool, size=args.size, dpi=args.dpi, heatmaps=heatmaps,
                              t=t, runs=args.runs, seed=args.seed)
    try:
        for name, fig in figures.items():
            out = f"{args.out}-{name}.png"
            _save(fig, out)
            print(out)
    finally:
        for fig in figures.values():
            plt.close(fig)
    return 0


def _run_stream(args: argparse.Namespace) -> int:
    plt = _pyplot()
    from .._traces import deficit_traces
    from ..plotting import plot_deficit_traces

    if args.instance in ("table1", "round-robin") and args.agents != 2:
        msg = f"--instance {args.instance} is built for 2 agents; use --agents 2"
        raise CliError(msg)
    _out_dir(args.out)
    traces, bound = deficit_traces(
        args.notion, args.agents, args.rounds, args.instance, args.seed
    )
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=100, layout="constrained")
    plot_deficit_traces(traces, bound, ax=ax, title=(
        f"{args.notion.upper()}_c, {args.agents} agents, {args.instance} stream"
    ))
    try:
        _save(fig, args.out)
    finally:
        plt.close(fig)
    print(args.out)
    return 0
