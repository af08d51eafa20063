"""LotteryPool: the blog's scenarios, agreement with a full-history NumPy reference,
long-run fairness, seeds and audit, bad input, ids."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import fastfair as ff
from fastfair._reference import lottery as ref


def snapshot(pool: ff.LotteryPool) -> dict:
    st = pool.__getstate__()
    return {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in st.items()}


def assert_same_state(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        if isinstance(a[key], np.ndarray):
            assert a[key].dtype == b[key].dtype
            assert a[key].tobytes() == b[key].tobytes(), key
        else:
            assert a[key] == b[key], key


def run_quiet(pool, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return pool.run_lottery(*args, **kwargs)


def test_blog_uniform_scenario():
    pool = ff.LotteryPool("Demonstration Pool")
    scores = np.ones(20)
    w = [pool.run_lottery(scores, 13, seed=s) for s in range(5)]
    pi = pool.win_probabilities
    assert pi.shape == (20, 5)
    np.testing.assert_allclose(pi[:, 0], 13 / 20)
    # everyone who lost lottery 1 wins lottery 2 with probability 1
    assert np.all(pi[w[0] == 0, 1] == 1.0)
    assert np.all(w[1][w[0] == 0] == 1)
    for t in range(5):
        assert w[t].dtype == np.int8 and w[t].shape == (20,)
        assert int(w[t].sum()) == 13
        assert math.fsum(pi[:, t]) == pytest.approx(13, abs=1e-9)
    # turn-taking: after 5 lotteries (65 seats for 20) everyone has 3 or 4 wins
    wins = pool.winners.sum(axis=1)
    assert set(wins.tolist()) <= {3, 4}
    # then the blog's second part: 30 entrants with weighted scores, k = 11, 17, 3
    s = 1 / np.sqrt(np.arange(30) + 1)
    with pytest.warns(UserWarning, match="10 new member"):
        pool.run_lottery(s, 11, seed=11)
    pool.run_lottery(s, 17, seed=12)
    pool.run_lottery(s, 3, seed=13)
    assert pool.scores.shape == (30, 8) and pool.winners.shape == (30, 8)
    assert np.all(pool.scores[20:, :5] == 0) and np.all(pool.winners[20:, :5] == 0)
    assert np.all(pool.win_probabilities[20:, :5] == 0)
    assert pool.lottery_sizes.tolist() == [13] * 5 + [11, 17, 3]
    expect = ref.history_probabilities(pool.scores, pool.lottery_sizes, pool.winners)
    np.testing.assert_allclose(pool.win_probabilities, expect, atol=1e-9)
    assert pool.verify()
    # the blog's probabilities were NaN here (unsquared norm); ours never are
    assert np.isfinite(pool.win_probabilities).all()


@pytest.mark.parametrize("seed", range(15))
def test_pool_matches_full_history_reference(seed):
    rng = np.random.default_rng(seed)
    pool = ff.LotteryPool()
    n = int(rng.integers(1, 20))
    for t in range(int(rng.integers(1, 12))):
        n += int(rng.integers(0, 4)) * (rng.random() < 0.4)
        s = rng.lognormal(0, 1.5, n) if seed % 2 else np.ones(n)
        s[rng.random(n) < 0.25] = 0.0  # absentees
        m = int((s > 0).sum())
        k = int(rng.integers(0, m + 1))
        before = pool.n_entrants
        if n > before and t > 0:
            with pytest.warns(UserWarning, match="new member"):
                w = pool.run_lottery(s, k, seed=int(rng.integers(2**63)))
        else:
            w = pool.run_lottery(s, k, seed=int(rng.integers(2**63)))
        assert int(w.sum()) == k and np.all(w[s == 0] == 0)
    expect = ref.history_probabilities(pool.scores, pool.lottery_sizes, pool.winners)
    np.testing.assert_allclose(pool.win_probabilities, expect, atol=1e-9)
    d = np.column_stack(
        [ref.deserved_seats(pool.scores[:, t], int(k)) for t, k in
         enumerate(pool.lottery_sizes)]
    )
    np.testing.assert_allclose(pool.deserved, d, atol=1e-12)
    np.testing.assert_allclose(pool.cumulative_deserved, d.sum(axis=1), atol=1e-12)
    assert pool.wins.tolist() == pool.winners.sum(axis=1).tolist()
    assert np.all(pool.win_probabilities[pool.scores == 0] == 0.0)
    assert pool.verify().ok


def test_preview_is_what_the_draw_uses_and_changes_nothing():
    pool = ff.LotteryPool()
    rng = np.random.default_rng(3)
    for _ in range(4):
        pool.run_lottery(rng.random(15), 4, seed=1)
    s = rng.random(15)
    before = snapshot(pool)
    pi = pool.preview(s, 6)
    assert_same_state(before, snapshot(pool))
    pool.run_lottery(s, 6, seed=9)
    assert pool.win_probabilities[:, -1].tobytes() == pi.tobytes()


def test_marginals_of_the_draw_match_preview():
    # the same pool state drawn with many seeds: frequencies ~ preview (z-test)
    pool = ff.LotteryPool()
    rng = np.random.default_rng(8)
    for _ in range(3):
        pool.run_lottery(rng.random(12) + 0.1, 5, seed=2)
    s = rng.random(12) + 0.1
    pi = pool.preview(s, 5)
    draws = 4000
    counts = np.zeros(12)
    st = pool.__getstate__()
    for d in range(draws):
        p = ff.LotteryPool.__new__(ff.LotteryPool)
        p.__setstate__(st)
        counts += p.run_lottery(s, 5, seed=d)
    sure = (pi == 0) | (pi == 1)
    assert np.all(counts[sure] == draws * pi[sure])
    check = draws * pi * (1 - pi) >= 25
    z = (counts[check] - draws * pi[check]) / np.sqrt(draws * pi[check] * (1 - pi[check]))
    assert np.all(np.abs(z) < 4.5)


def test_everyone_wins_and_no_one_wins_are_recorded():
    pool = ff.LotteryPool()
    s = np.array([1.0, 0.0, 2.0, 3.0])
    w = pool.run_lottery(s, 3, seed=1)
    assert w.tolist() == [1, 0, 1, 1]
    assert pool.win_probabilities[:, 0].tolist() == [1.0, 0.0, 1.0, 1.0]
    w = pool.run_lottery(s, 0, seed=2)
    assert w.tolist() == [0, 0, 0, 0] and pool.n_lotteries == 2
    w = pool.run_lottery(np.ones(4), 2, seed=3)  # the next lottery works
    assert int(w.sum()) == 2 and w[1] == 1  # entrant 1 is owed the most
    with pytest.raises(ValueError, match="k must lie"):
        pool.run_lottery(s, 4)
    assert pool.n_lotteries == 3 and pool.verify()


def test_empty_pool_and_no_entrants():
    pool = ff.LotteryPool()
    assert pool.winners.shape == (0, 0) and pool.seeds.size == 0
    w = pool.run_lottery(np.zeros(3), 0, seed=0)
    assert w.tolist() == [0, 0, 0]
    with pytest.raises(ValueError, match="k"):
        pool.run_lottery(np.zeros(3), 1)


def unfairness_path(pool_scores, k, lotteries, seed):
    pool = ff.LotteryPool()
    rng = np.random.default_rng(seed)
    worst = 0.0
    for _ in range(lotteries):
        pool.run_lottery(pool_scores, k, seed=rng)
        worst = max(worst, float(np.max(np.abs(pool.unfairness))))
    return worst


def test_long_run_uniform_within_one_seat():
    for seed in range(3):
        assert unfairness_path(np.ones(100), 7, 300, seed) < 1.0


def test_long_run_weighted_within_two_seats():
    s = np.random.default_rng(0).lognormal(0, 1, 100)
    worst = unfairness_path(s, 7, 300, 1)
    assert worst < 2.0


def test_independent_draws_are_not_fair():
    rng = np.random.default_rng(27)
    wins = np.zeros(100)
    worst = 0.0
    for t in range(300):
        wins[rng.choice(100, 7, replace=False)] += 1
        worst = max(worst, float(np.max(np.abs(wins - 0.07 * (t + 1)))))
    assert worst > 2.0


def test_seeds_recorded_and_reproducible():
    a, b = ff.LotteryPool(), ff.LotteryPool()
    s = np.random.default_rng(1).random(50)
    wa = a.run_lottery(s, 10, seed=123)
    wb = b.run_lottery(s, 10, seed=np.random.default_rng(5))
    wn = b.run_lottery(s, 10)  # OS entropy, still recorded
    assert a.seeds.tolist() == [123] and a.seeds.dtype == np.uint64
    assert b.seeds.size == 2
    c = ff.LotteryPool()
    assert c.run_lottery(s, 10, seed=int(b.seeds[0])).tolist() == wb.tolist()
    assert c.run_lottery(s, 10, seed=int(b.seeds[1])).tolist() == wn.tolist()
    assert wa.tolist() == ff.LotteryPool().run_lottery(s, 10, seed=123).tolist()


def test_history_accessors_return_copies():
    pool = ff.LotteryPool()
    pool.run_lottery(np.ones(5), 2, seed=1)
    for name in ("scores", "win_probabilities", "winners", "deserved", "lottery_sizes",
                 "seeds", "cumulative_deserved", "wins"):
        arr = getattr(pool, name)
        arr[...] = 7
        assert not np.all(getattr(pool, name) == 7), name
    assert pool.winners.dtype == np.int8


def test_verify_detects_tampering():
    pool = ff.LotteryPool()
    rng = np.random.default_rng(4)
    for t in range(6):
        pool.run_lottery(rng.random(10) + 0.05, 3, seed=t)
    st = pool.__getstate__()
    w = st["winners"].reshape(6, 10)
    t = 2
    one, zero = np.flatnonzero(w[t] == 1)[0], np.flatnonzero(w[t] == 0)[0]
    w[t, one], w[t, zero] = 0, 1  # same number of winners, different people
    st["winners"] = w.ravel()
    bad = ff.LotteryPool.__new__(ff.LotteryPool)
    bad.__setstate__(st)
    report = bad.verify()
    assert not report and not report.ok
    assert (t, "winners differ from a re-draw with the recorded probabilities and seed") \
        in report.mismatches
    assert all(i >= t for i, _ in report.mismatches)
    # tampering with a probability is caught too
    st = pool.__getstate__()
    p = st["probabilities"]
    p[13] = np.nextafter(p[13], 0) if p[13] > 0 else p[13]
    p[14] = np.nextafter(p[14], 1) if p[14] < 1 else p[14]
    good = ff.LotteryPool.__new__(ff.LotteryPool)
    good.__setstate__(st)
    assert any(i == 1 and "probabilities" in m for i, m in good.verify().mismatches)


BAD_RUNS = [
    ((np.array([1.0, np.nan, 1.0, 1.0, 1.0, 1.0]), 2), {}, ValueError, "scores"),
    ((np.array([1.0, -1.0, 1.0, 1.0, 1.0, 1.0]), 2), {}, ValueError, "scores"),
    ((np.ones(3), 2), {}, ValueError, "scores"),  # fewer than the 5 members
    ((np.ones((6, 1)), 2), {}, ValueError, "scores"),
    ((["a"] * 6, 2), {}, TypeError, "scores"),
    ((np.ones(6), 7), {}, ValueError, "k"),
    ((np.ones(6), -1), {}, ValueError, "k"),
    ((np.ones(6), 2.5), {}, ValueError, "k"),
    ((np.ones(6), True), {}, TypeError, "k"),
    ((np.ones(6), "2"), {}, TypeError, "k"),
    ((np.ones(6), 2), {"seed": -1}, ValueError, "seed"),
    ((np.ones(6), 2), {"seed": 1.5}, TypeError, "seed"),
    ((np.ones(6), 2), {"ids": list("abcdef")}, ValueError, "ids"),
]


@pytest.mark.parametrize(("args", "kwargs", "exc", "match"), BAD_RUNS)
def test_bad_input_leaves_pool_unchanged(args, kwargs, exc, match):
    pool = ff.LotteryPool()
    for t in range(3):
        pool.run_lottery(np.ones(5), 2, seed=t)
    before = snapshot(pool)
    with pytest.raises(exc, match=match):
        pool.run_lottery(*args, **kwargs)
    if "seed" not in kwargs:
        with pytest.raises(exc, match=match):
            pool.preview(*args, **kwargs)
    assert_same_state(before, snapshot(pool))
    # and it still works, exactly like an untouched twin
    twin = ff.LotteryPool()
    for t in range(3):
        twin.run_lottery(np.ones(5), 2, seed=t)
    assert pool.run_lottery(np.ones(5), 2, seed=9).tolist() == \
        twin.run_lottery(np.ones(5), 2, seed=9).tolist()


def test_warning_as_error_leaves_pool_unchanged():
    pool = ff.LotteryPool()
    pool.run_lottery(np.ones(3), 1, seed=0)
    before = snapshot(pool)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        with pytest.raises(UserWarning):
            pool.run_lottery(np.ones(5), 1, seed=1)
    assert_same_state(before, snapshot(pool))


def test_no_warning_on_first_lottery_or_without_growth():
    pool = ff.LotteryPool()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pool.run_lottery(np.ones(5), 2, seed=0)
        pool.run_lottery(np.ones(5), 2, seed=1)


def test_ids_pool():
    pool = ff.LotteryPool("ids")
    w = pool.run_lottery([1.0, 1.0, 1.0], 1, seed=1, ids=["ann", "bob", "cy"])
    assert pool.ids == ["ann", "bob", "cy"] and w.shape == (3,)
    # a different order, one member absent, one newcomer
    with pytest.warns(UserWarning, match="1 new member"):
        w2 = pool.run_lottery([2.0, 1.0, 1.0], 2, seed=2, ids=["cy", "dee", "ann"])
    assert pool.ids == ["ann", "bob", "cy", "dee"]
    assert pool.scores[:, 1].tolist() == [1.0, 0.0, 2.0, 1.0]
    assert w2.tolist() == [pool.winners[2, 1], pool.winners[3, 1], pool.winners[0, 1]]
    assert pool.winners[1, 1] == 0
    pi = pool.preview([1.0, 1.0], 1, ids=["bob", "dee"])
    assert pi.shape == (2,)
    # a positional call with one score per member is allowed, growing is not
    pool.run_lottery(np.ones(4), 1, seed=3)
    with pytest.raises(ValueError, match="ids"):
        pool.run_lottery(np.ones(5), 1, seed=3)
    with pytest.raises(ValueError, match="unique"):
        pool.run_lottery([1.0, 1.0], 1, ids=["x", "x"])
    with pytest.raises(TypeError, match="ids"):
        pool.run_lottery([1.0, 1.0], 1, ids=["x", 3])
    with pytest.raises(TypeError, match="ids"):
        pool.run_lottery([1.0], 1, ids="x")
    assert pool.ids == ["ann", "bob", "cy", "dee"] and pool.n_lotteries == 3
    copy = ff.LotteryPool.__new__(ff.LotteryPool)
    copy.__setstate__(pool.__getstate__())
    assert copy.ids == pool.ids


def test_name_and_repr():
    pool = ff.LotteryPool("marathon")
    assert pool.name == "marathon" and "marathon" in repr(pool)
    with pytest.raises(TypeError, match="name"):
        ff.LotteryPool(3)  # type: ignore[arg-type]
