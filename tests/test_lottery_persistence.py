"""LotteryPool save/load and pickle: lossless, atomic, versioned, checksummed, and a
restored pool continues exactly like the original."""

from __future__ import annotations

import copy
import os
import pickle
import struct
import warnings

import numpy as np
import pytest

import fastfair as ff
from fastfair import lottery as lot
from fastfair.pool import fileformat


def build_pool(lotteries: int = 7, seed: int = 0, ids: bool = False) -> ff.LotteryPool:
    rng = np.random.default_rng(seed)
    pool = ff.LotteryPool("persist")
    n = 8
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for t in range(lotteries):
            n += int(rng.integers(0, 3))
            s = rng.lognormal(0, 1, n) * (rng.random(n) < 0.85)
            k = int(rng.integers(0, int((s > 0).sum()) + 1))
            names = [f"e{i}" for i in range(n)] if ids else None
            pool.run_lottery(s, k, seed=int(rng.integers(2**64, dtype=np.uint64)),
                             ids=names)
    return pool


def assert_identical(a: ff.LotteryPool, b: ff.LotteryPool) -> None:
    assert a.name == b.name and a.ids == b.ids
    for name in ("scores", "win_probabilities", "winners", "deserved", "lottery_sizes",
                 "seeds", "cumulative_deserved", "wins"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and x.shape == y.shape, name
        assert x.tobytes() == y.tobytes(), name  # bit-exact


def continue_both(a: ff.LotteryPool, b: ff.LotteryPool, seed: int = 99) -> None:
    rng = np.random.default_rng(seed)
    n = a.n_entrants + 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for t in range(5):
            s = rng.random(n) + 0.01
            ids = None if a.ids is None else [f"e{i}" for i in range(n)]
            wa = a.run_lottery(s, 4, seed=t, ids=ids)
            wb = b.run_lottery(s, 4, seed=t, ids=ids)
            assert wa.tolist() == wb.tolist()
    assert_identical(a, b)


@pytest.mark.parametrize("ids", [False, True])
def test_save_load_round_trip_and_continue(tmp_path, ids):
    pool = build_pool(ids=ids)
    path = tmp_path / "pool.ffl"
    pool.save(path)
    loaded = ff.LotteryPool.load(path)
    assert_identical(pool, loaded)
    assert loaded.verify()
    continue_both(pool, loaded)
    # no temporary files are left behind
    assert [p.name for p in tmp_path.iterdir()] == ["pool.ffl"]


def test_save_empty_pool(tmp_path):
    pool = ff.LotteryPool("empty")
    pool.save(str(tmp_path / "e.ffl"))
    loaded = ff.LotteryPool.load(str(tmp_path / "e.ffl"))
    assert loaded.n_lotteries == 0 and loaded.name == "empty"


@pytest.mark.parametrize("ids", [False, True])
def test_pickle_round_trip_mid_history(ids):
    pool = build_pool(lotteries=5, seed=3, ids=ids)
    restored = pickle.loads(pickle.dumps(pool))
    assert_identical(pool, restored)
    continue_both(pool, restored)
    deep = copy.deepcopy(pool)
    assert_identical(pool, deep)
    continue_both(pool, deep, seed=5)


def test_save_overwrites_atomically(tmp_path, monkeypatch):
    path = tmp_path / "pool.ffl"
    old = build_pool(3)
    old.save(path)
    before = path.read_bytes()

    def broken_replace(src, dst):
        raise OSError("disk gone")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk gone"):
        build_pool(6).save(path)
    assert path.read_bytes() == before  # old file intact
    assert [p.name for p in tmp_path.iterdir()] == ["pool.ffl"]  # temp removed


def test_corrupt_and_truncated_files_are_rejected(tmp_path):
    pool = build_pool(4)
    path = tmp_path / "pool.ffl"
    pool.save(path)
    data = path.read_bytes()
    cases = {
        "flip": data[:100] + bytes([data[100] ^ 1]) + data[101:],
        "truncated": data[:-10],
        "short": data[:20],
        "empty": b"",
        "magic": b"NOTAPOOL" + data[8:],
    }
    for name, blob in cases.items():
        bad = tmp_path / f"{name}.ffl"
        bad.write_bytes(blob)
        with pytest.raises(ValueError, match="corrupt|truncated|not a fastfair"):
            ff.LotteryPool.load(bad)


def test_unknown_version_is_rejected(tmp_path):
    path = tmp_path / "pool.ffl"
    build_pool(2).save(path)
    data = bytearray(path.read_bytes())
    struct.pack_into("<I", data, 8, 99)
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="version 99"):
        ff.LotteryPool.load(path)


def test_valid_checksum_but_inconsistent_content_is_rejected(tmp_path):
    # a file whose checksum is right but whose records are not (k != #winners)
    import hashlib

    path = tmp_path / "pool.ffl"
    build_pool(3).save(path)
    data = bytearray(path.read_bytes()[:-32])
    _, _, header_len = fileformat._HEAD.unpack_from(data, 0)
    t_count = 3
    k_off = fileformat._HEAD.size + header_len + 16 * t_count  # after sizes, lengths
    struct.pack_into("<q", data, k_off, 10**6)
    data += hashlib.sha256(data).digest()
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="corrupt"):
        ff.LotteryPool.load(path)


def test_file_layout_is_as_documented(tmp_path):
    pool = build_pool(2, ids=True)
    path = tmp_path / "pool.ffl"
    pool.save(path)
    data = path.read_bytes()
    magic, version, header_len = struct.unpack_from("<8sIQ", data, 0)
    assert magic == b"FFLOTPL\x00" and version == 3
    import hashlib
    import json

    header = json.loads(data[20 : 20 + header_len])
    assert header["name"] == "persist" and header["ids"] == pool.ids
    assert header["seed_strings"] == [None, None] and header["retired"] == []
    assert header["n_lotteries"] == 2 and header["n_entrants"] == pool.n_entrants
    assert data[-32:] == hashlib.sha256(data[:-32]).digest()
    total = header["n_values"]
    # only entrants are stored: V = total entries with a score > 0
    assert total == int((pool.scores > 0).sum())
    assert len(data) == 20 + header_len + 4 * 8 * 2 + (4 + 8 + 8 + 1) * total + 32


def test_bad_pickle_state_is_rejected():
    st = build_pool(2).__getstate__()
    st["format"] = 42
    p = ff.LotteryPool.__new__(ff.LotteryPool)
    with pytest.raises(ValueError, match="format"):
        p.__setstate__(st)


def test_save_keeps_the_permissions_of_the_replaced_file(tmp_path):
    import os
    import stat

    path = tmp_path / "pool.ffl"
    pool = ff.LotteryPool("perm")
    pool.run_lottery(np.ones(4), 2, seed=1)
    pool.save(path)
    os.chmod(path, 0o640)
    pool.run_lottery(np.ones(4), 2, seed=2)
    pool.save(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["pool.ffl"]  # no temp file left
    # a new file gets the usual umask default, not mkstemp's owner-only 0600
    umask = os.umask(0)
    os.umask(umask)
    fresh = tmp_path / "fresh.ffl"
    pool.save(fresh)
    assert stat.S_IMODE(os.stat(fresh).st_mode) == 0o666 & ~umask
