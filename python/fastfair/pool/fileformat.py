"""The saved pool file: magic, version, JSON header, raw arrays, SHA-256.

Layout (version 1; see docs/pool-format.md): ``_HEAD`` (magic, format version,
header length), an ASCII JSON header, the arrays ``lengths, k, seeds`` (one per
lottery) and ``scores, probabilities, winners`` (concatenated columns), then the
SHA-256 of everything before it.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from typing import IO, Any, Union

import numpy as np

from .._atomic import atomic_write

PathLike = Union[str, "os.PathLike[str]"]

#: First bytes of a saved pool.
SAVE_MAGIC = b"FFLOTPL\x00"
#: Version of the save format written by this release (docs/pool-format.md).
SAVE_VERSION = 1
_HEAD = struct.Struct("<8sIQ")  # magic, format version, header length
_DIGEST = 32  # SHA-256

#: (state key, file dtype, length: per lottery "t" or per value "v"), in file order.
_ARRAYS = (
    ("lengths", "<i8", "t"),
    ("k", "<i8", "t"),
    ("seeds", "<u8", "t"),
    ("scores", "<f8", "v"),
    ("probabilities", "<f8", "v"),
    ("winners", "i1", "v"),
)


def _write(fh: IO[bytes], digest: Any, chunk: bytes) -> None:
    digest.update(chunk)
    fh.write(chunk)


def save_state(path: PathLike, st: dict[str, Any], n_entrants: int) -> None:
    """Write the state ``st`` (as built by ``LotteryPool._state``) atomically."""
    arrays = [np.ascontiguousarray(st[key], dtype=dt) for key, dt, _ in _ARRAYS]
    header = json.dumps(
        {
            "name": st["name"],
            "ids": st["ids"],
            "n_entrants": int(n_entrants),
            "n_lotteries": int(arrays[0].size),
            "n_values": int(arrays[3].size),
        },
        ensure_ascii=True,
    ).encode("ascii")
    with atomic_write(path, "wb") as fh:
        digest = hashlib.sha256()
        _write(fh, digest, _HEAD.pack(SAVE_MAGIC, SAVE_VERSION, len(header)))
        _write(fh, digest, header)
        for a in arrays:
            _write(fh, digest, a.tobytes())
        fh.write(digest.digest())


def load_state(path: PathLike) -> tuple[dict[str, Any], int]:
    """Read a saved pool: its state and the entrant count claimed by the header.

    Raises
    ------
    ValueError
        Not a pool file, unsupported version, corrupt or truncated.
    """
    with open(os.fspath(path), "rb") as fh:
        data = fh.read()
    where = f"{os.fspath(path)!r}"
    if len(data) < _HEAD.size + _DIGEST or data[:8] != SAVE_MAGIC:
        msg = f"{where} is not a fastfair lottery pool file (or is truncated)"
        raise ValueError(msg)
    magic, version, header_len = _HEAD.unpack_from(data, 0)
    if version != SAVE_VERSION:
        msg = (
            f"{where} has lottery pool format version {version}; this fastfair "
            f"reads version {SAVE_VERSION}"
        )
        raise ValueError(msg)
    body, stored = data[:-_DIGEST], data[-_DIGEST:]
    if hashlib.sha256(body).digest() != stored:
        msg = f"{where} is corrupt or truncated (SHA-256 checksum mismatch)"
        raise ValueError(msg)
    try:
        off = _HEAD.size
        header = json.loads(body[off : off + header_len].decode("ascii"))
        off += header_len
        counts = {"t": int(header["n_lotteries"]), "v": int(header["n_values"])}
        st: dict[str, Any] = {"name": str(header["name"]), "ids": header["ids"]}
        for key, dtype, per in _ARRAYS:
            count = counts[per]
            size = np.dtype(dtype).itemsize * count
            if count < 0 or off + size > len(body):
                raise ValueError("arrays run past the end of the file")
            st[key] = np.frombuffer(body, dtype=dtype, count=count, offset=off).copy()
            off += size
        if off != len(body):
            raise ValueError("unexpected bytes after the arrays")
        n_entrants = int(header["n_entrants"])
    except (KeyError, TypeError, ValueError, UnicodeDecodeError) as exc:
        msg = f"{where} is corrupt: {exc}"
        raise ValueError(msg) from None
    return st, n_entrants
