"""ticket_odds and draw_tickets: exact odds against enumeration, an independent NumPy
quadrature and Monte Carlo; the draw's marginals against the odds; hostile input."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

import fastfair as ff


# ------------------------------------------------------------------ references


def brute_force(tickets, k):
    """P(i among the first k), exactly (fractions), over all drawn sets: the chance
    that the set S is drawn first, in any order, is
    P(S) = sum_{j in S} P(S - j) * w_j / (W - w(S - j))."""
    w = [Fraction(x) for x in tickets]
    n = len(w)
    live = [i for i in range(n) if w[i] > 0]
    total = sum(w)
    prob = {0: Fraction(1)}
    for size in range(1, k + 1):
        nxt = {}
        for mask, p in prob.items():
            rest = total - sum(w[i] for i in live if mask >> i & 1)
            for j in live:
                if not mask >> j & 1:
                    m2 = mask | (1 << j)
                    nxt[m2] = nxt.get(m2, Fraction(0)) + p * w[j] / rest
        prob = nxt
    pi = [Fraction(0)] * n
    for mask, p in prob.items():
        for i in live:
            if mask >> i & 1:
                pi[i] += p
    return np.array([float(x) for x in pi])


def numpy_integral(tickets, k, nodes=4000):
    """The clock integral by a different route: the leave-one-out Poisson-binomial by
    direct O(n k) convolution at every node of a composite Gauss-Legendre rule on
    [0, T] (pieces denser near 0), T where everyone is drawn but 1e-17."""
    w = np.asarray(tickets, dtype=float)
    w = w / w.max()
    n = len(w)
    T = (np.log(n) + 40.0) / w.min()
    g, gw = np.polynomial.legendre.leggauss(20)
    edges = np.linspace(0.0, 1.0, nodes // 20 + 1) ** 3 * T
    pi = np.zeros(n)
    for a, b in zip(edges[:-1], edges[1:]):
        for t, wt in zip(0.5 * (b - a) * g + 0.5 * (a + b), 0.5 * (b - a) * gw):
            p = -np.expm1(-w * t)
            dist = np.zeros((n, k))  # row i: distribution of N_{-i}, truncated at k
            dist[:, 0] = 1.0
            for j in range(n):
                rows = np.arange(n) != j
                d = dist[rows]
                d[:, 1:] = d[:, 1:] * (1 - p[j]) + d[:, :-1] * p[j]
                d[:, 0] *= 1 - p[j]
                dist[rows] = d
            pi += wt * w * np.exp(-w * t) * dist.sum(axis=1)
    return pi


# ------------------------------------------------------------------ exactness


def test_brute_force_small_instances():
    rng = np.random.default_rng(12)
    checked = 0
    for trial in range(150):
        n = int(rng.integers(1, 9))
        if trial % 3 == 0:
            t = rng.integers(0, 6, n).astype(float)
        elif trial % 3 == 1:
            t = rng.lognormal(0.0, 2.0, n) * (rng.random(n) < 0.85)
        else:
            t = 2.0 ** rng.integers(0, 12, n)
        entered = int(np.count_nonzero(t))
        if entered == 0:
            continue
        k = int(rng.integers(0, entered + 1))
        m = int(rng.integers(0, entered - k + 1))
        got = ff.ticket_odds(t, k)
        np.testing.assert_allclose(got, brute_force(t, k), rtol=0, atol=1e-12)
        got_wl = ff.ticket_odds(t, k, waitlist=m)
        np.testing.assert_allclose(got_wl, brute_force(t, k + m), rtol=0, atol=1e-12)
        checked += 1
    assert checked > 100


def test_against_independent_numpy_quadrature():
    # distinct weights spanning all three regimes (p small, p near 1, p in between)
    rng = np.random.default_rng(3)
    for n, k in [(14, 4), (20, 13), (16, 1)]:
        t = rng.lognormal(0.0, 1.5, n)
        np.testing.assert_allclose(ff.ticket_odds(t, k), numpy_integral(t, k),
                                   rtol=0, atol=1e-9)


def test_known_closed_forms():
    # the first draw is proportional to tickets
    t = np.array([1.0, 2.0, 3.0, 10.0])
    np.testing.assert_allclose(ff.ticket_odds(t, 1), t / t.sum(), rtol=0, atol=1e-14)
    # equal tickets: exactly k/n
    assert np.all(ff.ticket_odds(np.full(7, 3.0), 3) == 3 / 7)
    # k = 0 and k = everyone; 0 tickets = not entered
    t = np.array([0.0, 1.0, 5.0, 0.0, 2.0])
    assert np.all(ff.ticket_odds(t, 0) == 0.0)
    assert ff.ticket_odds(t, 3).tolist() == [0.0, 1.0, 1.0, 0.0, 1.0]
    assert ff.ticket_odds(t, 2)[[0, 3]].tolist() == [0.0, 0.0]
    assert ff.ticket_odds([], 0).shape == (0,)


def test_waitlist_is_k_plus_m():
    t = 2.0 ** np.random.default_rng(4).integers(0, 6, 300)
    np.testing.assert_array_equal(ff.ticket_odds(t, 20, waitlist=15), ff.ticket_odds(t, 35))


def test_scale_invariance_and_integer_dtypes():
    t = np.array([1, 2, 2, 4, 8, 8, 8, 16], dtype=np.int32)
    base = ff.ticket_odds(t, 3)
    for scale in (1e-300, 1e-5, 7.0, 1e290):
        np.testing.assert_allclose(ff.ticket_odds(t * scale, 3), base, rtol=0, atol=1e-13)
    np.testing.assert_array_equal(ff.ticket_odds(t.astype(np.uint8), 3), base)
    np.testing.assert_array_equal(ff.ticket_odds(t.tolist(), 3), base)


# ------------------------------------------------------------------ sums and order


@pytest.mark.parametrize("n,k,kind", [
    (6_000, 370, "wser"), (2_000, 1, "lognormal"), (3_000, 2_999, "lognormal"),
    (3_000, 1_500, "lognormal"), (20_000, 370, "distinct"), (1_000, 100, "extreme"),
    # nearly everyone drawn, every count distinct: a plain sum of the classes erred by
    # 1e-10 and the rescale by it moved the result that far from k (fixed: exact sum)
    (20_000, 19_990, "distinct"), (3_000, 2_999, "lognormal"), (1_000_000, 60_000, "wser"),
])
def test_sum_equals_k(n, k, kind):
    rng = np.random.default_rng(n + k)
    if kind == "wser":
        t = 2.0 ** rng.integers(0, 10, n)
    elif kind == "extreme":  # a few entrants with a million times the tickets
        t = np.ones(n)
        t[rng.choice(n, 50, replace=False)] = 1e6
    else:
        t = rng.lognormal(0.0, 1.0 if kind == "lognormal" else 2.0, n)
    pi, info = ff.ticket_odds(t, k, return_info=True)
    # 1e-12 absolute, or one ulp of k when that is coarser (k > 4096): the entries
    # of a class share one value, so the sum cannot be steered finer than that
    assert abs(math.fsum(pi) - k) <= max(1e-12, math.ulp(k))
    # the raw result was within its own bound (and the bound is small)
    assert abs(info["raw_sum"] - k) <= info["error_bound"]
    assert info["error_bound"] < 1e-6
    assert np.all((pi >= 0) & (pi <= 1))


def test_monotone_in_tickets():
    rng = np.random.default_rng(8)
    for _ in range(10):
        t = 2.0 ** rng.integers(0, 8, 400)
        pi = ff.ticket_odds(t, 40)
        # more tickets, better odds (ties equal)
        order = np.argsort(t, kind="stable")
        assert np.all(np.diff(pi[order]) >= -1e-13)
        # giving one entrant more tickets raises their odds and lowers everyone else's
        j = int(rng.integers(400))
        t2 = t.copy()
        t2[j] *= 1.5
        pi2 = ff.ticket_odds(t2, 40)
        assert pi2[j] > pi[j]
        others = np.arange(400) != j
        assert np.all(pi2[others] <= pi[others] + 1e-13)


# ------------------------------------------------------------------ Monte Carlo


def test_matches_numpy_successive_sampling():
    # numpy's Generator.choice(replace=False, p=...) is successive sampling
    rng = np.random.default_rng(2026)
    t = np.array([1, 1, 2, 2, 4, 4, 8, 16, 32, 0.5, 3.3, 7.1])
    k, reps = 4, 20_000
    hits = np.zeros(t.size)
    p = t / t.sum()
    for _ in range(reps):
        hits[rng.choice(t.size, size=k, replace=False, p=p)] += 1
    pi = ff.ticket_odds(t, k)
    z = (hits / reps - pi) / np.sqrt(pi * (1 - pi) / reps)
    # 12 z-scores: |z| < 4.5 fails with probability < 1e-4 under the null
    assert np.max(np.abs(z)) < 4.5


def test_draw_marginals_equal_odds():
    t = np.array([0, 1, 1, 2, 3, 5, 8, 13, 21, 0.25])
    k, m, reps = 3, 2, 20_000
    win = np.zeros(t.size)
    wl = np.zeros(t.size)
    first = np.zeros(t.size)
    for s in range(reps):
        order = ff.draw_tickets(t, k, seed=s, waitlist=m)
        assert order.shape == (k + m,) and len(set(order.tolist())) == k + m
        win[order[:k]] += 1
        wl[order] += 1
        first[order[0]] += 1
    assert win[0] == 0 and wl[0] == 0  # 0 tickets: never drawn
    for counts, pi in [(win, ff.ticket_odds(t, k)), (wl, ff.ticket_odds(t, k, m)),
                       (first, t / t.sum())]:
        live = (pi > 0) & (pi < 1)
        z = (counts[live] / reps - pi[live]) / np.sqrt(pi[live] * (1 - pi[live]) / reps)
        assert np.max(np.abs(z)) < 4.5


def test_draw_seed_rules():
    t = 2.0 ** np.arange(30)
    a = ff.draw_tickets(t, 5, seed=11, waitlist=3)
    np.testing.assert_array_equal(a, ff.draw_tickets(t, 5, seed=11, waitlist=3))
    # the winners are the first k of the longer draw
    np.testing.assert_array_equal(a[:5], ff.draw_tickets(t, 5, seed=11))
    g1, g2 = np.random.default_rng(5), np.random.default_rng(5)
    np.testing.assert_array_equal(ff.draw_tickets(t, 5, seed=g1), ff.draw_tickets(t, 5, seed=g2))
    assert ff.draw_tickets(t, 5).shape == (5,)
    assert ff.draw_tickets(t, 0).shape == (0,)
    assert sorted(ff.draw_tickets([1, 0, 2], 2).tolist()) == [0, 2]
    with pytest.raises(ValueError, match="seed"):
        ff.draw_tickets(t, 2, seed=-1)
    with pytest.raises(TypeError, match="seed"):
        ff.draw_tickets(t, 2, seed=1.5)
    # huge and tiny tickets: the clocks are compared in log space (no overflow)
    order = ff.draw_tickets([1e-300, 1e300, 1.0], 3, seed=1)
    assert order.tolist() == [1, 2, 0]


# ------------------------------------------------------------------ hostile input


@pytest.mark.parametrize("fn", [
    lambda t, k, **kw: ff.ticket_odds(t, k, **kw),
    lambda t, k, **kw: ff.draw_tickets(t, k, seed=1, **kw),
])
def test_hostile_input(fn):
    with pytest.raises(TypeError, match="tickets"):
        fn(np.array([1 + 1j, 2]), 1)
    with pytest.raises(TypeError, match="tickets"):
        fn(np.array(["a", "b"]), 1)
    with pytest.raises(TypeError, match="tickets"):
        fn(np.array([1, 2], dtype=object), 1)
    with pytest.raises(TypeError, match="tickets"):
        fn(np.ma.masked_array([1.0, 2.0], mask=[0, 1]), 1)
    with pytest.raises(TypeError, match="tickets"):
        fn(np.array(["2020-01-01"], dtype="datetime64[D]"), 0)
    with pytest.raises(ValueError, match="tickets"):
        fn(np.ones((2, 2)), 1)
    with pytest.raises(ValueError, match="tickets"):
        fn([1.0, np.nan, 2.0], 1)
    with pytest.raises(ValueError, match="tickets"):
        fn([1.0, np.inf], 1)
    with pytest.raises(ValueError, match="tickets"):
        fn([1.0, -1.0, 2.0], 1)
    with pytest.raises(TypeError, match="k"):
        fn([1.0, 2.0], True)
    with pytest.raises(TypeError, match="k"):
        fn([1.0, 2.0], 1.0)
    with pytest.raises(ValueError, match="k"):
        fn([1.0, 2.0], -1)
    with pytest.raises(ValueError, match="k \\+ waitlist"):
        fn([1.0, 0.0, 2.0], 3)
    with pytest.raises(ValueError, match="k \\+ waitlist"):
        fn([1.0, 2.0, 3.0], 2, waitlist=2)
    with pytest.raises(ValueError, match="waitlist"):
        fn([1.0, 2.0, 3.0], 1, waitlist=-1)
    with pytest.raises(ValueError, match="k"):
        fn([1.0, 2.0], 2**70)


def test_ticket_ratio_limit_of_the_odds():
    with pytest.raises(ValueError, match="1e200"):
        ff.ticket_odds([1e-150, 1.0, 1e100], 1)
    assert ff.draw_tickets([1e-150, 1.0, 1e100], 3, seed=0).tolist() == [2, 1, 0]


def test_huge_and_tiny_tickets_stay_accurate():
    # 1e-190 and 1e9: within the supported ratio; the tiny one is (almost) never drawn
    t = np.array([1e-190, 1.0, 1.0, 3.0, 1e9])
    pi = ff.ticket_odds(t, 3)
    np.testing.assert_allclose(pi, brute_force(t, 3), atol=1e-12, rtol=0)
    # absolute accuracy (about 1e-16 here), not relative: the true value is ~1e-190
    assert pi[0] < 1e-15 and pi[4] == pytest.approx(1.0, abs=1e-12)
    # bool tickets: True = 1 ticket
    np.testing.assert_array_equal(ff.ticket_odds(np.array([True, False, True]), 1),
                                  [0.5, 0.0, 0.5])
