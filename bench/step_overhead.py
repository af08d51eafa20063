"""Per-call cost of the online engines' Python boundary, side by side in one run.
Run: python bench/step_overhead.py [--agents 8] [--rounds 20000] [--repeats 9].

Every line times one Python loop over the same stream of distinct rows (one call per
row) and prints the best of ``--repeats`` in ns per call, with its ratio to the bare
pybind11 call with the same arguments (``_core._noop``, the yardstick) and to the empty
loop. Then ``run`` per round and the cost of its one-pass input check alone (a run whose
last value is NaN: fully checked, then refused). Single process; not collected by pytest.
"""

from __future__ import annotations

import argparse
import time
from typing import Callable

import numpy as np

import fastfair as ff
from fastfair import _core


def best_ns(loop: Callable[[], object], calls: int, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        loop()
        best = min(best, time.perf_counter() - t0)
    return best / calls * 1e9


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--agents", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=20_000)
    ap.add_argument("--repeats", type=int, default=9)
    args = ap.parse_args()
    n, T, k = args.agents, args.rounds, args.repeats
    rng = np.random.default_rng(0)
    rows = list(rng.random((T, n)))
    masks = list(rng.random((T, n)) < 0.75)
    for m in masks:
        m[rng.integers(0, n)] = True
    alts = list(rng.random((T, n, 4)))
    noop = _core._noop

    lines: list[tuple[str, float]] = []

    def loop_of(fn: Callable[..., object], *cols: list[np.ndarray]) -> Callable[[], object]:
        if len(cols) == 1:
            return lambda: [fn(a) for a in cols[0]]
        return lambda: [fn(a, b) for a, b in zip(*cols)]

    lines.append(("empty loop", best_ns(lambda: [None for _ in rows], T, k)))
    lines.append(("pybind11 no-op call (yardstick)", best_ns(loop_of(noop, rows), T, k)))
    lines.append(("pybind11 no-op call, 2 args", best_ns(loop_of(noop, rows, masks), T, k)))
    for notion in ("prop", "ef"):
        a = ff.OnlineAllocator(n, notion)
        lines.append((f"{notion}: engine step (no wrapper)",
                      best_ns(loop_of(a._impl.step, rows), T, k)))
        a = ff.OnlineAllocator(n, notion)
        lines.append((f"{notion}: OnlineAllocator.step", best_ns(loop_of(a.step, rows), T, k)))
        a = ff.OnlineAllocator(n, notion)
        lines.append((f"{notion}: OnlineAllocator.step, eligible mask",
                      best_ns(loop_of(a.step, rows, masks), T, k)))
        a = ff.OnlineAllocator(n, notion)
        lines.append((f"{notion}: alloc.step(v) (attribute look-up each call)",
                      best_ns(lambda a=a: [a.step(v) for v in rows], T, k)))
    d = ff.PublicDecisionMaker(n)
    lines.append(("pdm: PublicDecisionMaker.step, 4 alternatives",
                  best_ns(loop_of(d.step, alts), T, k)))

    yard = lines[1][1]
    print(f"n = {n}, {T} calls per loop, best of {k}")
    print(f"{'call':58s} {'ns/call':>9s} {'x no-op':>8s}")
    for name, ns in lines:
        print(f"{name:58s} {ns:9.1f} {ns / yard:8.2f}")

    V = rng.random((20 * T, n))
    bad = V.copy()
    bad[-1, -1] = np.nan
    for notion in ("prop", "ef"):
        t_run = best_ns(lambda notion=notion: ff.OnlineAllocator(n, notion).run(V), len(V), 3)
        probe = ff.OnlineAllocator(n, notion)

        def refused(probe: ff.OnlineAllocator = probe) -> None:
            try:
                probe.run(bad)
            except ValueError:
                pass

        t_chk = best_ns(refused, len(V), 3)
        print(f"{notion}: run {t_run:.1f} ns/round; its input check alone {t_chk:.2f} "
              f"ns/round ({t_chk / t_run:.1%})")


if __name__ == "__main__":
    main()
