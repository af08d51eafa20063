"""fair_probabilities (exact and pgd), deserved seats and the blog's sort projection,
each against a slow NumPy reference on many seeded random instances."""

from __future__ import annotations

import math

import numpy as np
import pytest

import fastfair as ff
from fastfair import _core
from fastfair._reference import lottery as ref
from fastfair._reference.sampling import project_capped_simplex_sort

EPS = np.finfo(float).eps


def _tol(y: np.ndarray) -> float:
    return 1e-9 + 4 * y.size * EPS * float(np.max(np.abs(y), initial=1.0))


def random_instance(rng: np.random.Generator, n: int):
    """Cumulative deserved / wins of a pool with late joiners, weights and absentees."""
    deserved = rng.gamma(0.7, 2.0, n) * rng.integers(0, 2, n)  # some joined just now
    received = np.floor(deserved + rng.normal(0, 1.0, n)).clip(0)
    eligible = rng.random(n) < rng.uniform(0.3, 1.0)
    if not eligible.any():
        eligible[rng.integers(n)] = True
    m = int(eligible.sum())
    k = int(rng.integers(0, m + 1))
    return deserved, received, k, eligible


@pytest.mark.parametrize("seed", range(60))
def test_exact_matches_reference(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.choice([1, 2, 3, 7, 30, 200, 1000]))
    d, r, k, el = random_instance(rng, n)
    pi = ff.fair_probabilities(d, r, k, el)
    expect = ref.fair_probabilities(d, r, k, el)
    np.testing.assert_allclose(pi, expect, rtol=0, atol=_tol(d - r))
    assert np.all(pi[~el] == 0.0)
    assert np.all((pi >= 0) & (pi <= 1))
    assert math.fsum(pi) == pytest.approx(k, abs=1e-9)


@pytest.mark.parametrize("seed", range(20))
def test_exact_is_optimal_against_feasible_perturbations(seed):
    rng = np.random.default_rng(100 + seed)
    d, r, k, el = random_instance(rng, 50)
    pi = ff.fair_probabilities(d, r, k, el)
    best = ref.objective(pi, d, r)
    idx = np.flatnonzero(el)
    for _ in range(50):
        # move mass eps between two eligible entrants, staying feasible
        if idx.size < 2:
            break
        i, j = rng.choice(idx, 2, replace=False)
        eps = min(pi[i], 1 - pi[j]) * rng.random()
        q = pi.copy()
        q[i] -= eps
        q[j] += eps
        assert ref.objective(q, d, r) >= best - 1e-12


def test_default_everyone_eligible_and_ineligible_get_exact_zero():
    d = np.array([5.0, 0.1, 0.2, 0.3])
    r = np.zeros(4)
    # entrant 0 is owed the most but did not enter: exactly 0 (the blog gave it mass)
    pi = ff.fair_probabilities(d, r, 2, eligible=[False, True, True, True])
    assert pi[0] == 0.0
    assert math.fsum(pi) == pytest.approx(2.0, abs=1e-12)
    assert ff.fair_probabilities(d, r, 1)[0] == 1.0


def test_everyone_and_no_one():
    d, r = np.array([0.1, 3.0, 0.5]), np.array([1.0, 0.0, 0.0])
    assert ff.fair_probabilities(d, r, 3).tolist() == [1.0, 1.0, 1.0]
    assert ff.fair_probabilities(d, r, 0).tolist() == [0.0, 0.0, 0.0]
    assert ff.fair_probabilities(d, r, 2, [1, 0, 1]).tolist() == [1.0, 0.0, 1.0]


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("step", [1.0, 0.5, 0.2])
def test_pgd_agrees_with_exact(seed, step):
    rng = np.random.default_rng(1000 + seed)
    n = int(rng.choice([2, 5, 40, 300]))
    d, r, k, el = random_instance(rng, n)
    # a non-trivial, infeasible start (the blog starts from scores / sum(scores))
    start = rng.random(n)
    pi, info = ff.fair_probabilities(
        d, r, k, el, solver="pgd", return_info=True, start=start, step=step, tol=1e-12
    )
    exact = ff.fair_probabilities(d, r, k, el)
    assert info.converged and info["converged"]
    assert info.solver == "pgd"
    np.testing.assert_allclose(pi, exact, rtol=0, atol=1e-6)
    assert np.all(pi[~el] == 0.0)
    if 0 < k < el.sum() and step < 1.0:
        assert info.iterations > 3  # real iterations were exercised


def test_pgd_step_one_converges_in_one_step():
    rng = np.random.default_rng(5)
    d, r, k, el = random_instance(rng, 100)
    while not 0 < k < el.sum():
        d, r, k, el = random_instance(rng, 100)
    pi, info = ff.fair_probabilities(d, r, k, el, solver="pgd", return_info=True)
    # one step lands on the optimum; the second one confirms it did not move
    assert info.iterations <= 2 and info.converged
    np.testing.assert_allclose(pi, ff.fair_probabilities(d, r, k, el), atol=1e-12)


@pytest.mark.parametrize("seed", range(10))
def test_pgd_matches_numpy_port_iteration_count(seed):
    rng = np.random.default_rng(2000 + seed)
    d, r, k, el = random_instance(rng, 60)
    pi, info = ff.fair_probabilities(
        d, r, k, el, solver="pgd", return_info=True, step=0.3, tol=1e-11
    )
    pi_ref, it_ref, conv_ref = ref.pgd(d, r, k, el, step=0.3, tol=1e-11)
    assert conv_ref and info.converged
    np.testing.assert_allclose(pi, pi_ref, atol=1e-9)
    assert abs(info.iterations - it_ref) <= 2


def test_pgd_reports_non_convergence():
    rng = np.random.default_rng(7)
    d, r, k, el = random_instance(rng, 50)
    while not 0 < k < el.sum():
        d, r, k, el = random_instance(rng, 50)
    pi, info = ff.fair_probabilities(
        d, r, k, el, solver="pgd", return_info=True, step=0.01, max_iter=3
    )
    assert not info.converged and info.iterations == 3 and info.last_change > 1e-10
    assert math.fsum(pi) == pytest.approx(k, abs=1e-9)  # still feasible
    with pytest.warns(RuntimeWarning, match="max_iter"):
        ff.fair_probabilities(d, r, k, el, solver="pgd", step=0.01, max_iter=3)


def test_exact_info():
    pi, info = ff.fair_probabilities([0.5, 0.5], [0, 0], 1, return_info=True)
    assert info.solver == "exact" and info.converged and info.iterations == 0
    assert pi.tolist() == [0.5, 0.5]


@pytest.mark.parametrize("seed", range(40))
def test_simplex_clip_sort_matches_numpy_port_and_bisection(seed):
    rng = np.random.default_rng(3000 + seed)
    n = int(rng.integers(2, 300))
    y = rng.normal(0, 2, n)
    if seed % 4 == 0:
        y = np.round(y)  # ties between breakpoints
    k = float(rng.integers(1, n))
    x = _core.simplex_clip_sort(y, k)
    np.testing.assert_allclose(x, project_capped_simplex_sort(y, k), atol=_tol(y))
    np.testing.assert_allclose(x, ff.project_capped_simplex(y, k), atol=_tol(y))


@pytest.mark.parametrize("seed", range(60))
def test_deserved_seats_matches_reference(seed):
    rng = np.random.default_rng(4000 + seed)
    n = int(rng.choice([1, 3, 10, 100, 1000]))
    s = rng.lognormal(0, rng.uniform(0, 3), n) * (rng.random(n) < 0.8)
    m = int((s > 0).sum())
    k = int(rng.integers(0, m + 1))
    d = _core.deserved_seats(s, k)
    expect = ref.deserved_seats(s, k)
    np.testing.assert_allclose(d, expect, rtol=1e-12, atol=1e-12)
    assert math.fsum(d) == pytest.approx(k, abs=1e-9)
    assert np.all(d <= 1.0) and np.all(d[s == 0] == 0.0)
    free = (d > 0) & (d < 1)
    if free.sum() >= 2:  # proportional to score among the uncapped
        ratio = d[free] / s[free]
        np.testing.assert_allclose(ratio, ratio[0], rtol=1e-12)
        assert np.all(s[d == 1.0] >= s[free].max())


def test_deserved_seats_caps_a_dominant_score():
    # 1/k share cap: 100 / 103 of 2 seats would be 1.94 seats
    d = _core.deserved_seats(np.array([100.0, 1.0, 1.0, 1.0]), 2)
    assert d[0] == 1.0
    np.testing.assert_allclose(d[1:], [1 / 3] * 3)


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"deserved": [[1.0]], "received": [[0.0]], "k": 1}, ValueError, "deserved"),
        ({"deserved": [1.0, 2.0], "received": [0.0], "k": 1}, ValueError, "received"),
        ({"deserved": [np.nan, 1.0], "received": [0, 0], "k": 1}, ValueError, "deserved"),
        ({"deserved": [1.0, 1.0], "received": [0, -1], "k": 1}, ValueError, "received"),
        ({"deserved": [1.0, 1.0], "received": [0, 0], "k": 3}, ValueError, "k"),
        ({"deserved": [1.0, 1.0], "received": [0, 0], "k": -1}, ValueError, "k"),
        ({"deserved": [1.0, 1.0], "received": [0, 0], "k": "1"}, TypeError, "k"),
        (
            {"deserved": [1.0, 1.0], "received": [0, 0], "k": 2, "eligible": [1, 0]},
            ValueError,
            "k",
        ),
        (
            {"deserved": [1.0, 1.0], "received": [0, 0], "k": 1, "eligible": [1]},
            ValueError,
            "eligible",
        ),
        (
            {"deserved": [1.0, 1.0], "received": [0, 0], "k": 1, "eligible": [2, 0]},
            ValueError,
            "eligible",
        ),
        (
            {"deserved": [1.0, 1.0], "received": [0, 0], "k": 1, "solver": "jax"},
            ValueError,
            "solver",
        ),
        (
            {"deserved": [1.0, 1.0], "received": [0, 0], "k": 1, "solver": "pgd",
             "step": 2.0},
            ValueError,
            "step",
        ),
        (
            {"deserved": [1.0, 1.0], "received": [0, 0], "k": 1, "solver": "pgd",
             "max_iter": 0},
            ValueError,
            "max_iter",
        ),
        (
            {"deserved": [1.0, 1.0], "received": [0, 0], "k": 1, "solver": "pgd",
             "start": [0.5]},
            ValueError,
            "start",
        ),
    ],
)
def test_bad_input(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        ff.fair_probabilities(**kwargs)


@pytest.mark.parametrize("k", [1, 5, 20, 39])
def test_deserved_seats_geometric_scores_many_cap_levels(k):
    # each capped entrant raises the level a lot: exercises the candidate rebuilds
    s = np.concatenate([2.0 ** np.arange(40), np.full(1000, 1e-3)])
    d = _core.deserved_seats(s, k)
    np.testing.assert_allclose(d, ref.deserved_seats(s, k), rtol=1e-12, atol=1e-15)
    assert math.fsum(d) == pytest.approx(k, abs=1e-9)


@pytest.mark.parametrize("seed", range(8))
def test_exact_reference_and_pgd_agree_along_random_pools(seed):
    """At every lottery of a growing weighted pool: pool (exact) == NumPy reference ==
    pgd (real iterations) on the pool's own state."""
    import warnings

    rng = np.random.default_rng(5000 + seed)
    pool = ff.LotteryPool()
    n = 5
    for t in range(12):
        n += int(rng.integers(0, 4))
        s = rng.lognormal(0, 1, n) * (rng.random(n) < 0.8)
        m = int((s > 0).sum())
        k = int(rng.integers(0, m + 1))
        owed = np.zeros(n)
        owed[: pool.n_entrants] = pool.cumulative_deserved
        wins = np.zeros(n)
        wins[: pool.n_entrants] = pool.wins
        deserved = owed + ref.deserved_seats(s, k)
        pi_pool = pool.preview(s, k)
        pi_ref = ref.fair_probabilities(deserved, wins, k, s > 0)
        pi_pgd, info = ff.fair_probabilities(
            deserved, wins, k, s > 0, solver="pgd", step=0.5, tol=1e-12, return_info=True
        )
        assert info.converged
        np.testing.assert_allclose(pi_pool, pi_ref, atol=_tol(deserved - wins))
        np.testing.assert_allclose(pi_pgd, pi_pool, atol=1e-6)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            pool.run_lottery(s, k, seed=t)


# --- deserved seats at any magnitude (issue 9): exact rational reference ---------------


def _exact_seats(s, k):
    return np.array([float(v) for v in ref.deserved_seats_exact(s, k)])


def test_deserved_seats_near_the_smallest_float():
    d = _core.deserved_seats(np.array([1e-310, 2e-310, 1e-310]), 2)
    np.testing.assert_allclose(d, [0.5, 1.0, 0.5], rtol=0, atol=1e-15)
    d = _core.deserved_seats(np.array([5e-324, 5e-324, 1e-323]), 1)
    np.testing.assert_allclose(d, [0.25, 0.25, 0.5], rtol=0, atol=1e-15)
    # near the largest float the sum overflows
    d = _core.deserved_seats(np.array([1.7e308, 1.7e308, 1.7e308, 1.7e308]), 2)
    np.testing.assert_allclose(d, [0.5] * 4, rtol=0, atol=1e-15)


def test_deserved_seats_tiny_scores_next_to_a_capped_giant():
    # the capped entrant's excess goes to scores 2^1000 below it
    d = _core.deserved_seats(np.array([1e-320, 1e-320, 1e300]), 2)
    np.testing.assert_allclose(d, [0.5, 0.5, 1.0], rtol=0, atol=1e-15)
    d = _core.deserved_seats(np.array([1e-300, 3e-300, 1.0, 1.0]), 3)
    np.testing.assert_allclose(d, [0.25, 0.75, 1.0, 1.0], rtol=0, atol=1e-15)


def test_deserved_seats_match_exact_reference_at_every_magnitude(rng):
    exps = np.array([-323, -310, -300, -200, -20, 0, 20, 200, 300, 307])
    worst = 0.0
    for _ in range(200):
        n = int(rng.integers(1, 25))
        centre = 10.0 ** rng.choice(exps, size=int(rng.integers(1, 3)))
        s = rng.choice(centre, size=n) * rng.choice([0.0, 0.5, 1.0, 1.0, 3.0, 17.0], size=n)
        s = np.minimum(s, 1.7e308)
        n_pos = int(np.count_nonzero(s > 0))
        k = int(rng.integers(0, n_pos + 1))
        d = _core.deserved_seats(s, k)
        exact = _exact_seats(s, k)
        assert np.all((d >= 0) & (d <= 1))
        assert np.all(d[s == 0] == 0)
        assert abs(math.fsum(d) - k) <= 1e-12 * max(1, k)
        worst = max(worst, float(np.max(np.abs(d - exact))))
    assert worst <= 1e-12
