"""Hostile input to the pool: crafted restore states, pickles and files (with valid
checksums) are a clean ValueError, never a crash or an out-of-bounds read, and a failed
restore changes nothing. Scores of a non-real dtype are a TypeError."""

from __future__ import annotations

import datetime
import os
import pickle
import tempfile
import sys
from pathlib import Path

import numpy as np
import pytest

import fastfair as ff
from fastfair import _core

sys.path.insert(0, str(Path(__file__).parent))  # the crafting helpers beside this file
import pool_craft as pc  # noqa: E402

OVERFLOW = [4, 2**62, 2**62, 2**62, 2**62]  # sums to 4 modulo 2**64


def core_args(lengths, n_values=4):
    t = len(lengths)
    return (np.asarray(lengths, np.int64), np.zeros(t, np.int64), np.zeros(t, np.uint64),
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
    args = list(core_args([2, 2]))
    args[4] = np.zeros(3)
    with pytest.raises(ValueError):
        core.restore(*args)
    args = list(core_args([2, 2]))
    args[1] = np.zeros(1, np.int64)
    with pytest.raises(ValueError):
        core.restore(*args)


def test_core_restore_failure_midway_leaves_core_empty():
    core = _core.LotteryPoolCore()
    lengths = np.array([2, 2], np.int64)
    ks = np.array([0, 5], np.int64)  # the second record is invalid
    with pytest.raises(ValueError):
        core.restore(lengths, ks, np.zeros(2, np.uint64), np.ones(4), np.zeros(4),
                     np.zeros(4, np.int8))
    assert core.n_lotteries == 0 and core.n_entrants == 0


def pool_snapshot(pool):
    return (pool.name, pool.ids, pool.n_entrants, pool.n_lotteries,
            pool.scores.tobytes(), pool.winners.tobytes(), pool.seeds.tobytes())


@pytest.mark.parametrize("change", [
    {"lengths": OVERFLOW, "scores": np.ones(4), "probabilities": np.zeros(4),
     "winners": np.zeros(4, np.int8), "k": np.zeros(5, np.int64),
     "seeds": np.zeros(5, np.uint64)},
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
              winners=np.zeros(4, np.int8))

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
def header(**kw):
    h = {"name": "x", "ids": None, "n_entrants": 4, "n_lotteries": 5, "n_values": 4}
    h.update(kw)
    return h


def crafted_files():
    """(name, bytes) of crafted files, each with a recomputed valid checksum."""
    ok = pc.arrays_bytes([4], [0], [0], 4)
    over = pc.arrays_bytes(OVERFLOW, [0] * 5, [0] * 5, 4)
    yield "overflowing lengths", pc.craft(header(), over)
    yield "negative length", pc.craft(
        header(n_lotteries=2), pc.arrays_bytes([-4, 8], [0, 0], [0, 0], 4))
    yield "huge n_values", pc.craft(header(n_lotteries=1, n_values=2**62), ok)
    yield "huge n_lotteries", pc.craft(header(n_lotteries=2**61), ok)
    yield "n_values Infinity", pc.craft(
        raw_header=b'{"name": "x", "ids": null, "n_entrants": 4, "n_lotteries": 1, '
                   b'"n_values": Infinity}', arrays=ok)
    yield "n_lotteries NaN", pc.craft(
        raw_header=b'{"name": "x", "ids": null, "n_entrants": 4, "n_lotteries": NaN, '
                   b'"n_values": 4}', arrays=ok)
    yield "n_lotteries 1e400", pc.craft(
        raw_header=b'{"name": "x", "ids": null, "n_entrants": 4, "n_lotteries": 1e400, '
                   b'"n_values": 4}', arrays=ok)
    yield "n_lotteries 10**5000", pc.craft(
        raw_header=b'{"name": "x", "ids": null, "n_entrants": 4, "n_lotteries": '
                   + b"9" * 5000 + b', "n_values": 4}', arrays=ok)
    yield "negative n_values", pc.craft(header(n_lotteries=1, n_values=-4), ok)
    yield "n_lotteries float", pc.craft(header(n_lotteries=1.0), ok)
    yield "n_lotteries string", pc.craft(header(n_lotteries="1"), ok)
    yield "n_lotteries bool", pc.craft(header(n_lotteries=True), ok)
    yield "n_entrants wrong", pc.craft(header(n_lotteries=1, n_entrants=9), ok)
    yield "name not str", pc.craft(header(n_lotteries=1, name=[1]), ok)
    yield "ids not list", pc.craft(header(n_lotteries=1, ids={"a": 1}), ok)
    yield "ids ints", pc.craft(header(n_lotteries=1, ids=[1, 2, 3, 4]), ok)
    yield "ids duplicated", pc.craft(header(n_lotteries=1, ids=["a", "a", "b", "c"]), ok)
    yield "ids too few", pc.craft(header(n_lotteries=1, ids=["a"]), ok)
    yield "header a list", pc.craft([1, 2, 3], ok)
    yield "header missing keys", pc.craft({"name": "x"}, ok)
    yield "deep nesting", pc.craft(raw_header=b"[" * 100_000 + b"]" * 100_000, arrays=ok)
    yield "deep nesting in ids", pc.craft(
        raw_header=b'{"name": "x", "ids": ' + b"[" * 50_000 + b"]" * 50_000
        + b', "n_entrants": 4, "n_lotteries": 1, "n_values": 4}', arrays=ok)
    yield "non-ASCII header", pc.craft(raw_header=b'{"name": "\xff\xfe"}', arrays=ok)
    yield "header length past the end", pc.craft(header(n_lotteries=1), ok,
                                                 header_len=2**62)
    yield "NaN scores", pc.craft(header(n_lotteries=1), pc.arrays_bytes(
        [4], [0], [0], 4, scores=np.array([np.nan, 1, 1, 1])))
    yield "k above entrants", pc.craft(header(n_lotteries=1),
                                       pc.arrays_bytes([4], [9], [0], 4))
    yield "trailing bytes", pc.craft(header(n_lotteries=1), ok + b"\0" * 8)
    yield "unknown version", pc.craft(header(n_lotteries=1), ok, version=77)


def saved_variants():
    pool = pc.small_pool(ids=True)
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "p.ffl")
        pool.save(p)
        with open(p, "rb") as fh:
            data = fh.read()
    yield "truncated", data[: len(data) // 2]
    yield "truncated with checksum", pc.resum(data[: len(data) // 2] + b"\0" * 32)
    yield "empty", b""
    yield "magic only", data[:8]
    rng = np.random.default_rng(5)
    for j in range(4):
        flipped = bytearray(data)
        pos = int(rng.integers(8, len(data) - 32))
        flipped[pos] ^= 1 << int(rng.integers(8))
        yield f"bit flip {j}", bytes(flipped)
        yield f"bit flip {j} with checksum", pc.resum(bytes(flipped))


ALL_CASES = list(crafted_files()) + list(saved_variants())


def test_a_valid_crafted_file_loads(tmp_path):
    """The crafting helper itself is right: a consistent file loads."""
    data = pc.craft(header(n_lotteries=1), pc.arrays_bytes([4], [0], [0], 4))
    pool = ff.LotteryPool.load(pc.write(tmp_path / "p.ffl", data))
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
