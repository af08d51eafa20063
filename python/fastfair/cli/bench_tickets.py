"""The ``tickets`` section of ``fastfair bench``: ticket hats over many years.

Speed: :func:`fastfair.ticket_odds` (exact) against the usual way organisers publish
odds, a NumPy Monte Carlo of 1,000 lotteries (``Generator.choice(replace=False, p=..)``,
which is successive sampling), on a Western-States-like field (6,000 entrants, 370
places, 10 ticket classes). Fairness: one simulated field over many years (churn: a
share of runners leaves every year and new ones join), drawn three ways on the same
field: the ticket hat (tickets double each unsuccessful year and reset to 1 after a
win), independent draws (everyone equally likely every year) and fastfair's fair
lottery (:class:`fastfair.LotteryPool`, equal scores). Everyone deserves
``seats / field`` per year entered (the pool's deserved seats); measured: the max of
``|wins - deserved|`` over runners and years, its spread (sd over runners after the
last year) and the years waited (longest run of unsuccessful
entries: mean over runners, worst).
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np
from numpy.typing import NDArray

from .bench_common import FairnessRow, Progress, SpeedRow, best_time

__all__ = ["YearsResult", "simulate_years", "tickets", "tickets_steps", "plot_years"]

METHODS = ("ticket-hat", "independent-draws", "fastfair-pool")


def tickets_steps(quick: bool) -> int:  # noqa: ARG001
    return 2


def wser_field(n: int = 6_000, classes: int = 10, seed: int = 0) -> NDArray[np.float64]:
    """Tickets 1, 2, 4, ..., 2^(classes-1), about as many entrants with each."""
    rng = np.random.default_rng(seed)
    return np.ldexp(1.0, rng.integers(0, classes, n)).astype(np.float64)


def numpy_mc_odds(tickets: NDArray[np.float64], k: int, lotteries: int,
                  rng: np.random.Generator) -> NDArray[np.float64]:
    """Monte-Carlo odds as organisers publish them: ``lotteries`` simulated hats."""
    p = tickets / tickets.sum()
    hits = np.zeros(tickets.size)
    for _ in range(lotteries):
        hits[rng.choice(tickets.size, size=k, replace=False, p=p)] += 1
    return hits / lotteries


@dataclass
class YearsResult:
    """Per method: wins - deserved after every year (years, runners) and waits."""

    deserved: NDArray[np.float64]            # (years, runners) cumulative
    gap: dict[str, NDArray[np.float64]]      # method -> (years, runners) wins-deserved
    longest_wait: dict[str, NDArray[np.int64]]  # method -> (runners,)
    ever: NDArray[np.bool_]                  # runner entered at least once


def simulate_years(runners: int = 2_000, seats: int = 300, years: int = 30,
                   churn: float = 0.1, seed: int = 0) -> YearsResult:
    """One field over ``years`` years, drawn by the three methods (same field)."""
    import fastfair as ff

    rng = np.random.default_rng(seed)
    total = runners + int(np.ceil(churn * runners)) * years
    active = np.zeros(total, dtype=bool)
    active[:runners] = True
    next_id = runners
    pool = ff.LotteryPool("bench-years")
    tickets = np.ones(total)
    wins = {m: np.zeros(total) for m in METHODS}
    streak = {m: np.zeros(total, dtype=np.int64) for m in METHODS}
    longest = {m: np.zeros(total, dtype=np.int64) for m in METHODS}
    gap = {m: np.zeros((years, total)) for m in METHODS}
    deserved = np.zeros((years, total))
    ever = np.zeros(total, dtype=bool)
    for year in range(years):
        if year > 0:  # churn: some leave, as many new runners join (same for all)
            leave = np.flatnonzero(active)
            leave = rng.choice(leave, size=int(churn * runners), replace=False)
            active[leave] = False
            new = np.arange(next_id, next_id + leave.size)
            active[new] = True
            next_id += leave.size
        ever |= active
        idx = np.flatnonzero(active)
        scores = active.astype(np.float64)
        won: dict[str, NDArray[np.bool_]] = {}
        order = ff.draw_tickets(np.where(active, tickets, 0.0), seats,
                                seed=rng.integers(2**63))
        won["ticket-hat"] = np.zeros(total, dtype=bool)
        won["ticket-hat"][order] = True
        won["independent-draws"] = np.zeros(total, dtype=bool)
        won["independent-draws"][rng.choice(idx, size=seats, replace=False)] = True
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # new members join the pool every year
            w = pool.run_lottery(scores, seats, seed=int(rng.integers(2**63)))
        won["fastfair-pool"] = w.astype(bool)
        deserved[year] = pool.cumulative_deserved
        for m in METHODS:
            wins[m] += won[m]
            lost = active & ~won[m]
            streak[m] = np.where(lost, streak[m] + 1, np.where(won[m], 0, streak[m]))
            longest[m] = np.maximum(longest[m], streak[m])
            gap[m][year] = wins[m] - deserved[year]
        # ticket hat: double after an unsuccessful year, back to 1 after a win
        tickets = np.where(won["ticket-hat"], 1.0, np.where(active, 2.0 * tickets, tickets))
    return YearsResult(deserved, gap, longest, ever)


def tickets(quick: bool, progress: Progress) -> list[Any]:
    import fastfair as ff

    rows: list[Any] = []
    t = wser_field()
    k = 370
    lotteries = 100 if quick else 1_000
    exact = ff.ticket_odds(t, k)
    rng = np.random.default_rng(1)
    t0 = time.perf_counter()
    mc = numpy_mc_odds(t, k, lotteries, rng)
    mc_s = time.perf_counter() - t0
    # the Monte Carlo agrees with the exact odds (per class, 6 sigma)
    for c in np.unique(t):
        sel = t == c
        p = float(exact[sel][0])
        se = np.sqrt(p * (1 - p) / (lotteries * sel.sum()))
        if abs(float(mc[sel].mean()) - p) > 6 * se + 1e-12:
            msg = f"Monte Carlo odds disagree with ticket_odds for {c:g} tickets"
            raise AssertionError(msg)
    rows.append(SpeedRow(
        "tickets", f"ticket odds, 6000 entrants, k={k}, 10 classes",
        best_time(lambda: ff.ticket_odds(t, k), 5 if quick else 20),
        {f"numpy-MC-{lotteries}-lotteries": mc_s},
    ))
    progress.step("tickets: odds")

    runners, seats, years = 2_000, 300, (10 if quick else 30)
    res = simulate_years(runners, seats, years)
    case = f"{runners} runners, {seats} seats, {years} years, 10% churn"
    ever = res.ever
    stats: dict[str, dict[str, float]] = {}
    for m in METHODS:
        g = res.gap[m][:, ever]
        stats[m] = {
            "max |wins - deserved|": float(np.max(np.abs(g))),
            "sd of |wins - deserved|": float(np.std(np.abs(g[-1]))),
            "mean longest wait (y)": float(np.mean(res.longest_wait[m][ever])),
            "worst wait (years)": float(np.max(res.longest_wait[m][ever])),
        }
    for metric in stats["fastfair-pool"]:
        rows.append(FairnessRow(
            "tickets", case, metric, stats["fastfair-pool"][metric],
            {m: stats[m][metric] for m in METHODS if m != "fastfair-pool"},
        ))
    progress.step("tickets: years")
    return rows


def plot_years(path: str, res: Optional[YearsResult] = None) -> None:
    """Save the picture of the multi-year comparison (needs matplotlib)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if res is None:
        res = simulate_years()
    years = res.deserved.shape[0]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.2))
    colors = {"ticket-hat": "tab:orange", "independent-draws": "tab:gray",
              "fastfair-pool": "tab:blue"}
    x = np.arange(1, years + 1)
    for m in METHODS:
        g = np.abs(res.gap[m][:, res.ever])
        a1.plot(x, g.max(axis=1), color=colors[m], label=f"{m}: max")
        a1.plot(x, g.std(axis=1), color=colors[m], ls="--", label=f"{m}: sd")
    a1.set_xlabel("year")
    a1.set_ylabel("|wins - deserved| over runners")
    a1.set_title("Seats won against seats deserved")
    top = max(float(np.abs(res.gap[m][:, res.ever]).max()) for m in METHODS)
    a1.set_ylim(0, top * 1.45)  # room for the legend above the lines
    a1.legend(fontsize=7.5, loc="upper left", ncol=3)
    bins = np.arange(0, max(int(v[res.ever].max()) for v in res.longest_wait.values()) + 2)
    for m in METHODS:
        a2.hist(res.longest_wait[m][res.ever], bins=bins, histtype="step", lw=1.8,
                color=colors[m], label=m, align="left")
    a2.set_yscale("log")
    a2.set_xlabel("longest run of unsuccessful years")
    a2.set_ylabel("runners")
    a2.set_title("Years waited")
    a2.legend(fontsize=8)
    fig.suptitle("2000 runners, 300 seats, 30 years, 10% churn per year")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":  # pragma: no cover - docs picture
    import sys

    plot_years(sys.argv[1] if len(sys.argv) > 1 else "docs/tickets-years.png")
