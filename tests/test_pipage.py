"""Randomized pipage rounding: exact counts, exact marginals (seeded Monte-Carlo)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import fastfair as ff

BLOG_PI = np.array([0.1, 0.3, 0.4, 0.8, 0.4])
DRAWS = 40_000


def _assert_marginals(pi, draws):
    """Entries 0/1 exactly; z-test |z| < 5 wherever draws*pi*(1-pi) >= 25."""
    pi = np.asarray(pi)
    d = draws.shape[0]
    freq = draws.mean(axis=0)
    exact = (pi == 0.0) | (pi == 1.0)
    assert np.array_equal(freq[exact], pi[exact])
    var = d * pi * (1 - pi)
    tested = var >= 25
    z = (draws.sum(axis=0)[tested] - d * pi[tested]) / np.sqrt(var[tested])
    assert np.all(np.abs(z) < 5), z
    return int(tested.sum())


def test_blog_vector_marginals():
    draws = ff.pipage_round(BLOG_PI, seed=1, size=DRAWS)
    assert draws.shape == (DRAWS, 5)
    assert draws.dtype == np.int8
    assert set(np.unique(draws).tolist()) <= {0, 1}
    assert np.all(draws.sum(axis=1) == 2)
    assert _assert_marginals(BLOG_PI, draws) == 5


@pytest.mark.parametrize("trial", range(6))
def test_random_vector_marginals(trial):
    rng = np.random.default_rng(100 + trial)
    n = int(rng.integers(5, 60))
    k = int(rng.integers(1, n))
    pi = ff.project_capped_simplex(rng.normal(scale=1.5, size=n), k)
    draws = ff.pipage_round(pi, seed=trial, size=20_000)
    assert np.all(draws.sum(axis=1) == k)
    _assert_marginals(pi, draws)


def test_marginals_with_exact_zeros_and_ones():
    pi = np.array([0.0, 1.0, 0.25, 0.75, 1.0, 0.0, 0.5, 0.5])
    draws = ff.pipage_round(pi, seed=3, size=DRAWS)
    assert np.all(draws.sum(axis=1) == 4)
    assert _assert_marginals(pi, draws) == 4
    assert np.all(draws[:, [0, 5]] == 0)
    assert np.all(draws[:, [1, 4]] == 1)


def test_values_within_1e12_of_the_bounds():
    eps = 1e-13
    pi = np.array([eps, 1 - eps, 0.5, 0.5, 1 - 3 * eps, 3 * eps, 1.0])
    total = math.fsum(pi)
    draws = ff.pipage_round(pi, seed=11, size=5000)
    assert np.all(draws.sum(axis=1) == round(total))
    assert set(np.unique(draws).tolist()) <= {0, 1}


def test_large_vector_exact_count(rng):
    n = 200_000
    pi = ff.project_capped_simplex(rng.normal(size=n), n // 10)
    w = ff.pipage_round(pi, seed=5)
    assert w.shape == (n,)
    assert int(w.sum(dtype=np.int64)) == n // 10


def test_same_seed_same_draw():
    a = ff.pipage_round(BLOG_PI, seed=123, size=50)
    b = ff.pipage_round(BLOG_PI, seed=123, size=50)
    c = ff.pipage_round(BLOG_PI, seed=124, size=50)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    # draw i of a batch is the i-th draw of one continuing stream: the first matches
    assert np.array_equal(ff.pipage_round(BLOG_PI, seed=123), a[0])


def test_generator_seed_is_reproducible():
    a = ff.pipage_round(BLOG_PI, seed=np.random.default_rng(9), size=20)
    b = ff.pipage_round(BLOG_PI, seed=np.random.default_rng(9), size=20)
    assert np.array_equal(a, b)
    assert ff.pipage_round(BLOG_PI).sum() == 2  # seed=None: OS entropy


def test_size_zero_and_trivial_inputs():
    assert ff.pipage_round(BLOG_PI, seed=0, size=0).shape == (0, 5)
    assert ff.pipage_round([], seed=0).shape == (0,)
    assert ff.pipage_round([1.0, 0.0, 1.0], seed=0).tolist() == [1, 0, 1]
    assert ff.pipage_round([0.5, 0.5], seed=0).sum() == 1


@pytest.mark.parametrize(
    ("pi", "kwargs", "exc", "match"),
    [
        ([0.5, np.nan], {}, ValueError, r"pi must contain probabilities in \[0, 1\]"),
        ([0.5, np.inf], {}, ValueError, r"pi must contain probabilities in \[0, 1\]"),
        ([1.5, -0.5], {}, ValueError, r"pi must contain probabilities in \[0, 1\]"),
        ([-0.1, 1.1], {}, ValueError, r"pi must contain probabilities in \[0, 1\]"),
        ([0.5, 0.5, 0.5, 0.5, 0.5], {}, ValueError, "sum\\(pi\\) must be a whole number"),
        ([0.5, 0.5 + 1e-8], {}, ValueError, "sum\\(pi\\) must be a whole number"),
        ([[0.5, 0.5]], {}, ValueError, "pi must be a 1-dimensional"),
        ([0.5, 0.5], {"size": -1}, ValueError, "size must be >= 0"),
        ([0.5, 0.5], {"size": 2.0}, TypeError, "size must be an int"),
        ([0.5, 0.5], {"seed": -1}, ValueError, r"seed must lie in \[0, 2\*\*64\)"),
        ([0.5, 0.5], {"seed": 2**64}, ValueError, r"seed must lie in \[0, 2\*\*64\)"),
        ([0.5, 0.5], {"seed": 1.5}, TypeError, "seed must be an int"),
        ([0.5, 0.5], {"seed": True}, TypeError, "seed must be an int"),
    ],
)
def test_bad_input(pi, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        ff.pipage_round(pi, **kwargs)


def test_sum_within_1e9_is_accepted():
    w = ff.pipage_round([0.5, 0.5 + 5e-10], seed=0)
    assert w.sum() == 1
