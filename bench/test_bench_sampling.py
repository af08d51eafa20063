"""Projection and pipage rounding: fastfair vs NumPy, the blog's code and the floors.

Each group also times the floor of the same memory traffic, measured in the same run:
``copy-floor`` (``np.copyto`` of n float64) for the projection, ``pipage-floor`` (read
n float64, write n bytes) for pipage; issue 14's goals are ratios to these (projection
within 4x at 1e6 and 1e7; pipage within 10x at 1e6 and 4x at 1e7).

Timed run (sizes up to 1e7):
    FASTFAIR_BENCH_FULL=1 python -m pytest bench/test_bench_sampling.py \
        --benchmark-enable --benchmark-columns=min,median,rounds --benchmark-sort=name
"""

from __future__ import annotations

import os

import numpy as np
import pytest

import fastfair as ff
from fastfair._reference import sampling as ref
from fastfair._reference import vectorised as vec
from fastfair.cli.bench_sections import copy_floor, pipage_floor

FULL = os.environ.get("FASTFAIR_BENCH_FULL", "") not in ("", "0")
SIZES = [1_000, 10_000, 100_000, 1_000_000, 10_000_000] if FULL else [1_000, 10_000]
#: The Python loop of the blog needs ~1.5 s at n = 1e6: only up to 1e5 unless FULL.
LOOP_SIZES = SIZES[:4] if FULL else [1_000]
#: The bisection makes ~60 passes: seconds at 1e7.
BISECTION_SIZES = SIZES[:4]


def _instance(n):
    rng = np.random.default_rng(n)
    k = n // 10
    y = k / n + rng.normal(scale=0.5, size=n)
    return y, k


@pytest.mark.parametrize("n", SIZES)
def test_projection_fastfair(benchmark, n):
    y, k = _instance(n)
    benchmark.group = f"projection n={n}"
    x = benchmark(ff.project_capped_simplex, y, k)
    np.testing.assert_allclose(x, ref.project_capped_simplex(y, k), atol=1e-9)


@pytest.mark.parametrize("n", SIZES)
def test_projection_copy_floor(benchmark, n):
    y, _ = _instance(n)
    benchmark.group = f"projection n={n}"
    dst = np.empty_like(y)
    benchmark(np.copyto, dst, y)
    np.testing.assert_array_equal(dst, y)
    copy_floor(y)()


@pytest.mark.parametrize("n", SIZES)
def test_projection_numpy_exact(benchmark, n):
    y, k = _instance(n)
    benchmark.group = f"projection n={n}"
    x = benchmark.pedantic(vec.project_exact, args=(y, k), rounds=3)
    np.testing.assert_allclose(x, ff.project_capped_simplex(y, k), rtol=0, atol=1e-9)


@pytest.mark.parametrize("n", BISECTION_SIZES)
def test_projection_numpy_bisection(benchmark, n):
    y, k = _instance(n)
    benchmark.group = f"projection n={n}"
    x = benchmark.pedantic(ref.project_capped_simplex, args=(y, k), rounds=3)
    assert abs(x.sum() - k) < 1e-6 * n


@pytest.mark.parametrize("n", SIZES)
def test_projection_blog_sort(benchmark, n):
    y, k = _instance(n)
    benchmark.group = f"projection n={n}"
    x = benchmark.pedantic(ref.project_capped_simplex_sort, args=(y, k), rounds=3)
    np.testing.assert_allclose(x, ff.project_capped_simplex(y, k), atol=1e-8)


def _pi(n):
    y, k = _instance(n)
    return ff.project_capped_simplex(y, k), k


@pytest.mark.parametrize("n", SIZES)
def test_pipage_fastfair(benchmark, n):
    pi, k = _pi(n)
    benchmark.group = f"pipage n={n}"
    w = benchmark(ff.pipage_round, pi, 1)
    assert int(w.sum(dtype=np.int64)) == k


@pytest.mark.parametrize("n", SIZES)
def test_pipage_floor(benchmark, n):
    pi, _ = _pi(n)
    benchmark.group = f"pipage n={n}"
    out = np.empty(n, dtype=np.bool_)
    benchmark(np.less, pi, 0.5, out=out)
    np.testing.assert_array_equal(out, pi < 0.5)
    pipage_floor(pi)()


@pytest.mark.parametrize("n", SIZES)
def test_pipage_numpy_pairs(benchmark, n):
    pi, k = _pi(n)
    benchmark.group = f"pipage n={n}"
    rng = np.random.default_rng(1)
    w = benchmark.pedantic(vec.pipage_pairs, args=(pi, rng), rounds=3)
    assert int(w.sum(dtype=np.int64)) == k


@pytest.mark.parametrize("n", LOOP_SIZES)
def test_pipage_blog_python_loop(benchmark, n):
    pi, k = _pi(n)
    benchmark.group = f"pipage n={n}"
    rng = np.random.default_rng(1)
    w = benchmark.pedantic(ref.pipage_round_loop, args=(pi, rng), rounds=1, iterations=1)
    assert int(w.sum()) == k
