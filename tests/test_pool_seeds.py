"""String seeds: hashed to the 64-bit seed by SHA-256 (first 8 bytes, little-endian),
recorded per lottery, saved, loaded, pickled, shown and audited; version-1 files (no
seed strings) still load."""

from __future__ import annotations

import hashlib
import json
import pickle
import struct
import warnings
from pathlib import Path

import numpy as np
import pytest

import fastfair as ff
from fastfair._seed import seed_from_string

DATA = Path(__file__).parent / "data"


def expected_seed(text: str) -> int:
    return struct.unpack("<Q", hashlib.sha256(text.encode("utf-8")).digest()[:8])[0]


@pytest.mark.parametrize("text", ["7 12 19 23 31 42", "beacon:2026-12-01T12:00Z", "é🎲", "x"])
def test_seed_rule(text):
    assert seed_from_string(text) == expected_seed(text)


def test_string_seed_draws_like_its_int_and_is_recorded():
    scores = np.linspace(0.5, 2.0, 30)
    a, b = ff.LotteryPool("a"), ff.LotteryPool("b")
    text = "lottery numbers 3 14 15 92 65"
    wa = a.run_lottery(scores, 9, seed=text)
    wb = b.run_lottery(scores, 9, seed=expected_seed(text))
    assert wa.tolist() == wb.tolist()
    assert int(a.seeds[-1]) == expected_seed(text)
    assert a.seed_strings == [text] and b.seed_strings == [None]
    a.run_lottery(scores, 9, seed=5)
    a.run_lottery(scores, 9, seed=np.random.default_rng(1))
    a.run_lottery(scores, 9, seed="second string")
    assert a.seed_strings == [text, None, None, "second string"]
    assert "last_seed='second string'" in repr(a)
    info = a.lottery_info(0)
    assert info == {"lottery": 1, "k": 9, "entrants": 30, "pool_size": 30,
                    "seed": expected_seed(text), "seed_string": text, "divisions": None}
    assert a.lottery_info()["lottery"] == 4
    assert a.lottery_info(1)["seed_string"] is None
    with pytest.raises(IndexError):
        a.lottery_info(4)
    assert a.verify()


def test_string_seed_persists(tmp_path):
    pool = ff.LotteryPool("s")
    pool.run_lottery(np.ones(10), 3, seed="année 2026 🏃")
    pool.run_lottery(np.ones(10), 3, seed=1)
    pool.save(tmp_path / "p.ffl")
    loaded = ff.LotteryPool.load(tmp_path / "p.ffl")
    assert loaded.seed_strings == ["année 2026 🏃", None]
    assert loaded.verify()
    clone = pickle.loads(pickle.dumps(pool))
    assert clone.seed_strings == pool.seed_strings and clone.verify()


@pytest.mark.parametrize("bad,exc", [("", ValueError), ("\ud800", ValueError),
                                     ("x" * 70_000, ValueError), (b"abc", TypeError),
                                     (1.5, TypeError)])
def test_bad_seed_changes_nothing(bad, exc):
    pool = ff.LotteryPool()
    pool.run_lottery(np.ones(5), 2, seed=0)
    with pytest.raises(exc, match="seed"):
        pool.run_lottery(np.ones(5), 2, seed=bad)
    assert pool.n_lotteries == 1 and pool.seed_strings == [None]


def test_a_tampered_seed_string_fails_the_audit():
    pool = ff.LotteryPool()
    pool.run_lottery(np.ones(8), 2, seed="honest")
    st = pool.__getstate__()
    st["seed_strings"] = ["a string we liked better"]
    forged = ff.LotteryPool()
    forged.__setstate__(st)
    report = forged.verify()
    assert not report and report.mismatches[0][0] == 0
    assert "seed string" in report.mismatches[0][1]


def test_seed_strings_state_is_checked():
    pool = ff.LotteryPool()
    pool.run_lottery(np.ones(8), 2, seed="a")
    for bad in (["a", "b"], [3], "a"):
        st = pool.__getstate__()
        st["seed_strings"] = bad
        with pytest.raises(ValueError):
            ff.LotteryPool().__setstate__(st)


def v1_recipe(ids: bool) -> ff.LotteryPool:
    """The code that made tests/data/pool_v1_*.ffl with fastfair's format-1 release."""
    pool = ff.LotteryPool("v1 fixture" + (" ids" if ids else ""))
    rng = np.random.default_rng(11)
    n = 6
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for t in range(4):
            n += 2
            s = np.round(rng.lognormal(0, 1, n), 3) * (rng.random(n) < 0.8)
            k = int((s > 0).sum()) // 2
            pool.run_lottery(s, k, seed=1000 + t,
                             ids=[f"r{i}" for i in range(n)] if ids else None)
    return pool


def dense_v1(path):
    """The dense matrices stored in a version-1 file, parsed independently."""
    data = path.read_bytes()
    _, version, hlen = struct.unpack_from("<8sIQ", data, 0)
    header = json.loads(data[20 : 20 + hlen])
    t, v = header["n_lotteries"], header["n_values"]
    off = 20 + hlen
    lengths = np.frombuffer(data, "<i8", t, off)
    ks = np.frombuffer(data, "<i8", t, off + 8 * t)
    seeds = np.frombuffer(data, "<u8", t, off + 16 * t)
    off += 24 * t
    cols = [np.frombuffer(data, "<f8", v, off), np.frombuffer(data, "<f8", v, off + 8 * v),
            np.frombuffer(data, "i1", v, off + 16 * v)]
    n = header["n_entrants"]
    mats = [np.zeros((n, t), c.dtype) for c in cols]
    start = 0
    for j, length in enumerate(lengths):
        for m, c in zip(mats, cols):
            m[:length, j] = c[start : start + length]
        start += length
    return version, header, ks, seeds, mats


@pytest.mark.parametrize("ids", [False, True])
def test_version_1_files_still_load(tmp_path, ids):
    path = DATA / ("pool_v1_ids.ffl" if ids else "pool_v1_positional.ffl")
    version, header, ks, seeds, (scores, pi, won) = dense_v1(path)
    assert version == 1
    old = ff.LotteryPool.load(path)
    new = v1_recipe(ids)  # the code that made the fixture: same inputs
    assert old.name == new.name == header["name"] and old.ids == new.ids == header["ids"]
    assert old.scores.tobytes() == scores.tobytes() == new.scores.tobytes()
    assert old.win_probabilities.tobytes() == pi.tobytes()
    assert old.winners.tobytes() == won.tobytes()
    assert old.seeds.tolist() == seeds.tolist() and old.lottery_sizes.tolist() == ks.tolist()
    assert old.seed_strings == [None] * 4 and old.retired == []
    assert np.allclose(old.win_probabilities, new.win_probabilities, rtol=0, atol=1e-12)
    # Every recorded draw replays from its recorded probabilities and seed. The
    # probabilities themselves were computed by the kernels of the release that wrote
    # the file; later kernel changes (shift-invariant projection, rescaled deserved
    # seats) may re-derive them differently in the last ulp, which verify() reports.
    report = old.verify()
    assert all("probabilities differ" in m for _, m in report.mismatches), report
    old.save(tmp_path / "re.ffl")  # re-saved in the current version
    data = (tmp_path / "re.ffl").read_bytes()
    assert struct.unpack_from("<I", data, 8)[0] == ff.pool.SAVE_VERSION > 1
    again = ff.LotteryPool.load(tmp_path / "re.ffl")
    assert again.win_probabilities.tobytes() == old.win_probabilities.tobytes()
    assert again.winners.tobytes() == old.winners.tobytes()


def test_version_1_pickle_state_still_loads():
    pool = v1_recipe(False)
    st = pool.__getstate__()
    st["format"] = 1
    del st["seed_strings"]
    clone = ff.LotteryPool()
    clone.__setstate__(st)
    assert clone.seed_strings == [None] * 4 and clone.verify()
