"""Benchmarks: exact ticket-hat odds against the Monte Carlo organisers publish.

Group "tickets 6k": fastfair.ticket_odds on 6,000 entrants, 370 places, 10 ticket
classes (1, 2, 4, ..., 512 tickets) against a NumPy Monte Carlo of 1,000 lotteries
(``Generator.choice(replace=False, p=...)``), in the same run. Group "tickets 1e6":
1e6 entrants with 1e6 distinct (lognormal) ticket counts, 370 places.

Default sizes are small (the normal test run executes each once, untimed). Full:

    FASTFAIR_BENCH_FULL=1 python -m pytest bench/test_bench_tickets.py \
        --benchmark-enable --benchmark-columns=min,median,mean,max
"""

from __future__ import annotations

import os

import numpy as np

import fastfair as ff
from fastfair.cli.bench_tickets import numpy_mc_odds, wser_field

FULL = os.environ.get("FASTFAIR_BENCH_FULL") == "1"
K = 370
LOTTERIES = 1_000 if FULL else 20
BIG = 1_000_000 if FULL else 20_000


def test_bench_odds_6k(benchmark):
    benchmark.group = "tickets 6k"
    t = wser_field()
    pi = benchmark(lambda: ff.ticket_odds(t, K))
    assert abs(pi.sum() - K) < 1e-12 * K


def test_bench_numpy_mc_6k(benchmark):
    benchmark.group = "tickets 6k"
    t = wser_field()
    rng = np.random.default_rng(0)
    mc = benchmark.pedantic(lambda: numpy_mc_odds(t, K, LOTTERIES, rng), rounds=1,
                            iterations=1)
    exact = ff.ticket_odds(t, K)
    # per ticket class, the Monte Carlo mean is within 6 standard errors of the exact
    for c in np.unique(t):
        sel = t == c
        p = exact[sel][0]
        se = np.sqrt(p * (1 - p) / (LOTTERIES * sel.sum()))
        assert abs(mc[sel].mean() - p) < 6 * se + 1e-12


def test_bench_odds_many_distinct(benchmark):
    benchmark.group = "tickets 1e6"
    t = np.random.default_rng(1).lognormal(0.0, 1.0, BIG)
    pi, info = benchmark.pedantic(lambda: ff.ticket_odds(t, K, return_info=True),
                                  rounds=1, iterations=1)
    assert info["classes"] == BIG
    assert abs(info["raw_sum"] - K) <= info["error_bound"]
