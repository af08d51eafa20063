"""pool.retire(members): retired members never enter again (a score > 0 for them is a
ValueError), their history is kept, and the sparse history (only each lottery's
entrants) keeps the saved file and the per-lottery cost from growing with them."""

from __future__ import annotations

import json
import pickle
import struct
import warnings

import numpy as np
import pytest

import fastfair as ff


def ids_of(year, n=40, churn=10):
    """Entrants of one year: a rolling window (the first `churn` leave each year)."""
    return [f"r{i}" for i in range(year * churn, year * churn + n)]


def test_retired_member_never_enters_again_and_history_is_kept():
    pool = ff.LotteryPool("race")
    rng = np.random.default_rng(0)
    names = [f"e{i}" for i in range(12)]
    pool.run_lottery(rng.random(12) + 0.1, 4, seed=1, ids=names)
    pool.run_lottery(rng.random(12) + 0.1, 4, seed=2, ids=names)
    before = (pool.scores.copy(), pool.winners.copy(), pool.wins.copy())
    assert pool.retire(["e3", "e5"]) == 2
    assert pool.retire(["e3"]) == 0  # already retired: ignored
    assert pool.retired == ["e3", "e5"]
    with pytest.raises(ValueError, match="retired") as err:
        pool.run_lottery(np.ones(12), 4, seed=3, ids=names)
    assert "e3" in str(err.value)
    with pytest.raises(ValueError, match="retired"):
        pool.preview(np.ones(12), 4, ids=names)
    assert pool.n_lotteries == 2
    # absent, or listed with score 0: fine
    others = [x for x in names if x not in ("e3", "e5")]
    w = pool.run_lottery(np.ones(10), 4, seed=3, ids=others)
    s = np.ones(12)
    s[[3, 5]] = 0
    pool.run_lottery(s, 4, seed=4, ids=names)
    assert w.sum() == 4 and pool.n_lotteries == 4
    assert pool.n_entrants == 12  # listed again with score 0: still the same member
    assert np.array_equal(pool.scores[:, :2], before[0])
    assert np.array_equal(pool.winners[:, :2], before[1])
    assert pool.scores[3, 2:].tolist() == [0, 0] and pool.wins[3] == before[2][3]
    assert pool.verify()


def test_positional_pool_retire():
    pool = ff.LotteryPool()
    pool.run_lottery(np.ones(6), 2, seed=0)
    assert pool.retire([4]) == 1 and pool.retired == [4]
    with pytest.raises(ValueError, match="retired"):
        pool.run_lottery(np.ones(6), 2, seed=1)
    s = np.ones(6)
    s[4] = 0
    pool.run_lottery(s, 2, seed=1)
    assert pool.verify()


@pytest.mark.parametrize("bad,exc", [
    (["nobody"], ValueError), ("e1", TypeError), ([1], TypeError), (5, TypeError),
    (["e1", "nobody"], ValueError),
])
def test_bad_retire_changes_nothing(bad, exc):
    pool = ff.LotteryPool()
    pool.run_lottery(np.ones(3), 1, seed=0, ids=["e0", "e1", "e2"])
    with pytest.raises(exc):
        pool.retire(bad)
    assert pool.retired == []


@pytest.mark.parametrize("bad,exc", [([6], ValueError), ([-1], ValueError),
                                     (["0"], TypeError), ([True], TypeError)])
def test_bad_positional_retire(bad, exc):
    pool = ff.LotteryPool()
    pool.run_lottery(np.ones(6), 2, seed=0)
    with pytest.raises(exc):
        pool.retire(bad)
    assert pool.retired == []


def churn_pool(years=6, retire=True):
    pool = ff.LotteryPool("churn")
    rng = np.random.default_rng(1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for y in range(years):
            ids = ids_of(y)
            pool.run_lottery(rng.random(len(ids)) + 0.1, 10, seed=y, ids=ids)
            if retire:
                pool.retire(ids[:10])  # they leave after this year
    return pool


def test_saved_file_grows_with_entrants_not_with_members(tmp_path):
    pool = churn_pool()
    assert pool.n_entrants == 40 + 5 * 10 and len(pool.retired) == 60
    path = tmp_path / "p.ffl"
    pool.save(path)
    data = path.read_bytes()
    _, version, hlen = struct.unpack_from("<8sIQ", data, 0)
    header = json.loads(data[20 : 20 + hlen])
    assert header["n_values"] == 6 * 40  # entrants per lottery, not 90 members
    for t in range(6):
        size, pos, scores, pi, won = pool._core.column(t)
        assert pos.size == 40 and int(size) == 40 + 10 * t
        assert pos.tolist() == list(range(10 * t, 10 * t + 40))
    loaded = ff.LotteryPool.load(path)
    assert loaded.retired == pool.retired and loaded.verify()
    clone = pickle.loads(pickle.dumps(pool))
    assert clone.retired == pool.retired and clone.verify()
    with pytest.raises(ValueError, match="retired"):
        loaded.run_lottery([1.0], 1, seed=0, ids=["r0"])


def test_sparse_ids_pool_draws_exactly_like_a_dense_positional_pool():
    """The id path (sparse columns) against the positional path (dense scores)."""
    rng = np.random.default_rng(5)
    by_id, by_pos = ff.LotteryPool("i"), ff.LotteryPool("p")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for y in range(8):
            ids = ids_of(y, n=30, churn=7)
            rng.shuffle(ids)
            s = rng.lognormal(0, 1, len(ids)) * (rng.random(len(ids)) < 0.9)
            k = int((s > 0).sum()) // 3
            w_id = by_id.run_lottery(s, k, seed=y, ids=ids)
            where = {x: j for j, x in enumerate(by_id.ids)}  # pool positions
            dense = np.zeros(by_id.n_entrants)
            order = [where[x] for x in ids]
            dense[order] = s
            w_pos = by_pos.run_lottery(dense, k, seed=y)
            assert w_id.tolist() == w_pos[order].tolist()
    for attr in ("win_probabilities", "winners", "scores", "deserved", "wins",
                 "cumulative_deserved"):
        assert getattr(by_id, attr).tobytes() == getattr(by_pos, attr).tobytes(), attr


def test_verify_flags_an_entry_after_retirement():
    pool = churn_pool(years=3)
    st = pool.__getstate__()
    st["retired"] = [[25, 1]]  # claims r25 left after lottery 1; it entered lotteries 1, 2
    forged = ff.LotteryPool()
    forged.__setstate__(st)
    report = forged.verify()
    assert [t for t, _ in report.mismatches] == [1, 2]
    assert all("retired" in m for _, m in report.mismatches)
