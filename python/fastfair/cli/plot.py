"""``fastfair plot``: pictures saved to PNG (needs the ``plot`` extra, matplotlib).

    fastfair plot lottery POOL --out PREFIX
        PREFIX-probabilities.png, PREFIX-winners.png, PREFIX-unfairness.png
    fastfair plot stream --out FILE.png [--notion prop|ef] [--agents N] [--rounds T]
                         [--instance random|heavy|table1|round-robin] [--seed S]
        the largest normalised deficit after every round: fastfair's p-potential rule
        against the baselines, with the guarantee tau_p(t) of the rule
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .argtypes import seed_int
from .errors import CliError


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "plot",
        help="save lottery heatmaps or a deficit-over-time picture to PNG",
        description=__doc__.replace("``", ""),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    psub = p.add_subparsers(dest="what", metavar="WHAT")
    psub.required = True
    lot = psub.add_parser("lottery", help="heatmaps of a pool's history")
    lot.add_argument("pool", help="the pool file")
    lot.add_argument("--out", required=True, help="file name prefix of the PNGs")
    lot.set_defaults(run=_run_lottery)
    st = psub.add_parser("stream", help="deficit over time: fastfair vs baselines")
    st.add_argument("--out", required=True, help="the PNG file")
    st.add_argument("--notion", choices=["prop", "ef"], default="prop")
    st.add_argument("--agents", type=int, default=4)
    st.add_argument("--rounds", type=int, default=2000)
    st.add_argument(
        "--instance",
        choices=["random", "heavy", "table1", "round-robin"],
        default="random",
        help="random uniform values, heavy-tailed (Pareto) values, or a stream built "
        "against a baseline (table1 and round-robin are for 2 agents)",
    )
    st.add_argument("--seed", type=seed_int, default=0)
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


def _run_lottery(args: argparse.Namespace) -> int:
    plt = _pyplot()
    from ..lottery import LotteryPool
    from ..plotting import plot_cumulative_unfairness, plot_win_probabilities, plot_winners

    try:
        pool = LotteryPool.load(args.pool)
    except (OSError, ValueError) as exc:
        msg = f"cannot load pool {args.pool}: {exc}"
        raise CliError(msg) from None
    if pool.n_lotteries == 0:
        msg = f"pool {args.pool} has no lotteries to plot"
        raise CliError(msg)
    for suffix, fn in [
        ("probabilities", plot_win_probabilities),
        ("winners", plot_winners),
        ("unfairness", plot_cumulative_unfairness),
    ]:
        fig, ax = plt.subplots(figsize=(1.2 + 0.5 * pool.n_lotteries, 1.5 + 0.25 * pool.n_entrants))
        fn(pool, ax=ax)
        fig.tight_layout()
        out = f"{args.out}-{suffix}.png"
        fig.savefig(out, dpi=100)
        plt.close(fig)
        print(out)
    return 0


def _run_stream(args: argparse.Namespace) -> int:
    plt = _pyplot()
    from .._traces import deficit_traces
    from ..plotting import plot_deficit_traces

    if args.agents < 2:
        msg = f"--agents must be >= 2, got {args.agents}"
        raise CliError(msg)
    if args.rounds < 1:
        msg = f"--rounds must be >= 1, got {args.rounds}"
        raise CliError(msg)
    if args.instance in ("table1", "round-robin") and args.agents != 2:
        msg = f"--instance {args.instance} is built for 2 agents; use --agents 2"
        raise CliError(msg)
    traces, bound = deficit_traces(
        args.notion, args.agents, args.rounds, args.instance, args.seed
    )
    fig, ax = plt.subplots(figsize=(8, 4.5))
    plot_deficit_traces(traces, bound, ax=ax, title=(
        f"{args.notion.upper()}_c, {args.agents} agents, {args.instance} stream"
    ))
    fig.tight_layout()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=100)
    plt.close(fig)
    print(args.out)
    return 0
