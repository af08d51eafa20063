"""Helpers for the hostile-input tests: craft pool files with a recomputed (valid)
SHA-256, so only the loader's own checks stand between them and the C++ core."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import struct
import warnings
from pathlib import Path
from typing import Any, Optional

import numpy as np

import fastfair as ff

MAGIC = b"FFLOTPL\x00"
OVERFLOW = [4, 2**62, 2**62, 2**62, 2**62]  # sums to 4 modulo 2**64
HEAD = struct.Struct("<8sIQ")


def small_pool(lotteries: int = 3, ids: bool = False) -> ff.LotteryPool:
    pool = ff.LotteryPool("hostile")
    rng = np.random.default_rng(7)
    n = 5
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for t in range(lotteries):
            n += 1
            s = rng.random(n) + 0.1
            pool.run_lottery(s, 2, seed=t, ids=[f"p{i}" for i in range(n)] if ids else None)
    return pool


def split(data: bytes) -> tuple[int, dict[str, Any], bytes]:
    """(version, header, array bytes) of a saved file."""
    _, version, hlen = HEAD.unpack_from(data, 0)
    header = json.loads(data[HEAD.size : HEAD.size + hlen])
    return version, header, data[HEAD.size + hlen : -32]


def craft(
    header: Any = None,
    arrays: bytes = b"",
    *,
    version: int = 1,
    raw_header: Optional[bytes] = None,
    header_len: Optional[int] = None,
) -> bytes:
    """A pool file with the given header and array bytes and a valid checksum."""
    hb = raw_header if raw_header is not None else json.dumps(header).encode("ascii")
    hl = len(hb) if header_len is None else header_len
    body = HEAD.pack(MAGIC, version, hl) + hb + arrays
    return body + hashlib.sha256(body).digest()


def resum(data: bytes) -> bytes:
    """``data`` with its trailing checksum recomputed."""
    body = data[:-32]
    return body + hashlib.sha256(body).digest()


def arrays_bytes(lengths: list[int], ks: list[int], seeds: list[int], n_values: int,
                 scores: Optional[np.ndarray] = None) -> bytes:
    """Raw arrays: lengths, k, seeds, then ``n_values`` scores/probabilities/winners."""
    s = np.full(n_values, 1.0) if scores is None else scores
    return (
        np.asarray(lengths, "<i8").tobytes()
        + np.asarray(ks, "<i8").tobytes()
        + np.asarray(seeds, "<u8").tobytes()
        + np.asarray(s, "<f8").tobytes()
        + np.zeros(n_values, "<f8").tobytes()
        + np.zeros(n_values, "i1").tobytes()
    )


def arrays_v3(sizes: list[int], lengths: list[int], ks: list[int], positions: list[int],
              n_values: Optional[int] = None) -> bytes:
    """Raw version-3 arrays (sparse columns); scores 1, probabilities 0, no winners."""
    v = len(positions) if n_values is None else n_values
    return (
        np.asarray(sizes, "<u8").tobytes()
        + np.asarray(lengths, "<i8").tobytes()
        + np.asarray(ks, "<i8").tobytes()
        + np.zeros(len(lengths), "<u8").tobytes()
        + np.asarray(positions, "<u4").tobytes()
        + np.ones(v, "<f8").tobytes()
        + np.zeros(v, "<f8").tobytes()
        + np.zeros(v, "i1").tobytes()
    )


def header3(**kw: Any) -> dict[str, Any]:
    h = header(seed_strings=[None] * kw.get("n_lotteries", 5), retired=[])
    h.update(kw)
    return h


def v3_files():
    """Version-3 (sparse) files with a valid checksum."""
    ok = arrays_v3([4], [4], [0], [0, 1, 2, 3])
    yield "v3 valid", craft(header3(n_lotteries=1), ok, version=3)
    yield "v3 overflowing lengths", craft(
        header3(), arrays_v3([8] * 5, OVERFLOW, [0] * 5, [0, 1, 2, 3]), version=3)
    yield "v3 positions not increasing", craft(
        header3(n_lotteries=1), arrays_v3([4], [4], [0], [3, 2, 1, 0]), version=3)
    yield "v3 position past the pool", craft(
        header3(n_lotteries=1), arrays_v3([4], [4], [0], [0, 1, 2, 9]), version=3)
    yield "v3 huge pool size", craft(
        header3(n_lotteries=1, n_entrants=2**62), arrays_v3([2**62], [4], [0], [0, 1, 2, 3]),
        version=3)
    yield "v3 shrinking pool", craft(
        header3(n_lotteries=2, n_values=4), arrays_v3([4, 2], [2, 2], [0, 0], [0, 1, 0, 1]),
        version=3)
    yield "v3 retired out of range", craft(
        header3(n_lotteries=1, retired=[[7, 0]]), ok, version=3)
    yield "v3 retired wrong type", craft(
        header3(n_lotteries=1, retired=[["a", 0]]), ok, version=3)
    yield "v3 retired missing", craft(
        {k: v for k, v in header3(n_lotteries=1).items() if k != "retired"}, ok, version=3)
    yield "v3 huge n_values", craft(header3(n_lotteries=1, n_values=2**61), ok, version=3)


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def header(**kw):
    h = {"name": "x", "ids": None, "n_entrants": 4, "n_lotteries": 5, "n_values": 4}
    h.update(kw)
    return h


def crafted_files():
    """(name, bytes) of crafted files, each with a recomputed valid checksum."""
    ok = arrays_bytes([4], [0], [0], 4)
    over = arrays_bytes(OVERFLOW, [0] * 5, [0] * 5, 4)
    yield "overflowing lengths", craft(header(), over)
    yield "negative length", craft(
        header(n_lotteries=2), arrays_bytes([-4, 8], [0, 0], [0, 0], 4))
    yield "huge n_values", craft(header(n_lotteries=1, n_values=2**62), ok)
    yield "huge n_lotteries", craft(header(n_lotteries=2**61), ok)
    yield "n_values Infinity", craft(
        raw_header=b'{"name": "x", "ids": null, "n_entrants": 4, "n_lotteries": 1, '
                   b'"n_values": Infinity}', arrays=ok)
    yield "n_lotteries NaN", craft(
        raw_header=b'{"name": "x", "ids": null, "n_entrants": 4, "n_lotteries": NaN, '
                   b'"n_values": 4}', arrays=ok)
    yield "n_lotteries 1e400", craft(
        raw_header=b'{"name": "x", "ids": null, "n_entrants": 4, "n_lotteries": 1e400, '
                   b'"n_values": 4}', arrays=ok)
    yield "n_lotteries 10**5000", craft(
        raw_header=b'{"name": "x", "ids": null, "n_entrants": 4, "n_lotteries": '
                   + b"9" * 5000 + b', "n_values": 4}', arrays=ok)
    yield "negative n_values", craft(header(n_lotteries=1, n_values=-4), ok)
    yield "n_lotteries float", craft(header(n_lotteries=1.0), ok)
    yield "n_lotteries string", craft(header(n_lotteries="1"), ok)
    yield "n_lotteries bool", craft(header(n_lotteries=True), ok)
    yield "n_entrants wrong", craft(header(n_lotteries=1, n_entrants=9), ok)
    yield "name not str", craft(header(n_lotteries=1, name=[1]), ok)
    yield "ids not list", craft(header(n_lotteries=1, ids={"a": 1}), ok)
    yield "ids ints", craft(header(n_lotteries=1, ids=[1, 2, 3, 4]), ok)
    yield "ids duplicated", craft(header(n_lotteries=1, ids=["a", "a", "b", "c"]), ok)
    yield "ids too few", craft(header(n_lotteries=1, ids=["a"]), ok)
    yield "header a list", craft([1, 2, 3], ok)
    yield "header missing keys", craft({"name": "x"}, ok)
    yield "deep nesting", craft(raw_header=b"[" * 100_000 + b"]" * 100_000, arrays=ok)
    yield "deep nesting in ids", craft(
        raw_header=b'{"name": "x", "ids": ' + b"[" * 50_000 + b"]" * 50_000
        + b', "n_entrants": 4, "n_lotteries": 1, "n_values": 4}', arrays=ok)
    yield "non-ASCII header", craft(raw_header=b'{"name": "\xff\xfe"}', arrays=ok)
    yield "header length past the end", craft(header(n_lotteries=1), ok,
                                                 header_len=2**62)
    yield "NaN scores", craft(header(n_lotteries=1), arrays_bytes(
        [4], [0], [0], 4, scores=np.array([np.nan, 1, 1, 1])))
    yield "k above entrants", craft(header(n_lotteries=1),
                                       arrays_bytes([4], [9], [0], 4))
    yield "trailing bytes", craft(header(n_lotteries=1), ok + b"\0" * 8)
    yield "v2 seed_strings not a list", craft(header(n_lotteries=1, seed_strings=5), ok,
                                              version=2)
    yield "v2 seed_strings of ints", craft(header(n_lotteries=1, seed_strings=[7]), ok,
                                           version=2)
    yield "v2 without seed_strings", craft(header(n_lotteries=1), ok, version=2)
    yield "unknown version", craft(header(n_lotteries=1), ok, version=77)


def saved_variants():
    pool = small_pool(ids=True)
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "p.ffl")
        pool.save(p)
        with open(p, "rb") as fh:
            data = fh.read()
    yield "truncated", data[: len(data) // 2]
    yield "truncated with checksum", resum(data[: len(data) // 2] + b"\0" * 32)
    yield "empty", b""
    yield "magic only", data[:8]
    rng = np.random.default_rng(5)
    for j in range(4):
        flipped = bytearray(data)
        pos = int(rng.integers(8, len(data) - 32))
        flipped[pos] ^= 1 << int(rng.integers(8))
        yield f"bit flip {j}", bytes(flipped)
        yield f"bit flip {j} with checksum", resum(bytes(flipped))


def all_cases() -> list[tuple[str, bytes]]:
    """Every hostile file: crafted with a valid checksum, plus damaged saves."""
    return [c for c in [*crafted_files(), *v3_files(), *saved_variants()]
            if c[0] != "v3 valid"]
