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


def arrays_v4(seats: list[int], codes: list[int], base: Optional[bytes] = None) -> bytes:
    """Raw version-4 arrays: one valid 4-entry version-3 lottery (k = 0) plus the
    division seats and codes."""
    ok = arrays_v3([4], [4], [0], [0, 1, 2, 3]) if base is None else base
    return ok + np.asarray(seats, "<i8").tobytes() + np.asarray(codes, "<u2").tobytes()


def header4(**kw: Any) -> dict[str, Any]:
    h = header3(n_lotteries=1, division_labels=[["A", "B"]], n_division_k=2,
                n_division_codes=4)
    h.update(kw)
    return h


def v4_files():
    """Version-4 (divided) files with a valid checksum."""
    ok = arrays_v4([0, 0], [0, 1, 0, 1])
    yield "v4 valid", craft(header4(), ok, version=4)
    yield "v4 code out of range", craft(header4(), arrays_v4([0, 0], [0, 1, 2, 1]), version=4)
    yield "v4 code 65535", craft(header4(), arrays_v4([0, 0], [0, 1, 65535, 1]), version=4)
    yield "v4 seats above entrants", craft(header4(), arrays_v4([3, 0], [0, 1, 0, 1]),
                                           version=4)
    yield "v4 negative seats", craft(header4(), arrays_v4([-1, 1], [0, 1, 0, 1]), version=4)
    yield "v4 seats without winners", craft(
        header4(), arrays_v4([1, 0], [0, 1, 0, 1],
                             arrays_v3([4], [4], [1], [0, 1, 2, 3])), version=4)
    yield "v4 fewer codes than entries", craft(
        header4(n_division_codes=3), arrays_v4([0, 0], [0, 1, 0]), version=4)
    yield "v4 more codes than entries", craft(
        header4(n_division_codes=5), arrays_v4([0, 0], [0, 1, 0, 1, 0]), version=4)
    yield "v4 labels and seats differ", craft(
        header4(division_labels=[["A", "B", "C"]]), ok, version=4)
    yield "v4 labels unsorted", craft(header4(division_labels=[["B", "A"]]), ok, version=4)
    yield "v4 labels duplicated", craft(header4(division_labels=[["A", "A"]]), ok, version=4)
    yield "v4 label empty", craft(header4(division_labels=[["", "A"]]), ok, version=4)
    yield "v4 label not str", craft(header4(division_labels=[[1, 2]]), ok, version=4)
    yield "v4 labels empty list", craft(
        header4(division_labels=[[]], n_division_k=0, n_division_codes=0),
        arrays_v4([], []), version=4)
    yield "v4 labels not a list", craft(header4(division_labels={"A": 1}), ok, version=4)
    yield "v4 labels one too many", craft(
        header4(division_labels=[["A", "B"], None]), ok, version=4)
    yield "v4 no labels", craft(
        {k: v for k, v in header4().items() if k != "division_labels"}, ok, version=4)
    yield "v4 null labels with seats", craft(header4(division_labels=None), ok, version=4)
    yield "v4 huge n_division_k", craft(header4(n_division_k=2**61), ok, version=4)
    yield "v4 negative n_division_codes", craft(header4(n_division_codes=-4), ok, version=4)
    yield "v4 n_division_k float", craft(header4(n_division_k=2.0), ok, version=4)
    yield "v4 70000 divisions", craft(
        header4(division_labels=[[f"{j:06d}" for j in range(70000)]], n_division_k=70000),
        arrays_v4([0] * 70000, [0, 1, 0, 1]), version=4)


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
    return [c for c in [*crafted_files(), *v3_files(), *v4_files(), *saved_variants()]
            if c[0] not in ("v3 valid", "v4 valid")]
