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


# --- magnitudes and ties (issue 9): exact rational reference ---------------------------

from fastfair._reference.sampling import project_capped_simplex_exact  # noqa: E402

#: |x - exact| bound at any magnitude: the free entries are solved on y - pivot.
EXACT_TOL = 1e-12


def _mixed_instance(rng, n):
    """Clusters of values around centres of very different magnitudes."""
    centres = np.array([0.0, 1.0, -3.0, 1e6, 1e12, -1e15, 1e16, 3e17, 1e100, -1e200,
                        1e300, 1.7e308, -1.7e308, 1e-320, 5e-324])
    c = rng.choice(centres, size=int(rng.integers(1, 4)))
    y = rng.choice(c, size=n) + rng.choice([0.0, 0.25, 0.5, -0.75, 1.5, 2.0], size=n)
    kind = rng.integers(0, 3)
    if kind == 1:
        y = y + rng.normal(size=n) * rng.choice([1e-3, 1.0, 3.0])
    elif kind == 2:
        y = y * rng.choice([1.0, 1e-300, 1e300]) if np.max(np.abs(y)) < 1e7 else y
    return np.clip(y, -1.7e308, 1.7e308)


def _k_for(rng, n):
    return float(rng.choice([1.0, float(rng.integers(0, n + 1)), float(rng.uniform(0, n))]))


def test_huge_entries_keep_their_fractions():
    np.testing.assert_array_equal(ff.project_capped_simplex([1e16, 0.0], 0.5), [0.5, 0.0])
    np.testing.assert_array_equal(
        ff.fair_probabilities([1e16] * 4, [0] * 4, 2), [0.5] * 4)
    np.testing.assert_array_equal(
        ff.fair_probabilities([1e16] * 4, [0] * 4, 2, solver="pgd"), [0.5] * 4)
    x = ff.project_capped_simplex([1.7e308, -1.7e308, 1e300, 3.0], 1.5)
    np.testing.assert_array_equal(x, [1.0, 0.0, 0.5, 0.0])


@pytest.mark.parametrize("scale", [1e12, 1e13, 1e15, 1e16, 1e20, 1e100, 1e300, 1e308])
def test_sums_and_values_at_large_magnitudes(scale, rng):
    for _ in range(12):
        n = int(rng.integers(2, 40))
        # values near a huge centre (fractional parts matter) and spread at the scale
        if rng.integers(0, 2):
            y = np.full(n, scale) + rng.integers(-8, 9, size=n) * 0.25 * max(1.0, np.spacing(scale))
        else:
            y = rng.uniform(-1.7, 1.7, size=n) * scale
        k = _k_for(rng, n)
        x = ff.project_capped_simplex(y, k)
        assert np.all((x >= 0) & (x <= 1))
        assert abs(math.fsum(x) - k) <= 1e-9 + 4 * n * EPS  # SPEC tolerance, y-free part
        exact = np.array([float(v) for v in project_capped_simplex_exact(y, k)])
        np.testing.assert_allclose(x, exact, rtol=0, atol=EXACT_TOL)


def test_matches_exact_reference_on_mixed_magnitudes(rng):
    worst = 0.0
    for _ in range(150):
        n = int(rng.integers(1, 30))
        y = _mixed_instance(rng, n)
        k = _k_for(rng, n)
        x = ff.project_capped_simplex(y, k)
        exact = np.array([float(v) for v in project_capped_simplex_exact(y, k)])
        assert np.all((x >= 0) & (x <= 1))
        assert abs(math.fsum(x) - k) <= 8 * EPS * max(1.0, k)
        worst = max(worst, float(np.max(np.abs(x - exact))) if n else 0.0)
    assert worst <= EXACT_TOL


def test_shift_by_a_constant_changes_nothing(rng):
    # y + c is computed exactly here (integers and quarters below 2^53 / 4)
    for _ in range(60):
        n = int(rng.integers(1, 50))
        y = rng.integers(-8, 9, size=n) * 0.25
        k = _k_for(rng, n)
        base = ff.project_capped_simplex(y, k)
        for c in (2.0**20, 2.0**40, 2.0**50, -(2.0**50)):
            shifted = y + c
            assert np.array_equal(shifted - c, y)
            np.testing.assert_allclose(ff.project_capped_simplex(shifted, k), base,
                                       rtol=0, atol=4 * EPS)


def _assert_ties_kept(y, x):
    order = np.argsort(y, kind="stable")
    ys, xs = y[order], x[order]
    same = ys[1:] == ys[:-1]
    # equal inputs => bit-identical outputs
    assert np.array_equal(xs[1:][same].view(np.uint64), xs[:-1][same].view(np.uint64))


@pytest.mark.parametrize("n_max", [60, 5000])
def test_equal_inputs_give_bit_identical_outputs(n_max, rng):
    for _ in range(40 if n_max < 100 else 6):
        n = int(rng.integers(2, n_max))
        vals = rng.normal(size=int(rng.integers(1, 8))) * rng.choice([1e-3, 1.0, 7.0, 1e16])
        y = rng.choice(vals, size=n)
        if rng.integers(0, 2):
            y = np.concatenate([y, rng.normal(size=n)])  # ties among distinct values
        k = _k_for(rng, y.size)
        x = ff.project_capped_simplex(y, k)
        _assert_ties_kept(y, x)
        assert abs(math.fsum(x) - k) <= 8 * EPS * max(1.0, k)
        pi = ff.fair_probabilities(np.maximum(y, 0), np.maximum(-y, 0), float(int(k)))
        _assert_ties_kept(y, pi)


@pytest.mark.parametrize("n", [3000, 60_000])
@pytest.mark.parametrize("c", [2.0**11, 2.0**30, -(2.0**40), 2.0**50])
def test_large_shifted_instances_equal_the_unshifted_ones(n, c, rng):
    # offsets on the grid of ulp(c): y = c + o and y - c = o are both exact, so the
    # projection of y must equal that of o (solved near 0, where floats are fine)
    q = np.spacing(abs(c))
    o = np.round(rng.normal(size=n) * 3 / q) * q
    y = c + o
    assert np.array_equal(y - c, o)
    for k in (1.0, n / 7 + 0.5, n - 2.0):
        x = ff.project_capped_simplex(y, k)
        np.testing.assert_allclose(x, ff.project_capped_simplex(o, k), rtol=0, atol=1e-12)
        assert abs(math.fsum(x) - k) <= 8 * EPS * max(1.0, k)
        _assert_ties_kept(y, x)
