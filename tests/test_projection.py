"""The capped-simplex projection against a slow bisection reference."""

from __future__ import annotations

import math

import numpy as np
import pytest

import fastfair as ff
from fastfair._reference.sampling import project_capped_simplex as ref_project

EPS = np.finfo(np.float64).eps


def _check(y, k):
    y = np.asarray(y, dtype=np.float64)
    n = y.size
    x = ff.project_capped_simplex(y, k)
    assert x.dtype == np.float64
    assert x.shape == (n,)
    # constraints hold exactly as stated
    assert np.all(x >= 0.0)
    assert np.all(x <= 1.0)
    assert abs(math.fsum(x) - k) <= 8 * EPS * max(1.0, k)
    # equals the bisection reference
    scale = float(np.max(np.abs(y))) if n else 0.0
    tol = 1e-9 + 4 * n * EPS * scale
    np.testing.assert_allclose(x, ref_project(y, k), rtol=0, atol=tol)
    return x


def _instances(rng):
    for _ in range(300):
        n = int(rng.integers(1, 400))
        kind = rng.integers(0, 6)
        if kind == 0:
            y = rng.normal(size=n)
        elif kind == 1:  # many ties
            y = rng.integers(-3, 4, size=n).astype(float) / 2
        elif kind == 2:  # all equal
            y = np.full(n, rng.normal())
        elif kind == 3:  # huge
            y = rng.normal(size=n) * 1e12
        elif kind == 4:  # tiny
            y = rng.normal(size=n) * 1e-12
        else:  # heavy tails
            y = rng.standard_cauchy(size=n)
        ksel = rng.integers(0, 4)
        if ksel == 0:
            k = 0.0
        elif ksel == 1:
            k = float(n)
        elif ksel == 2:
            k = float(rng.integers(0, n + 1))
        else:
            k = float(rng.uniform(0, n))
        yield y, k


def test_matches_reference_on_random_instances(rng):
    count = 0
    for y, k in _instances(rng):
        _check(y, k)
        count += 1
    assert count == 300


@pytest.mark.parametrize("n", [1, 2, 5, 1000, 100_000])
def test_edge_k_values(n, rng):
    y = rng.normal(size=n)
    assert np.array_equal(ff.project_capped_simplex(y, 0), np.zeros(n))
    assert np.array_equal(ff.project_capped_simplex(y, n), np.ones(n))
    _check(y, n / 2)


def test_large_input_releases_gil_path(rng):
    # n above the GIL-release threshold goes through the same kernel
    y = rng.normal(size=200_000) * 3
    _check(y, 1234.5)


def test_known_small_case():
    # y - lambda with lambda = 0.5 + ... : hand-checkable
    x = ff.project_capped_simplex([0.2, 2.0, 0.5], 2.0)
    # 2.0 saturates at 1; the other two share 1.0: (0.2 - l) + (0.5 - l) = 1 -> l = -0.15
    np.testing.assert_allclose(x, [0.35, 1.0, 0.65], atol=1e-15)


def test_idempotent_on_feasible_points(rng):
    x0 = ff.project_capped_simplex(rng.normal(size=50), 7)
    x1 = ff.project_capped_simplex(x0, 7)
    np.testing.assert_allclose(x1, x0, atol=1e-12)


def test_accepts_lists_and_ints():
    x = ff.project_capped_simplex([1, 2, 3], 1)
    assert x.dtype == np.float64
    np.testing.assert_allclose(x, [0.0, 0.0, 1.0])


def test_empty_input():
    assert ff.project_capped_simplex([], 0).shape == (0,)


@pytest.mark.parametrize(
    ("y", "k", "exc", "match"),
    [
        ([1.0, np.nan], 1, ValueError, "y must be finite"),
        ([1.0, np.inf], 1, ValueError, "y must be finite"),
        ([[1.0, 2.0]], 1, ValueError, "y must be a 1-dimensional"),
        ([1.0, 2.0], 3, ValueError, "k must lie in"),
        ([1.0, 2.0], -0.5, ValueError, "k must lie in"),
        ([1.0, 2.0], float("nan"), ValueError, "k must lie in"),
        ([1.0, 2.0], "1", TypeError, "k must be a real number"),
        (["a", "b"], 1, TypeError, "y must be an array of real numbers"),
    ],
)
def test_bad_input(y, k, exc, match):
    with pytest.raises(exc, match=match):
        ff.project_capped_simplex(y, k)


@pytest.mark.parametrize("n", [2049, 5000, 30_000, 120_000])
@pytest.mark.parametrize("kind", ["normal", "ties", "huge", "tiny", "cauchy", "equal"])
def test_large_instances_take_the_sampling_path(n, kind):
    # n > 2048 goes through the sampled bracketing start
    rng = np.random.default_rng(n + len(kind))
    y = {
        "normal": lambda: rng.normal(size=n),
        "ties": lambda: rng.integers(-2, 3, size=n) / 4.0,
        "huge": lambda: rng.normal(size=n) * 1e12,
        "tiny": lambda: rng.normal(size=n) * 1e-12,
        "cauchy": lambda: rng.standard_cauchy(size=n),
        "equal": lambda: np.full(n, 0.3),
    }[kind]()
    for k in (1.0, n / 10, n / 2 + 0.25, n - 1.0):
        _check(y, k)
