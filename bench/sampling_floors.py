"""Projection, pipage and one lottery against their memory floors, in one run.

    python bench/sampling_floors.py [--sizes 1e6,1e7] [--repeat 7]

Single process. For each n: the memory-copy floor (y.copy(): a fresh array of n float64, as the projection returns), the
projection (ff.project_capped_simplex), the pipage floor (read n float64, write a fresh array of n bytes:
np.less(pi, 0.5)), pipage (ff.pipage_round), and at n = 1e6 one lottery
(LotteryPool.run_lottery, uniform scores, k = 7%) against the NumPy exact pool
(reference deserved seats + bisection projection + the Python pipage loop). Best of
`repeat` wall times; the ratio column is time / floor.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import fastfair as ff
from fastfair._reference import lottery as ref_lottery
from fastfair._reference import sampling as ref_sampling


def best(fn, repeat):
    t = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        t = min(t, time.perf_counter() - t0)
    return t


def instance(n):
    rng = np.random.default_rng(n)
    k = n // 10
    return k / n + rng.normal(scale=0.5, size=n), k


class NumpyExactPool:
    """Running sums in NumPy, the reference solvers and the Python pipage loop."""

    def __init__(self) -> None:
        self.cum = None
        self.wins = None

    def run_lottery(self, s, k, seed):
        d = ref_lottery.deserved_seats(s, k)
        if self.cum is None:
            self.cum = np.zeros(s.size)
            self.wins = np.zeros(s.size)
        pi = ref_lottery.fair_probabilities(self.cum + d, self.wins, k, s > 0)
        w = ref_sampling.pipage_round_loop(pi, np.random.default_rng(seed))
        self.cum += d
        self.wins += w
        return w


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1e6,1e7")
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--lottery", type=float, default=1e6)
    a = ap.parse_args()
    for n in (int(float(v)) for v in a.sizes.split(",")):
        y, k = instance(n)
        copy = best(lambda: y.copy(), a.repeat)
        proj = best(lambda: ff.project_capped_simplex(y, k), a.repeat)
        pi = ff.project_capped_simplex(y, k)
        pfloor = best(lambda: np.less(pi, 0.5), a.repeat)
        pip = best(lambda: ff.pipage_round(pi, seed=1), a.repeat)
        print(f"n={n:.0e} copy floor {copy*1e3:8.3f} ms | projection {proj*1e3:8.3f} ms "
              f"({proj/n*1e9:5.2f} ns/el) = {proj/copy:5.1f}x floor")
        print(f"n={n:.0e} pipage floor {pfloor*1e3:6.3f} ms | pipage {pip*1e3:8.3f} ms "
              f"({pip/n*1e9:5.2f} ns/el) = {pip/pfloor:5.1f}x floor")
    n = int(a.lottery)
    if n:
        s, k = np.ones(n), max(1, 7 * n // 100)
        pool = ff.LotteryPool("bench")
        npool = NumpyExactPool()
        ts, tn = [], []
        for t in range(a.repeat):
            t0 = time.perf_counter()
            pool.run_lottery(s, k, seed=t)
            ts.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            npool.run_lottery(s, k, seed=t)
            tn.append(time.perf_counter() - t0)
        print(f"lottery n={n:.0e} k={k}: fastfair {np.median(ts)*1e3:7.2f} ms (median of "
              f"{a.repeat}), NumPy exact pool {np.median(tn)*1e3:8.1f} ms = "
              f"{np.median(tn)/np.median(ts):6.1f}x")


if __name__ == "__main__":
    main()
