"""The saved pool file: magic, version, JSON header, raw arrays, SHA-256.

Layout (version 3; see docs/pool-format.md): ``_HEAD`` (magic, format version,
header length), an ASCII JSON header, the arrays ``sizes, lengths, k, seeds`` (one per
lottery) and ``positions, scores, probabilities, winners`` (the lotteries' sparse
columns, one after another: only each lottery's entrants), then the SHA-256 of
everything before it. Versions 1 and 2 (dense columns: one entry per member at each
lottery; version 2 added ``seed_strings``) still load and are converted. Version 4 is
version 3 plus divided lotteries (docs/divisions.md): the header's ``division_labels``
and two more arrays, ``division_k`` and ``division_codes``; it is written only for a
pool with a divided lottery, so undivided pools stay readable by older releases.

Loading is hostile-input safe: the checksum only proves the file is intact, not that
it was written by fastfair, so every count in the header is checked (an int, >= 0,
the arrays it implies fit in the file) before anything is read, and every failure
is a ValueError.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import struct
from typing import IO, Any, Union

import numpy as np

from .._atomic import atomic_write

PathLike = Union[str, "os.PathLike[str]"]

#: First bytes of a saved pool.
SAVE_MAGIC = b"FFLOTPL\x00"
#: Version of the save format written by this release for pools without divided
#: lotteries (docs/pool-format.md); unchanged by divisions.
SAVE_VERSION = 3
#: Version written for a pool with at least one divided lottery.
DIVISIONS_VERSION = 4
#: Versions this release reads (files and pickles).
READ_VERSIONS = (1, 2, 3, 4)
_HEAD = struct.Struct("<8sIQ")  # magic, format version, header length
_DIGEST = 32  # SHA-256

#: (state key, file dtype, length: per lottery "t" or per value "v"), in file order.
_ARRAYS = (
    ("sizes", "<u8", "t"),
    ("lengths", "<i8", "t"),
    ("k", "<i8", "t"),
    ("seeds", "<u8", "t"),
    ("positions", "<u4", "v"),
    ("scores", "<f8", "v"),
    ("probabilities", "<f8", "v"),
    ("winners", "i1", "v"),
)
#: Version 4 appends (count in the header: "s" seats, "c" codes):
_DIVISION_ARRAYS = (
    ("division_k", "<i8", "s"),
    ("division_codes", "<u2", "c"),
)
#: The dense layout of versions 1 and 2 (``lengths`` = pool size at each lottery).
_DENSE_ARRAYS = (
    ("lengths", "<i8", "t"),
    ("k", "<i8", "t"),
    ("seeds", "<u8", "t"),
    ("scores", "<f8", "v"),
    ("probabilities", "<f8", "v"),
    ("winners", "i1", "v"),
)


def dense_to_sparse(lengths: Any, scores: Any, pi: Any, winners: Any) -> dict[str, Any]:
    """Convert dense history columns (formats 1-2: every member at every lottery) to
    sparse ones: the entries with a score, probability or win other than 0 (all others
    are 0 by definition, so nothing is lost and every draw replays bit for bit).

    Raises
    ------
    ValueError
        A negative length, or lengths that do not add up to the arrays' size
        (checked in Python integers: no overflow).
    """
    v = int(scores.size)
    if pi.size != v or winners.size != v:
        msg = "history columns differ in length"
        raise ValueError(msg)
    if lengths.size and (int(lengths.min()) < 0 or int(lengths.max()) > v):
        msg = "a column length is negative or larger than the history"
        raise ValueError(msg)
    if sum(int(x) for x in lengths) != v:
        msg = "history columns do not match their lengths"
        raise ValueError(msg)
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(np.int64)
    lottery = np.repeat(np.arange(lengths.size, dtype=np.int64), lengths)
    keep = (scores != 0) | (pi != 0) | (winners != 0)
    pos = (np.arange(v, dtype=np.int64) - starts[lottery])[keep] if v else np.zeros(0, np.int64)
    return {
        "sizes": lengths.astype(np.uint64),
        "lengths": np.bincount(lottery[keep], minlength=lengths.size).astype(np.int64),
        "positions": pos.astype(np.uint32),
        "scores": scores[keep],
        "probabilities": pi[keep],
        "winners": winners[keep],
    }


def _write(fh: IO[bytes], digest: Any, chunk: bytes) -> None:
    digest.update(chunk)
    fh.write(chunk)


def version_of(st: dict[str, Any]) -> int:
    """The version a state is saved (and pickled) in: 4 with a divided lottery, else 3."""
    labels = st.get("division_labels") or []
    return DIVISIONS_VERSION if any(x is not None for x in labels) else SAVE_VERSION


def save_state(path: PathLike, st: dict[str, Any], n_entrants: int) -> None:
    """Write the state ``st`` (as built by ``LotteryPool._state``) atomically."""
    version = version_of(st)
    layout = _ARRAYS + (_DIVISION_ARRAYS if version >= 4 else ())
    arrays = [np.ascontiguousarray(st[key], dtype=dt) for key, dt, _ in layout]
    extra: dict[str, Any] = {}
    if version >= 4:
        extra = {
            "division_labels": st["division_labels"],
            "n_division_k": int(arrays[8].size),
            "n_division_codes": int(arrays[9].size),
        }
    header = json.dumps(
        {
            "name": st["name"],
            "ids": st["ids"],
            "n_entrants": int(n_entrants),
            "n_lotteries": int(arrays[0].size),
            "n_values": int(arrays[4].size),
            "seed_strings": list(st["seed_strings"]),
            "retired": st["retired"],
            "waitlists": st.get("waitlists"),
            "declines": st.get("declines"),
            **extra,
        },
        ensure_ascii=True,
    ).encode("ascii")
    with atomic_write(path, "wb") as fh:
        digest = hashlib.sha256()
        _write(fh, digest, _HEAD.pack(SAVE_MAGIC, version, len(header)))
        _write(fh, digest, header)
        for a in arrays:
            _write(fh, digest, a.tobytes())
        fh.write(digest.digest())


def _no_constant(name: str) -> Any:
    msg = f"the header holds {name}, which is not a valid JSON number"
    raise ValueError(msg)


def _parse_header(raw: bytes) -> dict[str, Any]:
    """The JSON header: ASCII, strict JSON (no NaN/Infinity), an object."""
    try:
        header = json.loads(raw.decode("ascii"), parse_constant=_no_constant)
    except RecursionError:
        msg = "the header is nested too deeply"
        raise ValueError(msg) from None
    except UnicodeDecodeError:
        msg = "the header is not ASCII text"
        raise ValueError(msg) from None
    if not isinstance(header, dict):
        msg = f"the header must be a JSON object, got {type(header).__name__}"
        raise ValueError(msg)
    return header


def _count(header: dict[str, Any], key: str) -> int:
    """A non-negative int field of the header (bools and floats refused)."""
    if key not in header:
        msg = f"the header has no {key!r}"
        raise ValueError(msg)
    value = header[key]
    if isinstance(value, bool) or not isinstance(value, int):
        msg = f"{key!r} must be an int, got {type(value).__name__}"
        raise ValueError(msg)
    if value < 0:
        msg = f"{key!r} must be >= 0, got {value}"
        raise ValueError(msg)
    return value


def _read_regular_file(path: PathLike) -> bytes:
    """The bytes of ``path``; a FIFO, device or directory is a ValueError (a FIFO
    would block, /dev/zero would never end)."""
    name = os.fspath(path)
    if not stat.S_ISREG(os.stat(name).st_mode):
        msg = f"{name!r} is not a regular file"
        raise ValueError(msg)
    with open(name, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):  # replaced meanwhile
            msg = f"{name!r} is not a regular file"
            raise ValueError(msg)
        return fh.read()


def load_state(path: PathLike) -> tuple[dict[str, Any], int]:
    """Read a saved pool: its state and the entrant count claimed by the header.

    Raises
    ------
    ValueError
        Not a pool file, unsupported version, corrupt or truncated, or any count,
        type or size in it that does not add up.
    OSError
        The file cannot be opened (missing, no permission).
    """
    data = _read_regular_file(path)
    where = f"{os.fspath(path)!r}"
    if len(data) < _HEAD.size + _DIGEST or data[:8] != SAVE_MAGIC:
        msg = f"{where} is not a fastfair lottery pool file (or is truncated)"
        raise ValueError(msg)
    _magic, version, header_len = _HEAD.unpack_from(data, 0)
    if version not in READ_VERSIONS:
        msg = (
            f"{where} has lottery pool format version {version}; this fastfair "
            f"reads versions {', '.join(map(str, READ_VERSIONS))}"
        )
        raise ValueError(msg)
    body, stored = data[:-_DIGEST], data[-_DIGEST:]
    if hashlib.sha256(body).digest() != stored:
        msg = f"{where} is corrupt or truncated (SHA-256 checksum mismatch)"
        raise ValueError(msg)
    try:
        off = _HEAD.size
        if header_len > len(body) - off:
            raise ValueError(f"the header length {header_len} runs past the end of the file")
        header = _parse_header(body[off : off + header_len])
        off += header_len
        counts = {"t": _count(header, "n_lotteries"), "v": _count(header, "n_values")}
        if version >= 4:
            counts["s"] = _count(header, "n_division_k")
            counts["c"] = _count(header, "n_division_codes")
            if "division_labels" not in header:
                raise ValueError("the header has no 'division_labels'")
        n_entrants = _count(header, "n_entrants")
        name = header.get("name")
        if not isinstance(name, str):
            raise ValueError(f"'name' must be a str, got {type(name).__name__}")
        if "ids" not in header:
            raise ValueError("the header has no 'ids'")
        if version >= 2 and "seed_strings" not in header:
            raise ValueError("the header has no 'seed_strings'")
        if version >= 3 and "retired" not in header:
            raise ValueError("the header has no 'retired'")
        layout: tuple[tuple[str, str, str], ...] = _ARRAYS if version >= 3 else _DENSE_ARRAYS
        if version >= 4:
            layout = layout + _DIVISION_ARRAYS
        # every array must fit in what is left, checked before reading any of them
        need = sum(np.dtype(dt).itemsize * counts[per] for _, dt, per in layout)
        if need != len(body) - off:
            raise ValueError(
                f"the header's counts need {need} bytes of arrays, the file has "
                f"{len(body) - off}"
            )
        st: dict[str, Any] = {
            "name": name,
            "ids": header["ids"],
            "seed_strings": header["seed_strings"] if version >= 2 else None,
            "retired": header["retired"] if version >= 3 else None,
            # optional in version 3: absent (or null) in files without waitlists
            "waitlists": header.get("waitlists"),
            "declines": header.get("declines"),
        }
        if version >= 4:
            st["division_labels"] = header["division_labels"]
        for key, dtype, per in layout:
            count = counts[per]
            st[key] = np.frombuffer(body, dtype=dtype, count=count, offset=off).copy()
            off += np.dtype(dtype).itemsize * count
        if version < 3:
            st.update(dense_to_sparse(st["lengths"], st["scores"], st["probabilities"],
                                      st["winners"]))
    except ValueError as exc:
        msg = f"{where} is corrupt: {exc}"
        raise ValueError(msg) from None
    return st, n_entrants
