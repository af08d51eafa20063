"""``fastfair demo``: the main jobs end to end, on built-in generated data.

1. A multi-year weighted lottery (a club's yearly draw for scarce places): members
   enter some years and not others, newcomers join, scores are loyalty points. Every
   year runs the real command line, ``fastfair lottery preview`` (odds CSV) and
   ``fastfair lottery draw`` (winners CSV, the pool file updated atomically), and the
   end ``fastfair lottery verify``. The same years are also drawn independently
   (ordinary weighted lotteries) to show what the pool's fairness buys.
2. A scheduler stream: a million arriving jobs shared among agents with
   heterogeneous, heavy-tailed values, allocated by ``OnlineAllocator.run`` in
   chunks, with the largest deficit and the guarantee ``bound()`` after each chunk,
   next to round-robin and the max-deficit greedy rule.

Everything goes into ``--out DIR`` (default ``./fastfair-demo``): the pool, the
yearly entrants/odds/winners CSVs, ``scheduler.csv``, ``report.md`` and, with
matplotlib, PNG plots. Deterministic for a given ``--seed``. Exit status 0, or 2 with
one line on stderr for bad options or an unwritable folder.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import math
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .errors import CliError
from .files import csv_text, write_text_atomic

__all__ = ["add_parser", "run_demo"]


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        msg = f"expected a whole number, got {text!r}"
        raise argparse.ArgumentTypeError(msg) from None
    if value < 1:
        msg = f"expected a whole number >= 1, got {value}"
        raise argparse.ArgumentTypeError(msg)
    return value


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "demo",
        help="simulate a multi-year lottery and a million-job scheduler stream",
        description=(
            "Run fastfair's main jobs on built-in generated data: a multi-year "
            "weighted lottery through the lottery commands (pool, odds and winners "
            "CSVs, verify), and a million-item scheduler stream with its guarantee; "
            "writes a report and plots. Exit status 0, or 2 on bad options or an "
            "unwritable folder."
        ),
    )
    p.add_argument("--out", default="fastfair-demo", metavar="DIR",
                   help="folder for every output (created; default ./fastfair-demo)")
    p.add_argument("--years", type=_positive, default=8, help="lotteries (default 8)")
    p.add_argument("--members", type=_positive, default=2000,
                   help="members in the first year (default 2000)")
    p.add_argument("--places", type=float, default=0.05, metavar="FRACTION",
                   help="share of the entrants who win each year (default 0.05)")
    p.add_argument("--items", type=_positive, default=1_000_000,
                   help="jobs in the scheduler stream (default 1000000)")
    p.add_argument("--agents", type=_positive, default=8,
                   help="agents sharing the scheduler (default 8)")
    p.add_argument("--seed", type=int, default=2024, help="seed of the generated data")
    p.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    p.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    if not 0.0 < args.places < 1.0:
        msg = f"--places must lie strictly between 0 and 1, got {args.places}"
        raise CliError(msg)
    if args.seed < 0:
        msg = f"--seed must be >= 0, got {args.seed}"
        raise CliError(msg)
    return run_demo(Path(args.out), years=args.years, members=args.members,
                    places=args.places, items=args.items, agents=args.agents,
                    seed=args.seed, plots=not args.no_plots)


def _say(text: str) -> None:
    print(text, flush=True)


def _cli(argv: list[str]) -> tuple[int, str, str]:
    """Run one ``fastfair`` command in process: exit status, stdout and stderr text."""
    from . import main

    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        status = main(argv)
    return status, out.getvalue(), err.getvalue()


def _cli_ok(argv: list[str]) -> str:
    """Run one ``fastfair`` command that must succeed; its standard output."""
    status, out, err = _cli(argv)
    if status != 0:
        msg = f"fastfair {' '.join(argv[:2])} failed (exit {status}): {err.strip()}"
        raise CliError(msg)
    return out


def run_demo(out: Path, *, years: int, members: int, places: float, items: int,
             agents: int, seed: int, plots: bool) -> int:
    """Run the demo into ``out``; returns the exit status (0)."""
    start = time.perf_counter()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        msg = f"cannot create output folder {out}: {exc.strerror or exc}"
        raise CliError(msg) from None
    if not out.is_dir():
        msg = f"--out {out} is not a folder"
        raise CliError(msg)
    rng = np.random.default_rng(seed)
    _say(f"fastfair demo: writing into {out.resolve()}")
    lottery = _lottery_years(out, rng, years, members, places)
    stream = _scheduler(out, rng, items, agents)
    made = _plots(out, lottery, stream) if plots else []
    _write_report(out, lottery, stream, made)
    elapsed = time.perf_counter() - start
    _say(f"done in {elapsed:.1f} s. Files in {out.resolve()}:")
    _say("  report.md                 what happened, with the numbers above")
    _say(f"  {lottery['path'].name:<25} the lottery pool (fastfair lottery verify/preview/draw)")
    _say(f"  entrants-yearN.csv        the entrants (id,score) of year N = 1..{years}")
    _say("  odds-yearN.csv            everyone's odds before the draw (lottery preview)")
    _say("  winners-yearN.csv         the winners (lottery draw)")
    _say("  lottery-audit.txt/.html   the audit of every draw (lottery report)")
    _say("  history.csv               every entrant in every lottery (lottery history)")
    _say("  scheduler.csv             largest deficits and the guarantee, by job count")
    for name in made:
        _say(f"  {name:<25} plot")
    _say(f"Start with {out / 'report.md'}.")
    return 0


# ---- 1. the multi-year lottery ----------------------------------------------------

def _lottery_years(out: Path, rng: np.random.Generator, years: int, members: int,
                   places: float) -> dict[str, Any]:
    import fastfair as ff

    pool_path = out / "club.fflottery"
    for stale in [pool_path, *out.glob("entrants-year*.csv"), *out.glob("odds-year*.csv"),
                  *out.glob("winners-year*.csv"), out / "lottery-audit.html",
                  out / "lottery-audit.txt", out / "history.csv"]:
        stale.unlink(missing_ok=True)  # a rerun starts a fresh pool
    n = members
    loyalty = rng.gamma(2.0, 1.0, size=n)  # loyalty points: weights of the draw
    naive_wins: dict[str, float] = {}
    naive_deserved: dict[str, float] = {}
    rows: list[dict[str, Any]] = []
    _say(f"1) lottery: {years} yearly draws, {members} members at first, "
         f"{places:.0%} of the entrants win each year")
    for year in range(1, years + 1):
        if year > 1:  # newcomers join with a small score
            new = max(1, n // 20)
            loyalty = np.concatenate([loyalty, rng.gamma(1.0, 0.5, size=new)])
            n += new
        ids = [f"m{i:05d}" for i in range(n)]
        enters = rng.random(n) < 0.8
        scores = np.where(enters, np.round(loyalty, 3) + 0.001, 0.0)
        k = max(1, int(places * int(enters.sum())))
        entrants = out / f"entrants-year{year}.csv"
        write_text_atomic(str(entrants), csv_text(
            ["id", "score"], [(i, repr(float(s))) for i, s in zip(ids, scores) if s > 0]))
        odds = out / f"odds-year{year}.csv"
        winners = out / f"winners-year{year}.csv"
        draw_seed = int(rng.integers(0, 2**63))
        common = [str(pool_path), str(entrants), "-k", str(k)]
        _cli_ok(["lottery", "preview", *common, "--out", str(odds),
                 *(["--create"] if year == 1 else [])])
        _cli_ok(["lottery", "draw", *common, "--seed", str(draw_seed), "--out",
                 str(winners), *(["--create", "--name", "club places"] if year == 1 else [])])
        with open(winners, newline="", encoding="utf-8") as fh:
            won_ids = [row[0] for row in csv.reader(fh)][1:]  # after the header
        # the same year as an ordinary weighted lottery (no memory), for comparison
        entrant_ids = [i for i, s in zip(ids, scores) if s > 0]
        entrant_scores = np.array([s for s in scores if s > 0])
        p = entrant_scores / entrant_scores.sum()
        chosen = rng.choice(len(entrant_ids), size=k, replace=False, p=p)
        # deserved seats of this year: a fresh pool's odds are exactly its seats
        deserved_now = ff.LotteryPool("seats").preview(entrant_scores, k)
        for j, entrant in enumerate(entrant_ids):
            naive_deserved[entrant] = naive_deserved.get(entrant, 0.0) + deserved_now[j]
        for j in chosen:
            naive_wins[entrant_ids[j]] = naive_wins.get(entrant_ids[j], 0.0) + 1.0
        pool = ff.LotteryPool.load(str(pool_path))
        unfair = float(np.max(np.abs(pool.unfairness)))
        naive = max(abs(naive_wins.get(e, 0.0) - d) for e, d in naive_deserved.items())
        rows.append({"year": year, "entrants": len(entrant_ids), "winners": len(won_ids),
                     "max_unfairness": unfair, "naive_max_unfairness": naive})
        _say(f"   year {year}: {len(entrant_ids)} entrants, {len(won_ids)} winners; "
             f"largest |wins - deserved| {unfair:.2f} (independent draws: {naive:.2f})")
    status, _, err = _cli(["lottery", "verify", str(pool_path)])
    pool = ff.LotteryPool.load(str(pool_path))
    verified = status == 0
    _say(f"   lottery verify: {'every draw re-derived bit for bit' if verified else err}")
    audit = _cli_ok(["lottery", "report", str(pool_path), "--html",
                     str(out / "lottery-audit.html")])
    write_text_atomic(str(out / "lottery-audit.txt"), audit)
    _cli_ok(["lottery", "history", str(pool_path), "--out", str(out / "history.csv")])
    _say("   lottery report, lottery history: lottery-audit.txt/.html, history.csv")
    return {"pool": pool, "rows": rows, "verified": verified, "path": pool_path}


# ---- 2. the scheduler stream ------------------------------------------------------

def _scheduler(out: Path, rng: np.random.Generator, items: int,
               agents: int) -> dict[str, Any]:
    import fastfair as ff
    from fastfair import baselines

    # Jobs of a few types; each agent values each type differently (heavy tails).
    types = 4
    affinity = rng.gamma(1.0, 1.0, size=(types, agents))
    _say(f"2) scheduler: {items:,} jobs shared by {agents} agents (PROP: nobody may fall "
         "behind their proportional share by more than a few of their largest missed jobs)")
    rules: dict[str, Callable[[], Any]] = {
        "fastfair": lambda: ff.OnlineAllocator(agents, notion="prop"),
        "round-robin": lambda: baselines.RoundRobin(agents),
        "max-deficit greedy": lambda: baselines.GreedyMaxDeficit(agents),
    }
    engines = {name: make() for name, make in rules.items()}
    chunk = max(1, min(10_000, items // 100 or 1))
    checkpoints: list[int] = []
    trace: dict[str, list[float]] = {name: [] for name in engines}
    bound: list[float] = []
    seconds = 0.0
    done = 0
    while done < items:
        size = min(chunk, items - done)
        kind = rng.integers(0, types, size=size)
        values = affinity[kind] * rng.lognormal(0.0, 1.0, size=(size, agents))
        for name, engine in engines.items():
            t0 = time.perf_counter()
            engine.run(values)
            if name == "fastfair":
                seconds += time.perf_counter() - t0
            trace[name].append(float(engine.max_deficit))
        bound.append(float(engines["fastfair"].bound()))
        done += size
        checkpoints.append(done)
    ours = engines["fastfair"]
    holds = all(d <= b for d, b in zip(trace["fastfair"], bound))
    rate = items / seconds if seconds > 0 else math.inf
    write_text_atomic(str(out / "scheduler.csv"), csv_text(
        ["items", *[f"max_deficit_{n.replace(' ', '_')}" for n in engines], "bound"],
        [(t, *[f"{trace[n][j]:.6g}" for n in engines], f"{bound[j]:.6g}")
         for j, t in enumerate(checkpoints)]))
    _say(f"   fastfair: {rate / 1e6:.1f} M jobs/s, largest deficit "
         f"{trace['fastfair'][-1]:.3f} <= guarantee {bound[-1]:.1f} at every checkpoint: "
         f"{holds}; round-robin {trace['round-robin'][-1]:.1f}, greedy "
         f"{trace['max-deficit greedy'][-1]:.1f}")
    return {"checkpoints": checkpoints, "trace": trace, "bound": bound, "holds": holds,
            "rate": rate, "items": items, "agents": agents, "p": ours.p,
            "utilities": ours.utilities}


# ---- plots and report -------------------------------------------------------------

def _plots(out: Path, lottery: dict[str, Any], stream: dict[str, Any]) -> list[str]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        _say('   (plots skipped: install matplotlib, pip install "fastfair[plot]")')
        return []
    made: list[str] = []
    pool = lottery["pool"]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    rows = lottery["rows"]
    years = [r["year"] for r in rows]
    ax.plot(years, [r["naive_max_unfairness"] for r in rows], "o-",
            label="independent weighted draws")
    ax.plot(years, [r["max_unfairness"] for r in rows], "o-", linewidth=2.4,
            label="fastfair pool")
    ax.set_xlabel("year")
    ax.set_ylabel("largest |wins - deserved seats| over members")
    ax.set_title("How far any member is from their fair share")
    ax.set_ylim(bottom=0)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "lottery-unfairness.png", dpi=110)
    plt.close(fig)
    made.append("lottery-unfairness.png")
    shown = min(pool.n_entrants, 60)
    drift = np.cumsum(pool.winners - pool.deserved, axis=1)[:shown]
    lim = max(1.0, float(np.abs(drift).max()))
    fig, ax = plt.subplots(figsize=(7, 6))
    im = ax.imshow(drift, aspect="auto", interpolation="nearest", cmap="coolwarm",
                   vmin=-lim, vmax=lim,
                   extent=(0.5, pool.n_lotteries + 0.5, shown - 0.5, -0.5))
    fig.colorbar(im, ax=ax, label="wins - deserved seats so far")
    ax.set_xlabel("year")
    ax.set_ylabel("member")
    ax.set_title(f"Every member stays close to their share (first {shown} members)")
    fig.tight_layout()
    fig.savefig(out / "lottery-members.png", dpi=110)
    plt.close(fig)
    made.append("lottery-members.png")
    traces = {name: np.asarray(v) for name, v in stream["trace"].items()}
    fig, ax = plt.subplots(figsize=(7, 4.5))
    x = np.asarray(stream["checkpoints"])
    for name, trace in traces.items():
        ax.plot(x, trace, label=name, linewidth=2.4 if name == "fastfair" else 1.2)
    ax.plot(x, stream["bound"], "k--", linewidth=1, label="fastfair's guarantee tau_p(t)")
    ax.set_xscale("log")
    ax.set_yscale("symlog", linthresh=1.0)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("jobs allocated")
    ax.set_ylabel("largest PROP deficit (in largest missed jobs)")
    ax.set_title(f"Scheduler: {stream['items']:,} jobs, {stream['agents']} agents")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "scheduler-deficits.png", dpi=110)
    plt.close(fig)
    made.append("scheduler-deficits.png")
    return made


def _write_report(out: Path, lottery: dict[str, Any], stream: dict[str, Any],
                  plots: list[str]) -> None:
    rows = lottery["rows"]
    pool = lottery["pool"]
    lines = [
        "# fastfair demo report",
        "",
        "Generated data; rerun `fastfair demo` with another `--seed` for another run.",
        "",
        "## 1. A multi-year lottery",
        "",
        f"Pool `{lottery['path'].name}` ({pool.n_entrants} members, {pool.n_lotteries} "
        "lotteries), built by `fastfair lottery preview` (odds-yearN.csv) and "
        "`fastfair lottery draw` (winners-yearN.csv) from entrants-yearN.csv. "
        f"`fastfair lottery verify`: {'passed' if lottery['verified'] else 'FAILED'}. "
        "The audit of every draw: lottery-audit.txt and lottery-audit.html (`fastfair "
        "lottery report`); every entrant of every lottery: history.csv (`fastfair "
        "lottery history`).",
        "",
        "Each year every entrant deserves `k * score / sum(scores)` seats (capped at "
        "one); the pool's odds correct past luck, so nobody drifts far from the seats "
        "they deserved. Independent weighted draws have no memory and drift.",
        "",
        "| year | entrants | winners | largest abs(wins - deserved), fastfair | same, independent draws |",
        "|---:|---:|---:|---:|---:|",
    ]
    lines += [f"| {r['year']} | {r['entrants']} | {r['winners']} | "
              f"{r['max_unfairness']:.2f} | {r['naive_max_unfairness']:.2f} |" for r in rows]
    lines += [
        "",
        "## 2. A scheduler stream",
        "",
        f"{stream['items']:,} jobs, {stream['agents']} agents, `OnlineAllocator(notion="
        f"'prop')` (p = {stream['p']:.3g}) at {stream['rate'] / 1e6:.1f} M jobs/s. "
        "Largest PROP deficit (shortfall against the proportional share, in units of "
        "the agent's largest missed job) after each chunk: scheduler.csv.",
        "",
        f"- fastfair: {stream['trace']['fastfair'][-1]:.3f} at the end; below the "
        f"guarantee `bound()` = {stream['bound'][-1]:.1f} at every checkpoint: "
        f"{stream['holds']}.",
        f"- round-robin: {stream['trace']['round-robin'][-1]:.1f}.",
        f"- max-deficit greedy: {stream['trace']['max-deficit greedy'][-1]:.1f}.",
        "",
    ]
    if plots:
        lines += ["## Plots", ""] + [f"![{name}]({name})" for name in plots] + [""]
    lines += ["The formulas behind every number: docs/formulas.md in the fastfair "
              "repository.", ""]
    write_text_atomic(str(out / "report.md"), "\n".join(lines))

