"""Online kernels vs a vectorised NumPy loop of the same rule, side by side in one run.

    OPENBLAS_NUM_THREADS=1 python bench/online_ratios.py   # PROP n=8, n=1024, EF n=128

Prints ns per round of ``OnlineAllocator.run`` (and of its exact log-space path alone,
the engine before the fast potential) and of the NumPy loop
(``fastfair._reference.vectorised.prop_loop`` / ``ef_loop``, the bench yardsticks) and
their ratios.
Single process; the best of a few repetitions of each.
"""

from __future__ import annotations

import sys
import time

import numpy as np

import fastfair as ff
from fastfair import _core
from fastfair._reference import vectorised as vec


def best_time(fn, reps):
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def row(notion, n, T_fast, T_loop, tie="value", p=None):
    V = np.random.default_rng(0).random((max(T_fast, T_loop), n))
    loop = vec.prop_loop if notion == "prop" else vec.ef_loop
    Vf, Vl = V[:T_fast], V[:T_loop]

    def ours():
        return ff.OnlineAllocator(n, notion, p=p, tie_break=tie).run(Vf)

    fast = best_time(ours, 5) / T_fast
    prev = _core._set_fast_potential(0)  # the exact log-space path only (before issue 14)
    try:
        exact = best_time(ours, 3) / T_fast
    finally:
        _core._set_fast_potential(prev)
    slow = best_time(lambda: loop(Vl, p=p, tie_break=tie), 2) / T_loop
    print(f"{notion:4s} n={n:5d} p={'default' if p is None else p:>7} tie={tie:5s} "
          f"rounds={T_fast:8d}: fastfair {fast * 1e9:10.1f} ns/round (exact path only "
          f"{exact * 1e9:10.1f}), numpy loop {slow * 1e9:12.1f} ns/round ({T_loop} rounds), "
          f"ratio {slow / fast:8.1f}x (exact path {slow / exact:8.1f}x)", flush=True)


if __name__ == "__main__":
    quick = "--quick" in sys.argv
    row("prop", 8, 1_000_000 if not quick else 100_000, 20_000 if not quick else 2000)
    row("prop", 8, 1_000_000 if not quick else 100_000, 20_000 if not quick else 2000, tie="index")
    row("prop", 1024, 20_000 if not quick else 2000, 2000 if not quick else 200)
    row("ef", 128, 1000, 1000 if not quick else 100)
    row("ef", 128, 1000, 1000 if not quick else 100, tie="index")
    row("ef", 128, 1000, 1000 if not quick else 100, p=10.0)  # the even p nearest ln m
