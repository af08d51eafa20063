"""Hostile input to the pool: crafted restore states, pickles and files (with valid
checksums) are a clean ValueError, never a crash or an out-of-bounds read, and a failed
restore changes nothing. Scores of a non-real dtype are a TypeError."""

from __future__ import annotations

import datetime
import os
import pickle
import sys
from pathlib import Path

import numpy as np
import pytest

import fastfair as ff
from fastfair import _core

sys.path.insert(0, str(Path(__file__).parent))  # the crafting helpers beside this file
import pool_craft as pc  # noqa: E402

OVERFLOW = pc.OVERFLOW


def core_args(lengths, n_values=4):
    """(sizes, lengths, k, seeds, positions, scores, pi, winners) for restore."""
    t = len(lengths)
    return (np.full(t, 8, np.uint64), np.asarray(lengths, np.int64), np.zeros(t, np.int64),
            np.zeros(t, np.uint64), np.arange(n_values, dtype=np.uint32),
            np.ones(n_values), np.zeros(n_values), np.zeros(n_values, np.int8))


@pytest.mark.parametrize("lengths", [
    OVERFLOW,
    [2**63 - 1, 2**63 - 1, 6],
    [-1, 5],
    [5],          # more than the arrays hold
    [1, 1],       # fewer
])
def test_core_restore_checks_every_length(lengths):
    core = _core.LotteryPoolCore()
    with pytest.raises(ValueError, match="state"):
        core.restore(*core_args(lengths))
    assert core.n_lotteries == 0 and core.n_entrants == 0


def test_core_restore_mismatched_array_sizes():
    core = _core.LotteryPoolCore()
    for j, bad in ((6, np.zeros(3)), (4, np.zeros(3, np.uint32)), (2, np.zeros(1, np.int64)),
                   (0, np.zeros(1, np.uint64))):
        args = list(core_args([2, 2]))
        args[j] = bad
        with pytest.raises(ValueError):
            core.restore(*args)
    assert core.n_lotteries == 0


@pytest.mark.parametrize("sizes,positions", [
    ([2, 1], [0, 1, 0, 1]),          # the pool shrinks
    ([2, 2], [1, 0, 0, 1]),          # positions not increasing
    ([2, 2], [0, 0, 0, 1]),          # repeated position
    ([2, 2], [0, 2, 0, 1]),          # position past the pool size
    ([2**33, 2**33], [0, 1, 0, 1]),  # pool too large
])
def test_core_restore_checks_positions_and_sizes(sizes, positions):
    core = _core.LotteryPoolCore()
    args = list(core_args([2, 2]))
    args[0] = np.asarray(sizes, np.uint64)
    args[4] = np.asarray(positions, np.uint32)
    with pytest.raises(ValueError):
        core.restore(*args)
    assert core.n_lotteries == 0 and core.n_entrants == 0


def test_core_restore_failure_midway_leaves_core_empty():
    core = _core.LotteryPoolCore()
    args = list(core_args([2, 2]))
    args[2] = np.array([0, 5], np.int64)  # the second record is invalid
    with pytest.raises(ValueError):
        core.restore(*args)
    assert core.n_lotteries == 0 and core.n_entrants == 0


def pool_snapshot(pool):
    return (pool.name, pool.ids, pool.n_entrants, pool.n_lotteries,
            pool.scores.tobytes(), pool.winners.tobytes(), pool.seeds.tobytes())


@pytest.mark.parametrize("change", [
    {"lengths": OVERFLOW, "scores": np.ones(4), "probabilities": np.zeros(4),
     "winners": np.zeros(4, np.int8), "k": np.zeros(5, np.int64),
     "seeds": np.zeros(5, np.uint64), "sizes": np.full(5, 8, np.uint64),
     "positions": np.arange(4, dtype=np.uint32), "seed_strings": [None] * 5},
    {"positions": np.array([-1] * 18)},
    {"sizes": np.array([2**40] * 3)},
    {"retired": [[0, 99]]},
    {"retired": [[99, 0]]},
    {"retired": "x"},
    {"lengths": [2**64 + 1]},
    {"lengths": np.array([1.5, 2.5])},
    {"lengths": "abc"},
    {"seeds": np.array([-1, 0, 0])},
    {"scores": np.array([1 + 1j] * 18)},
    {"winners": np.array([[0]])},
    {"ids": [1, 2, 3]},
    {"ids": "abc"},
    {"name": 5},
    {"format": 99},
    {"k": None},
])
def test_failed_setstate_leaves_the_pool_exactly_as_it_was(change):
    pool = pc.small_pool(ids=True)
    before = pool_snapshot(pool)
    other = pc.small_pool(lotteries=3, ids=True).__getstate__()
    other["name"] = "other name"
    other.update(change)
    with pytest.raises(ValueError):
        pool.__setstate__(other)
    assert pool_snapshot(pool) == before
    assert pool.verify()


def test_setstate_rejects_a_non_dict():
    pool = pc.small_pool()
    with pytest.raises(ValueError):
        pool.__setstate__([1, 2, 3])


def test_crafted_pickle_with_overflowing_lengths_is_a_value_error():
    st = pc.small_pool().__getstate__()
    st.update(lengths=np.array(OVERFLOW, np.int64), k=np.zeros(5, np.int64),
              seeds=np.zeros(5, np.uint64), scores=np.ones(4), probabilities=np.zeros(4),
              winners=np.zeros(4, np.int8), sizes=np.full(5, 8, np.uint64),
              positions=np.arange(4, dtype=np.uint32), seed_strings=[None] * 5)

    class Crafted:  # unpickles as LotteryPool.__new__ + __setstate__(st)
        def __reduce__(self):
            return (ff.LotteryPool.__new__, (ff.LotteryPool,), st)

    blob = pickle.dumps(Crafted())
    with pytest.raises(ValueError):
        pickle.loads(blob)
    assert pickle.loads(pickle.dumps(pc.small_pool())).verify()


def test_setstate_round_trip_still_works():
    pool = pc.small_pool(ids=True)
    clone = ff.LotteryPool("x")
    clone.__setstate__(pool.__getstate__())
    assert pool_snapshot(clone) == pool_snapshot(pool)


# ---- files with a valid checksum --------------------------------------------------
ALL_CASES = pc.all_cases()


def test_a_valid_crafted_file_loads(tmp_path):
    """The crafting helpers themselves are right: consistent files load."""
    data = pc.craft(pc.header(n_lotteries=1), pc.arrays_bytes([4], [0], [0], 4))
    pool = ff.LotteryPool.load(pc.write(tmp_path / "p.ffl", data))
    assert pool.n_lotteries == 1 and pool.n_entrants == 4 and pool.verify()
    data = dict(pc.v3_files())["v3 valid"]
    pool = ff.LotteryPool.load(pc.write(tmp_path / "p3.ffl", data))
    assert pool.n_lotteries == 1 and pool.n_entrants == 4 and pool.verify()


@pytest.mark.parametrize("name,data", ALL_CASES, ids=[c[0] for c in ALL_CASES])
def test_crafted_file_is_a_value_error(tmp_path, name, data):
    path = pc.write(tmp_path / "evil.ffl", data)
    try:
        pool = ff.LotteryPool.load(path)
    except ValueError:
        return
    # a bit flip with a recomputed checksum may still be a well-formed pool: then it
    # must be self-consistent (or verify() says where it is not), never garbage
    assert "bit flip" in name
    pool.verify()


def test_load_refuses_fifo_and_directory(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match="regular file"):
        ff.LotteryPool.load(fifo)
    with pytest.raises(ValueError, match="regular file"):
        ff.LotteryPool.load(tmp_path)
    with pytest.raises(ValueError, match="regular file"):
        ff.LotteryPool.load("/dev/zero")
    with pytest.raises(FileNotFoundError):
        ff.LotteryPool.load(tmp_path / "missing.ffl")


# ---- scores of a non-real dtype ----------------------------------------------------
BAD_SCORES = {
    "complex": np.array([1 + 1j, 2, 3]),
    "datetime": np.array(["2020-01-01"] * 3, dtype="datetime64[D]"),
    "timedelta": np.array([1, 2, 3], dtype="timedelta64[s]"),
    "string": np.array(["1", "2", "3"]),
    "object": np.array([1, datetime.date.today(), 3], dtype=object),
    "structured": np.array([(1, 2.0)] * 3, dtype=[("a", "i4"), ("b", "f8")]),
    "masked": np.ma.masked_array([1.0, 2.0, 3.0], mask=[0, 1, 0]),
}


@pytest.mark.parametrize("kind", list(BAD_SCORES))
@pytest.mark.parametrize("method", ["run_lottery", "preview"])
def test_non_real_scores_are_a_type_error(kind, method):
    pool = pc.small_pool(lotteries=0)
    fresh = pc.small_pool(lotteries=1)
    before = pool_snapshot(fresh)
    with pytest.raises(TypeError, match="scores"):
        getattr(pool, method)(BAD_SCORES[kind], 1)
    assert pool.n_lotteries == 0
    scores = BAD_SCORES[kind]
    with pytest.raises(TypeError, match="scores"):
        getattr(fresh, method)(scores, 1)
    assert pool_snapshot(fresh) == before
