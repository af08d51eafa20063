"""The bench's vectorised NumPy yardsticks take the same decisions as the from-scratch
references (fastfair._reference.vectorised against fastfair._reference.online and
.lottery): a yardstick that computed something else would make every ratio a lie."""

from __future__ import annotations

import math

import numpy as np
import pytest

import fastfair as ff
from fastfair._reference import lottery as lref
from fastfair._reference import online as ref
from fastfair._reference import sampling as sref
from fastfair._reference import vectorised as vec


def _streams(n, T, seed):
    rng = np.random.default_rng(seed)
    yield rng.random((T, n))
    yield ref.random_stream(rng, T, n, "ties")
    yield ref.random_stream(rng, T, n, "single")


@pytest.mark.parametrize("p", [None, 2.0, 2.5, 4.0, 7.0])
@pytest.mark.parametrize("n", [2, 3, 8, 17])
def test_prop_loop_minimises_the_reference_potential(n, p):
    for k, V in enumerate(_streams(n, 60, n)):
        mine = vec.prop_loop(V, p=p)
        # in step with the reference (which applies the loop's own decisions), each
        # choice attains the reference minimum of log S
        log_s = ref.reference_run(ref.PropReference, V, forced=mine, p=p)
        assert ref.chosen_gap(log_s, mine) <= 1e-9, (k, p)


@pytest.mark.parametrize("p", [None, 2.0, 3.0, 6.0])
@pytest.mark.parametrize("n", [2, 4, 9])
def test_ef_loop_minimises_the_reference_potential(n, p):
    for V in _streams(n, 40, 100 + n):
        mine = vec.ef_loop(V, p=p)
        log_s = ref.reference_run(ref.EfReference, V, forced=mine, p=p)
        assert ref.chosen_gap(log_s, mine) <= 1e-9


@pytest.mark.parametrize("p", [None, 2.0, 5.0])
@pytest.mark.parametrize(("n", "alts"), [(2, 2), (5, 3), (8, 4)])
def test_pdm_loop_minimises_the_reference_potential(n, alts, p):
    rng = np.random.default_rng(n * alts)
    U = rng.random((50, n, alts))
    U[::7] = np.floor(U[::7] * 2)  # ties and zeros
    mine = vec.pdm_loop(U, p=p)
    log_s = ref.reference_run(ref.PdmReference, U, forced=mine, p=p)
    assert ref.chosen_gap(log_s, mine) <= 1e-9


def test_loops_agree_with_fastfair_decision_for_decision():
    rng = np.random.default_rng(3)
    for notion, n, loop in [("prop", 8, vec.prop_loop), ("prop", 64, vec.prop_loop),
                            ("ef", 8, vec.ef_loop), ("ef", 32, vec.ef_loop)]:
        V = rng.random((300, n))
        alloc = ff.OnlineAllocator(n, notion)
        ours = alloc.run(V)
        gaps = np.zeros(len(V))
        theirs = loop(V, p=alloc.p, forced=ours, gaps=gaps)
        # where the choices differ, fastfair's is a tie within the loop's rounding
        assert np.all(gaps[theirs != ours] <= 1e-9), notion
        assert np.mean(theirs == ours) > 0.95
    U = rng.random((300, 8, 4))
    pdm = ff.PublicDecisionMaker(8)
    ours = pdm.run(U)
    np.testing.assert_array_equal(vec.pdm_loop(U, p=pdm.p), ours)


def test_ef_state_continues_a_stream():
    V = np.random.default_rng(5).random((120, 6))
    whole = vec.ef_loop(V)
    st = vec.ef_apply(V[:70], whole[:70])
    np.testing.assert_array_equal(vec.ef_loop(V[70:], state=st), whole[70:])


def test_forced_shape_is_checked():
    with pytest.raises(ValueError, match="forced"):
        vec.prop_loop(np.ones((3, 2)), forced=[0, 1])


# ------------------------------------------------------------------------ lotteries


@pytest.mark.parametrize("seed", range(40))
def test_project_exact_matches_the_references(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 300))
    scale = 10.0 ** rng.integers(-3, 4)
    y = rng.normal(scale=scale, size=n)
    if seed % 4 == 0:
        y = np.round(y)  # many equal values and breakpoints
    k = float(rng.integers(0, n + 1))
    x = vec.project_exact(y, k)
    tol = 1e-9 + 4 * n * np.finfo(float).eps * max(1.0, float(np.abs(y).max()))
    exact = np.array([float(v) for v in sref.project_capped_simplex_exact(y, k)])
    np.testing.assert_allclose(x, exact, rtol=0, atol=tol)
    assert abs(math.fsum(x) - k) <= tol
    np.testing.assert_allclose(x, ff.project_capped_simplex(y, k), rtol=0, atol=tol)


@pytest.mark.parametrize("seed", range(20))
def test_deserved_seats_matches_the_reference(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 200))
    s = rng.lognormal(0.0, 2.0, n) * (rng.random(n) < 0.8)
    k = int(rng.integers(0, int((s > 0).sum()) + 1))
    np.testing.assert_allclose(vec.deserved_seats(s, k), lref.deserved_seats(s, k),
                               rtol=1e-12, atol=1e-15)


def test_pipage_pairs_exact_count_and_marginals():
    rng = np.random.default_rng(11)
    pi = rng.random(40)
    pi[:5] = 0.0
    pi[5:9] = 1.0
    pi = ff.project_capped_simplex(pi, 13.0)
    draws = 4000
    hits = np.zeros(pi.size)
    gen = np.random.default_rng(0)
    for _ in range(draws):
        w = vec.pipage_pairs(pi, gen)
        assert w.dtype == np.int8 and int(w.sum()) == 13
        hits += w
    exact = (pi == 0.0) | (pi == 1.0)
    np.testing.assert_array_equal(hits[exact], draws * pi[exact])
    z_ok = draws * pi * (1 - pi) >= 25
    z = (hits - draws * pi)[z_ok] / np.sqrt(draws * pi * (1 - pi))[z_ok]
    assert np.max(np.abs(z)) < 4.5


def test_pipage_pairs_refuses_a_fractional_sum():
    with pytest.raises(ValueError, match="whole"):
        vec.pipage_pairs([0.5, 0.7], np.random.default_rng(0))


def test_exact_pool_probabilities_equal_fastfair_on_the_same_history():
    rng = np.random.default_rng(2)
    n, k = 500, 35
    s = rng.lognormal(0.0, 1.0, n) * (rng.random(n) < 0.9)
    pool = ff.LotteryPool("x")
    npool = vec.ExactPool(seed=1)
    for t in range(6):
        # the NumPy pool's probabilities on fastfair's own history
        npool.cumulative_deserved = pool.cumulative_deserved.copy() if t else np.zeros(n)
        npool.wins = pool.wins.astype(np.float64) if t else np.zeros(n)
        np.testing.assert_allclose(npool.probabilities(s, k), pool.preview(s, k),
                                   rtol=0, atol=1e-9)
        pool.run_lottery(s, k, seed=t)
    for pipage in ("pairs", "loop"):
        w = vec.ExactPool(seed=3, pipage=pipage).run_lottery(s, k)
        assert w.dtype == np.int8 and int(w.sum()) == k and np.all(w[s == 0] == 0)
    with pytest.raises(ValueError, match="pipage"):
        vec.ExactPool(pipage="systematic")
