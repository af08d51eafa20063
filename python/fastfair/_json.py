"""Lossless JSON for the ``state`` dicts of fastfair's stateful objects.

A state is a tree of dicts (str keys), lists, str, int, float, bool, None, NumPy scalars
and NumPy arrays. JSON has no arrays with a dtype and no NaN/infinity, so:

* a NumPy array becomes ``{"__ndarray__": dtype, "shape": [...], "data": [...]}`` with
  the entries flattened in C order; float arrays whose entries are all finite store
  them as JSON numbers (Python writes the shortest repr that reads back to the same
  double, so the round trip is bit-exact, ``-0.0`` included), others store every entry
  as ``float.hex`` text (``"inf"``, ``"nan"`` and ``"-0x1.8p+1"`` all read back exactly);
* a float that is not finite becomes ``{"__float__": float.hex(x)}``;
* ints (also uint64 seeds up to 2**64 - 1) are JSON integers of any size;
* a tuple is stored as a list (states contain none; they would read back as lists).

The document is ``{"format": "fastfair-state", "version": 1, "type": <class name>,
"state": <encoded state>}``; :func:`loads` checks the format, version and type before
decoding, and every malformed document is a ``ValueError``.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

__all__ = ["dumps", "loads", "encode", "decode"]

FORMAT = "fastfair-state"
VERSION = 1
_ARRAY = "__ndarray__"
_FLOAT = "__float__"
_DTYPES = frozenset(
    ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
     "float32", "float64"]
)


def encode(obj: Any) -> Any:
    """``obj`` as a tree of JSON-native values (see the module docstring)."""
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, np.ndarray):
        return _encode_array(obj)
    if isinstance(obj, np.generic):
        return encode(obj.item())
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        return float(obj) if math.isfinite(obj) else {_FLOAT: float(obj).hex()}
    if isinstance(obj, dict):
        out: dict[str, Any] = {}
        for key, value in obj.items():
            if not isinstance(key, str):
                msg = f"state keys must be str, got {type(key).__name__}"
                raise TypeError(msg)
            out[key] = encode(value)
        return out
    if isinstance(obj, (list, tuple)):
        return [encode(x) for x in obj]
    msg = f"cannot encode a {type(obj).__name__} in a fastfair state"
    raise TypeError(msg)


def _encode_array(arr: np.ndarray) -> dict[str, Any]:
    name = arr.dtype.name
    if name not in _DTYPES:
        msg = f"cannot encode an array of dtype {arr.dtype} in a fastfair state"
        raise TypeError(msg)
    flat = np.ascontiguousarray(arr).reshape(-1)
    out: dict[str, Any] = {_ARRAY: name, "shape": list(arr.shape)}
    if arr.dtype.kind == "f" and not np.isfinite(flat).all():
        out["hex"] = True
        out["data"] = [float(x).hex() for x in flat.tolist()]
    else:
        out["data"] = flat.tolist()
    return out


def decode(obj: Any) -> Any:
    """Inverse of :func:`encode`."""
    if isinstance(obj, dict):
        if _ARRAY in obj:
            return _decode_array(obj)
        if _FLOAT in obj:
            if set(obj) != {_FLOAT} or not isinstance(obj[_FLOAT], str):
                msg = "malformed float in state JSON"
                raise ValueError(msg)
            return _from_hex(obj[_FLOAT])
        return {key: decode(value) for key, value in obj.items()}
    if isinstance(obj, list):
        return [decode(x) for x in obj]
    return obj


def _from_hex(text: str) -> float:
    try:
        return float.fromhex(text)
    except (ValueError, OverflowError):
        msg = f"malformed hex float {text!r} in state JSON"
        raise ValueError(msg) from None


def _decode_array(obj: dict[str, Any]) -> np.ndarray:
    name, shape, data = obj.get(_ARRAY), obj.get("shape"), obj.get("data")
    if name not in _DTYPES:
        msg = f"unsupported array dtype {name!r} in state JSON"
        raise ValueError(msg)
    if (not isinstance(shape, list) or not all(
            isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in shape)
            or not isinstance(data, list)):
        msg = "malformed array in state JSON"
        raise ValueError(msg)
    if math.prod(shape) != len(data):
        msg = f"array data has {len(data)} entries, shape {shape} needs {math.prod(shape)}"
        raise ValueError(msg)
    dtype = np.dtype(name)
    if obj.get("hex"):
        if dtype.kind != "f" or not all(isinstance(x, str) for x in data):
            msg = "malformed hex array in state JSON"
            raise ValueError(msg)
        values: list[Any] = [_from_hex(x) for x in data]
    else:
        values = data
        kinds = (bool,) if dtype.kind == "b" else (int,) if dtype.kind in "iu" else (int, float)
        for x in values:
            if not isinstance(x, kinds) or (dtype.kind != "b" and isinstance(x, bool)):
                msg = f"array of dtype {name} holds a {type(x).__name__} in state JSON"
                raise ValueError(msg)
    try:
        arr = np.array(values, dtype=dtype)
    except OverflowError:
        msg = f"array value out of range for dtype {name} in state JSON"
        raise ValueError(msg) from None
    return arr.reshape(shape)


def dumps(type_name: str, state: Any, indent: int | None = None) -> str:
    """The JSON document of ``state`` for an object of class ``type_name``."""
    doc = {"format": FORMAT, "version": VERSION, "type": type_name, "state": encode(state)}
    return json.dumps(doc, indent=indent, allow_nan=False)


def loads(text: str | bytes, type_name: str) -> Any:
    """The state stored by :func:`dumps`; ``ValueError`` unless it is for ``type_name``."""
    if not isinstance(text, (str, bytes, bytearray)):
        msg = f"text must be a str or bytes of JSON, got {type(text).__name__}"
        raise TypeError(msg)
    try:
        doc = json.loads(text, parse_constant=_reject_constant)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        msg = f"not a fastfair state JSON document: {exc}"
        raise ValueError(msg) from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        msg = "not a fastfair state JSON document (missing format 'fastfair-state')"
        raise ValueError(msg)
    if doc.get("version") != VERSION:
        msg = f"unsupported fastfair state JSON version {doc.get('version')!r}"
        raise ValueError(msg)
    if doc.get("type") != type_name:
        msg = f"this JSON holds a {doc.get('type')!r} state, not a {type_name!r}"
        raise ValueError(msg)
    if "state" not in doc:
        msg = "fastfair state JSON has no 'state'"
        raise ValueError(msg)
    return decode(doc["state"])


def _reject_constant(name: str) -> Any:
    msg = f"state JSON must not contain {name} (non-finite floats are stored as hex)"
    raise ValueError(msg)
