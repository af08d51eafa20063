"""Helpers for the hostile-input tests: craft pool files with a recomputed (valid)
SHA-256, so only the loader's own checks stand between them and the C++ core."""

from __future__ import annotations

import hashlib
import json
import struct
import warnings
from pathlib import Path
from typing import Any, Optional

import numpy as np

import fastfair as ff

MAGIC = b"FFLOTPL\x00"
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


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
