"""Benchmarks: a divided lottery next to the undivided one on the same field.

Each timed call is one ``run_lottery`` on a pool that keeps its history (rounds = 10
successive lotteries), lognormal scores with 20% absent, 7 seats per 100 entrants.
Side by side in each group: undivided, one division holding everyone (bit-identical
results), 3 divisions and 100 divisions (labels passed as a NumPy str array).

    FASTFAIR_BENCH_FULL=1 python -m pytest bench/test_bench_divisions.py \
        --benchmark-enable --benchmark-columns=min,median,mean,max
"""

from __future__ import annotations

import os

import numpy as np
import pytest

import fastfair as ff

FULL = os.environ.get("FASTFAIR_BENCH_FULL") == "1"
SIZES = [1_000, 100_000, 1_000_000] if FULL else [1_000]
LOTTERIES = 10


def field(n: int, n_div: int) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    rng = np.random.default_rng(n)
    s = rng.lognormal(0.0, 1.0, n) * (rng.random(n) < 0.8)
    labels = np.array([f"d{j:03d}" for j in range(n_div)])[rng.integers(0, n_div, n)]
    k = {x: max(0, (7 * int(np.count_nonzero((labels == x) & (s > 0)))) // 100)
         for x in np.unique(labels).tolist()}
    return s, labels, k


@pytest.mark.parametrize("n_div", [0, 1, 3, 100])
@pytest.mark.parametrize("n", SIZES)
def test_bench_divisions(benchmark, n, n_div):
    benchmark.group = f"divided lottery n={n}"
    s, labels, k = field(n, max(n_div, 1))
    pool = ff.LotteryPool("bench")
    seeds = iter(range(10**6))
    if n_div == 0:
        total = sum(k.values())
        run = lambda: pool.run_lottery(s, total, seed=next(seeds))  # noqa: E731
    else:
        run = lambda: pool.run_lottery(s, k, seed=next(seeds), divisions=labels)  # noqa: E731
    benchmark.pedantic(run, rounds=LOTTERIES, iterations=1)
    won = pool.winners[:, -1]
    if n_div:
        for x, kx in k.items():
            assert int(won[labels == x].sum()) == kx
