"""Deterministic instances whose projection, pipage and lottery outputs are pinned.

The digests in tests/data/sampling_golden.json were written by the kernels before the
SIMD / fused-pass rewrite (issue 14): the rewrite must reproduce every bit of them
(probabilities and draws are part of the audit format: a pool saved before must still
verify). Regenerate only on purpose:

    python tests/sampling_golden.py --write tests/data/sampling_golden.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
from typing import Iterator

import numpy as np

import fastfair as ff
from fastfair import _core


def _digest(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()[:24]


def projection_instances(big: bool) -> Iterator[tuple[str, np.ndarray, float]]:
    rng = np.random.default_rng(2026)
    sizes = [1, 2, 3, 5, 17, 100, 1000, 2049, 3000, 5000, 20_000]
    if big:
        sizes += [300_000, 1_000_000]
    for n in sizes:
        for kind in ("normal", "uniform", "ties", "huge", "tiny", "int", "shifted"):
            if kind == "normal":
                y = 0.1 + rng.normal(scale=0.5, size=n)
            elif kind == "uniform":
                y = rng.random(n) * 3 - 1
            elif kind == "ties":
                y = rng.integers(0, 4, n) * 0.25
            elif kind == "huge":
                y = rng.normal(size=n) * 1e16
            elif kind == "tiny":
                y = rng.normal(size=n) * 1e-300
            elif kind == "int":
                y = rng.integers(-3, 5, n).astype(np.float64)
            else:
                y = 1e6 + rng.normal(size=n)
            for k in sorted({0.0, float(n), n / 10, n / 2 + 0.25, max(1.0, n // 3), 1.0}):
                if 0 <= k <= n:
                    yield f"proj/{kind}/n={n}/k={k}", y, k


def pipage_instances(big: bool) -> Iterator[tuple[str, np.ndarray, int, int]]:
    rng = np.random.default_rng(77)
    sizes = [1, 2, 10, 100, 1000, 5000, 50_000]
    if big:
        sizes += [1_000_000]
    for n in sizes:
        for kind in ("proj", "halves", "mixed", "thirds"):
            if kind == "proj":
                pi = ff.project_capped_simplex(rng.normal(size=n), max(1, n // 7))
            elif kind == "halves":
                pi = np.full(n - n % 2, 0.5)
            elif kind == "mixed":
                pi = ff.project_capped_simplex(rng.integers(-2, 3, n) * 0.4, n // 4)
            else:
                pi = np.full(n - n % 3, 1 / 3)
                pi *= (pi.size // 3) / max(pi.sum(), 1.0) if pi.size else 1.0
            if pi.size == 0:
                continue
            for seed, size in ((1, -1), (2**64 - 1, -1), (12345, 3)):
                yield f"pipage/{kind}/n={n}/seed={seed}/size={size}", pi, seed, size


def lottery_instances(big: bool) -> Iterator[tuple[str, np.ndarray, int, int]]:
    rng = np.random.default_rng(5)
    for n in [7, 100, 1000] + ([200_000] if big else [20_000]):
        for kind in ("uniform", "weighted"):
            s = np.ones(n) if kind == "uniform" else rng.lognormal(0, 1, n) * (rng.random(n) < 0.8)
            k = max(1, 7 * n // 100)
            yield f"lottery/{kind}/n={n}", s, k, 6


def deserved_instances(big: bool) -> Iterator[tuple[str, np.ndarray, int]]:
    rng = np.random.default_rng(11)
    for n in [3, 50, 1000, 5000] + ([300_000] if big else [40_000]):
        for kind in ("lognormal2", "pareto", "huge", "subnormal", "mixed", "zeros"):
            if kind == "lognormal2":
                s = rng.lognormal(0, 2.0, n)
            elif kind == "pareto":
                s = rng.pareto(0.4, n) + 1e-3
            elif kind == "huge":
                s = rng.random(n) * 1.7e308
            elif kind == "subnormal":
                s = rng.random(n) * 1e-310
            elif kind == "mixed":
                s = np.where(rng.random(n) < 0.01, 1e300, rng.random(n) * 1e-300)
            else:
                s = rng.random(n) * (rng.random(n) < 0.3)
            n_pos = int(np.count_nonzero(s > 0))
            for k in sorted({1, n_pos // 2, max(0, n_pos - 1), n_pos // 9}):
                yield f"deserved/{kind}/n={n}/k={k}", s, k


def fair_instances(
    big: bool,
) -> Iterator[tuple[str, np.ndarray, np.ndarray, np.ndarray, float]]:
    rng = np.random.default_rng(12)
    for n in [10, 3000, 50_000] + ([1_000_000] if big else []):
        for frac in (1.0, 0.5):
            deserved = rng.random(n) * 5
            received = rng.integers(0, 5, n).astype(np.float64)
            el = rng.random(n) < frac
            m = int(el.sum())
            yield f"fair/frac={frac}/n={n}", deserved, received, el, max(1.0, m // 5)


def compute(big: bool) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, s, k in deserved_instances(big):
        out[name] = _digest(_core.deserved_seats(s, k))
    for name, dv, rv, el, k in fair_instances(big):
        pi = _core.fair_probabilities(dv, rv, k, el.astype(np.uint8))[0]
        out[name] = _digest(pi)
    for name, y, k in projection_instances(big):
        out[name] = _digest(_core.project_capped_simplex(y, k))
    for name, pi, seed, size in pipage_instances(big):
        try:
            out[name] = _digest(_core.pipage_round(pi, seed, size))
        except ValueError as e:  # a sum off a whole number: the error is pinned too
            out[name] = "ValueError: " + str(e).split(",")[0]
    for name, s, k, count in lottery_instances(big):
        pool = ff.LotteryPool("golden")
        for t in range(count):
            pool.run_lottery(s, k, seed=1000 + t)
        h = hashlib.sha256()
        for t in range(count):
            h.update(np.ascontiguousarray(pool.win_probabilities[:, t]).tobytes())
            h.update(np.ascontiguousarray(pool.winners[:, t]).tobytes())
        out[name] = h.hexdigest()[:24]
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--write")
    ap.add_argument("--big", action="store_true")
    a = ap.parse_args()
    res = compute(a.big)
    if a.write:
        with open(a.write, "w") as f:
            json.dump(res, f, indent=0, sort_keys=True)
    print(len(res), "digests")


if __name__ == "__main__":
    main()
