"""Waitlists and declines: alternates by the pool's fairness rule, audited and saved."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import fastfair as ff
from fastfair.pool.waitlist import DECLINE_TEXT, WAITLIST_TEXT, alternate_seed


def _pool(n=30, years=3, k=4, m=3, seed=0):
    rng = np.random.default_rng(seed)
    ids = [f"e{i:03d}" for i in range(n)]
    pool = ff.LotteryPool("club")
    for y in range(years):
        scores = rng.integers(0, 3, n).astype(float)
        pool.run_lottery(scores, k, seed=100 + y, ids=ids, waitlist=m)
    return pool, ids


def _winners(pool, t=-1):
    col = pool.winners[:, t]
    return [pool.ids[i] for i in np.flatnonzero(col)]


def _project_one_seat(target):
    """Reference: the projection of target onto {0 <= p <= 1, sum p = 1} (bisection)."""
    lo, hi = target.min() - 1.0, target.max()
    for _ in range(200):
        lam = (lo + hi) / 2
        if np.clip(target - lam, 0, 1).sum() > 1:
            lo = lam
        else:
            hi = lam
    return np.clip(target - (lo + hi) / 2, 0, 1)


def test_alternates_are_ordered_distinct_losers_who_entered():
    pool, ids = _pool()
    for t in range(pool.n_lotteries):
        wl = pool.waitlist(t)
        assert len(wl) == 3 and len(set(wl)) == 3
        entered = {ids[i] for i in np.flatnonzero(pool.scores[:, t] > 0)}
        assert set(wl) <= entered - set(_winners(pool, t))
    assert pool.verify()


def test_alternate_seeds_follow_the_documented_rule():
    import hashlib

    raw = b"fastfair-waitlist-v1\x00" + (7).to_bytes(8, "little") + (2).to_bytes(8, "little")
    assert alternate_seed(7, 2) == int.from_bytes(hashlib.sha256(raw).digest()[:8], "little")


def test_first_alternate_marginals_match_the_one_seat_fair_odds():
    """Monte Carlo over the lottery's seed: the first alternate is drawn with the
    fair one-seat odds of those still waiting (reference projection in NumPy)."""
    base, ids = _pool(n=12, years=2, k=3, m=0, seed=3)
    scores = np.ones(12)
    counts = np.zeros(12)
    expected = np.zeros(12)
    variance = np.zeros(12)
    trials = 1500
    for s in range(trials):
        pool = pickle.loads(pickle.dumps(base))
        pool.run_lottery(scores, 3, seed=10_000 + s, ids=ids, waitlist=1)
        won = pool.winners[:, -1].astype(bool)
        owed = pool.cumulative_deserved - pool.wins
        p = np.zeros(12)
        p[~won] = _project_one_seat(owed[~won])
        first = pool.ids.index(pool.waitlist()[0])
        counts[first] += 1
        expected += p
        variance += p * (1 - p)
    mask = variance > 25
    z = (counts[mask] - expected[mask]) / np.sqrt(variance[mask])
    assert mask.sum() >= 3
    assert np.all(np.abs(z) < 4.5), z  # per-entry z-scores, 4.5 sigma
    # nobody with a zero one-seat probability is ever first
    assert np.all(counts[expected == 0] == 0)


def test_decline_promotes_the_next_alternate_and_moves_the_win():
    pool, ids = _pool()
    wl = pool.waitlist()
    w = _winners(pool)
    wins_before = pool.wins.copy()
    got = pool.decline(w[0])
    assert got == wl[0]
    assert pool.declines() == [(w[0], wl[0])]
    i_dec, i_rep = ids.index(w[0]), ids.index(wl[0])
    assert pool.wins[i_dec] == wins_before[i_dec] - 1  # the decliner keeps no win
    assert pool.wins[i_rep] == wins_before[i_rep] + 1  # the replacement gets it
    assert pool.winners[i_rep, -1] == 1 and pool.winners[i_dec, -1] == 0
    assert pool.winners[:, -1].sum() == 4
    # a promoted alternate may decline too: the next one still waiting gets it
    assert pool.decline(wl[0]) == wl[1]
    assert pool.verify()


def test_an_exhausted_waitlist_refuses_the_decline():
    pool, _ids = _pool(m=1)
    w = _winners(pool)
    assert pool.decline(w[0]) == pool.waitlist()[0]
    st = pickle.dumps(pool)
    with pytest.raises(ValueError, match="no alternate of lottery 3 is still waiting"):
        pool.decline(w[1])
    assert pickle.dumps(pool) == st
    assert pool.winners[:, -1].sum() == 4
    assert pool.verify()


def test_declines_survive_save_load_pickle_json_and_the_next_lottery(tmp_path):
    pool, ids = _pool()
    w = _winners(pool)
    pool.decline(w[0])
    pool.decline(w[2])
    path = tmp_path / "pool.ffl"
    pool.save(path)
    for again in (ff.LotteryPool.load(path), pickle.loads(pickle.dumps(pool)),
                  ff.LotteryPool.from_json(pool.to_json())):
        assert again.declines() == pool.declines()
        assert again.waitlist() == pool.waitlist()
        assert np.array_equal(again.winners, pool.winners)
        assert again.verify()
        again.run_lottery(np.ones(len(ids)), 4, seed=9, ids=ids, waitlist=2)
        assert again.verify()


def test_bad_declines_change_nothing():
    pool, ids = _pool()
    st = pickle.dumps(pool)
    loser = next(i for i in ids if i not in _winners(pool))
    with pytest.raises(ValueError, match="not a winner"):
        pool.decline(loser)
    with pytest.raises(ValueError, match="only the last lottery"):
        pool.decline(_winners(pool, 0)[0], t=0)
    with pytest.raises(ValueError, match="not a member"):
        pool.decline("nobody")
    with pytest.raises(TypeError):
        pool.decline(3)
    with pytest.raises(IndexError):
        pool.decline(_winners(pool)[0], t=5)
    assert pickle.dumps(pool) == st


def test_waitlist_argument_is_checked_before_anything_changes():
    pool, ids = _pool()
    st = pickle.dumps(pool)
    scores = np.zeros(len(ids))
    scores[:6] = 1
    with pytest.raises(ValueError, match="waitlist must be <= entrants - k = 2"):
        pool.run_lottery(scores, 4, seed=1, ids=ids, waitlist=3)
    with pytest.raises(TypeError):
        pool.run_lottery(scores, 4, seed=1, ids=ids, waitlist="2")
    with pytest.raises(ValueError):
        pool.run_lottery(scores, 4, seed=1, ids=ids, waitlist=-1)
    assert pickle.dumps(pool) == st
    pool.run_lottery(scores, 4, seed=1, ids=ids, waitlist=2)  # exactly everyone left
    assert len(pool.waitlist()) == 2


def test_tampered_waitlists_and_declines_fail_the_audit():
    pool, _ids = _pool()
    pool.decline(_winners(pool)[0])
    st = pool.__getstate__()
    bad = dict(st, waitlists=[list(reversed(w)) for w in st["waitlists"]])
    q = ff.LotteryPool.__new__(ff.LotteryPool)
    q.__setstate__(bad)
    assert (0, WAITLIST_TEXT) in q.verify().mismatches
    w = st["waitlists"][-1]
    bad = dict(st, declines=st["declines"][:-1] + [[[st["declines"][-1][0][0], w[1]]]])
    q.__setstate__(bad)
    assert any(msg == DECLINE_TEXT for _t, msg in q.verify().mismatches)
    for broken in ([[1.5]] * 3, [["x"]] * 3, [[10**6]] * 3, [[]] * 2, "nope"):
        with pytest.raises(ValueError):
            q.__setstate__(dict(st, waitlists=broken))


def test_positional_pools_have_waitlists_too():
    pool = ff.LotteryPool()
    pool.run_lottery(np.ones(10), 3, seed=5, waitlist=2)
    wl = pool.waitlist()
    assert all(isinstance(x, int) for x in wl) and len(wl) == 2
    winner = int(np.flatnonzero(pool.winners[:, -1])[0])
    assert pool.decline(winner) == wl[0]
    assert pool.verify()
