"""Baselines: their rules against slow references and the paper's worked numbers, and
their deficits growing linearly on the instances built against them."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import fastfair as ff
from fastfair._reference import online as ref


def test_greedy_table1_numbers():
    # docs/formulas.md section 9, eps = 1/10: recipients and raw deficits after rounds 1-8.
    V = ref.table1_instance(8, eps=0.1)
    g = ff.baselines.GreedyMaxDeficit(2)
    d1 = [-1 / 2, 0, 1 / 2, 9 / 20, 19 / 20, 9 / 10, 7 / 5, 27 / 20]
    d2 = [1 / 2, 9 / 20, 2 / 5, 9 / 10, 17 / 20, 27 / 20, 13 / 10, 9 / 5]
    recipients = []
    for t, v in enumerate(V):
        recipients.append(g.step(v))
        np.testing.assert_allclose(g.raw_deficits, [d1[t], d2[t]], atol=1e-12)
    assert recipients == [0, 1, 1, 0, 1, 0, 1, 0]


def test_greedy_deficit_grows_linearly_on_table1():
    V = ref.table1_instance(4000, eps=0.1)
    g = ff.baselines.GreedyMaxDeficit(2)
    g.run(V[:2000])
    d_half = g.max_deficit
    g.run(V[2000:])
    # (1 - eps)/2 every two rounds: 0.225 per round, scale 1.
    assert d_half == pytest.approx(0.225 * 2000, rel=0.01)
    assert g.max_deficit == pytest.approx(0.225 * 4000, rel=0.01)
    ours = ff.OnlineAllocator(2)
    ours.run(ref.table1_instance(4000, eps=0.1))
    assert ours.max_deficit <= ours.bound() < g.max_deficit / 10


def test_round_robin_deficit_grows_linearly():
    eps = 0.1
    rr = ff.baselines.RoundRobin(2)
    assert list(rr.run(np.ones((5, 2)))) == [0, 1, 0, 1, 0]
    rr = ff.baselines.RoundRobin(2)
    for k in (500, 1000, 2000):
        rr2 = ff.baselines.RoundRobin(2)
        rr2.run(ref.round_robin_instance(2 * k, 2, eps))
        # agent 2's deficit after 2k rounds is k (1 - eps) / 2, its largest missed item 1.
        assert rr2.deficits[1] == pytest.approx(k * (1 - eps) / 2, rel=1e-9)
    ours = ff.OnlineAllocator(2)
    ours.run(ref.round_robin_instance(4000, 2, eps))
    assert ours.max_deficit <= ours.bound() < 900 / 10


@pytest.mark.parametrize(
    ("horizon", "eps", "first"), [(1e4, 0.25, 96), (1e4, 0.1, 179), (1e6, 0.25, 943)]
)
def test_benade_linear_envy_until_appendix_b_round(horizon, eps, first):
    # Proposition B.1: with items worth (1, eps), every item up to round L - 1 goes to
    # agent 1, so agent 2's envy is exactly eps * t there; L matches the measured table.
    b = ff.baselines.Benade2018(2, horizon)
    assert b.lam == pytest.approx(np.sqrt(2 * np.log(2) / horizon))
    L = ref.benade_first_deviation(b.lam, eps)
    assert L == first
    r = b.run(ref.benade_instance(L - 1, eps))
    assert np.all(r == 0)
    assert b.envy[1, 0] == pytest.approx(eps * (L - 1), rel=1e-12)
    assert b.step([1.0, eps]) == 1  # round L: the first deviation
    # Our EF rule on the same stream stays within its bound.
    ours = ff.OnlineAllocator(2, "ef")
    ours.run(ref.benade_instance(L, eps))
    assert ours.max_deficit <= ours.bound()


@pytest.mark.parametrize("n", [2, 3, 5])
def test_benade_matches_reference(n):
    rng = np.random.default_rng(n)
    V = rng.random((600, n)) * (rng.random((600, n)) < 0.7)
    b = ff.baselines.Benade2018(n, 600)
    r = ref.BenadeReference(n, 600)
    for v in V:
        ls = r.log_S(v)
        a = b.step(v)
        assert ls[a] - ls.min() <= 1e-12
        r.apply(v, a)
    np.testing.assert_allclose(b._impl.bundle_values(), r.VA, rtol=1e-12)


def test_benade_custom_lam_and_long_horizon_no_overflow():
    b = ff.baselines.Benade2018(3, 10.0, lam=5.0)
    assert b.lam == 5.0
    rng = np.random.default_rng(0)
    b.run(rng.random((2000, 3)))
    assert np.all(np.isfinite(b.envy))


@pytest.mark.parametrize(
    "make",
    [lambda: ff.baselines.RoundRobin(3), lambda: ff.baselines.GreedyMaxDeficit(3),
     lambda: ff.baselines.Benade2018(3, 100)],
)
def test_baseline_run_step_pickle(make):
    rng = np.random.default_rng(1)
    V = rng.random((400, 3))
    a, b = make(), make()
    np.testing.assert_array_equal(a.run(V[:200]), [b.step(v) for v in V[:200]])
    c = pickle.loads(pickle.dumps(a))
    d = type(a).from_state(a.state)
    ra = a.run(V[200:])
    np.testing.assert_array_equal(ra, c.run(V[200:]))
    np.testing.assert_array_equal(ra, d.run(V[200:]))
    assert a.rounds == c.rounds == 400
    np.testing.assert_array_equal(a.ef_deficits, c.ef_deficits)


@pytest.mark.parametrize(
    "make",
    [lambda: ff.baselines.RoundRobin(3), lambda: ff.baselines.GreedyMaxDeficit(3),
     lambda: ff.baselines.Benade2018(3, 100)],
)
@pytest.mark.parametrize(
    "bad", [[1.0, 2.0], [0.1, np.nan, 0.2], [0.1, -0.5, 0.2], [[0.1, 0.2, 0.3]], [0.1, np.inf, 0]]
)
def test_baseline_bad_input(make, bad):
    obj = make()
    obj.step([0.5, 0.2, 0.1])
    before = obj.state
    with pytest.raises(ValueError, match="values"):
        obj.step(bad)
    with pytest.raises(ValueError, match="values"):
        obj.run([[0.1, 0.2, 0.3], bad] if np.ndim(bad) == 1 and len(bad) == 3 else [bad])
    after = obj.state
    assert after["engine"]["rounds"] == before["engine"]["rounds"]
    np.testing.assert_array_equal(after["engine"]["bundle_values"], before["engine"]["bundle_values"])


def test_benade_rejects_values_above_one_and_bad_args():
    b = ff.baselines.Benade2018(2, 100)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        b.step([1.5, 0.0])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        b.run([[0.5, 0.5], [0.5, 1.01]])
    assert b.rounds == 0
    with pytest.raises(ValueError, match="n_agents"):
        ff.baselines.Benade2018(1, 100)
    with pytest.raises(ValueError, match="horizon"):
        ff.baselines.Benade2018(2, 0)
    with pytest.raises(ValueError, match="lam"):
        ff.baselines.Benade2018(2, 10, lam=-1.0)
    with pytest.raises(TypeError, match="horizon"):
        ff.baselines.Benade2018(2, "10")
