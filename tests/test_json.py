"""to_json()/from_json(): lossless, exact round trips of every stateful object."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest

import fastfair as ff
from fastfair import _json


def _same(a, b):
    """Equal trees, arrays with the same dtype, shape and bits (NaN == NaN)."""
    if isinstance(a, np.ndarray):
        return (isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape
                and a.tobytes() == b.tobytes())
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(
            _same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, float):
        return isinstance(b, float) and (
            (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b)))
    return type(a) is type(b) and a == b


def test_codec_is_exact_on_awkward_values():
    rng = np.random.default_rng(0)
    tree = {
        "f": 0.1, "neg0": -0.0, "tiny": 5e-324, "big": 1.7976931348623157e308,
        "inf": math.inf, "nan": math.nan, "i": 2**64 - 1, "b": True, "none": None,
        "s": "ünïcode", "list": [1, 2.5, "x"],
        "a": rng.standard_normal((3, 4)) * 10.0 ** rng.integers(-300, 300, (3, 4)),
        "nonfinite": np.array([1.0, np.inf, -np.inf, np.nan, -0.0]),
        "u64": np.array([0, 2**64 - 1], dtype=np.uint64), "i8": np.array([-1, 1], np.int8),
        "bool": np.array([True, False]), "empty": np.zeros((0, 3)),
        "f32": np.array([0.1], np.float32), "np_scalar": np.float64(1 / 3),
    }
    text = _json.dumps("Thing", tree)
    back = _json.loads(text, "Thing")
    expected = dict(tree, np_scalar=float(tree["np_scalar"]))
    assert _same(expected, back)
    json.loads(text)  # strict JSON: no NaN/Infinity tokens
    assert "NaN" not in text and "Infinity" not in text


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("not json", "not a fastfair state JSON"),
        ("[]", "missing format"),
        ('{"format": "fastfair-state", "version": 2, "type": "T", "state": {}}', "version 2"),
        ('{"format": "fastfair-state", "version": 1, "type": "U", "state": {}}', "'U' state"),
        ('{"format": "fastfair-state", "version": 1, "type": "T"}', "no 'state'"),
        ('{"format": "fastfair-state", "version": 1, "type": "T", "state": NaN}', "NaN"),
        ('{"format": "fastfair-state", "version": 1, "type": "T", "state": '
         '{"__ndarray__": "object", "shape": [1], "data": [1]}}', "dtype 'object'"),
        ('{"format": "fastfair-state", "version": 1, "type": "T", "state": '
         '{"__ndarray__": "float64", "shape": [2], "data": [1]}}', "needs 2"),
        ('{"format": "fastfair-state", "version": 1, "type": "T", "state": '
         '{"__ndarray__": "int8", "shape": [1], "data": [300]}}', "out of range"),
        ('{"format": "fastfair-state", "version": 1, "type": "T", "state": '
         '{"__ndarray__": "int64", "shape": [1], "data": [1.5]}}', "holds a float"),
        ('{"format": "fastfair-state", "version": 1, "type": "T", "state": '
         '{"__float__": "zz"}}', "malformed hex"),
    ],
)
def test_codec_rejects_malformed_documents(text, match):
    with pytest.raises(ValueError, match=match):
        _json.loads(text, "T")


def _random_allocator(rng):
    kind = rng.integers(0, 4)
    n = int(rng.integers(1, 7))
    if kind == 0:
        obj = ff.OnlineAllocator(n, "prop", discount=[None, 0.9][int(rng.integers(0, 2))])
    elif kind == 1:
        obj = ff.OnlineAllocator(n, "ef", p=float(rng.uniform(2, 6)))
    elif kind == 2:
        levels = np.sort(rng.choice(np.arange(1, 20) / 7.0, size=3, replace=False))
        obj = ff.OnlineAllocator(n, "efk", levels=levels)
        vals = rng.choice(np.concatenate([[0.0], levels]), size=(int(rng.integers(0, 200)), n))
        return obj, vals, rng.choice(np.concatenate([[0.0], levels]), size=(50, n))
    else:
        obj = ff.PublicDecisionMaker(n, discount=[None, 0.7][int(rng.integers(0, 2))])
        shape = (int(rng.integers(0, 200)), n, 3)
        return obj, rng.exponential(size=shape), rng.exponential(size=(50, n, 3))
    return obj, rng.exponential(size=(int(rng.integers(0, 200)), n)), rng.exponential(size=(50, n))


@pytest.mark.parametrize("seed", range(24))
def test_allocator_round_trip_is_exact(seed):
    rng = np.random.default_rng(seed)
    obj, history, future = _random_allocator(rng)
    if len(history):
        obj.run(history)
    text = obj.to_json()
    again = type(obj).from_json(text)
    assert type(again) is type(obj)
    assert _same(obj.state, again.state)
    assert again.to_json() == text
    assert np.array_equal(obj.run(future), again.run(future))
    assert _same(obj.state, again.state)
    assert obj.bound() == again.bound() and obj.potential == again.potential


def test_allocator_from_json_checks_the_type():
    text = ff.OnlineAllocator(2).to_json()
    with pytest.raises(ValueError, match="'OnlineAllocator' state, not a 'PublicDecisionMaker'"):
        ff.PublicDecisionMaker.from_json(text)
    with pytest.raises(TypeError, match="text must be"):
        ff.OnlineAllocator.from_json(3)


@pytest.mark.parametrize("seed", range(12))
def test_pool_round_trip_is_exact(seed):
    rng = np.random.default_rng(100 + seed)
    use_ids = bool(seed % 2)
    pool = ff.LotteryPool(f"pool {seed}")
    n = int(rng.integers(3, 30))
    for _ in range(int(rng.integers(0, 15))):
        n_now = n + int(rng.integers(0, 3))
        scores = rng.exponential(size=n_now) * (rng.random(n_now) > 0.2)
        k = int(rng.integers(0, int((scores > 0).sum()) + 1))
        ids = [f"e{i}" for i in range(n_now)] if use_ids else None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            pool.run_lottery(scores, k, seed=int(rng.integers(0, 2**63)), ids=ids)
        n = n_now
    text = pool.to_json()
    again = ff.LotteryPool.from_json(text)
    assert again.name == pool.name and again.ids == pool.ids
    for attr in ("scores", "win_probabilities", "winners", "deserved", "lottery_sizes",
                 "seeds", "cumulative_deserved", "wins"):
        assert _same(getattr(pool, attr), getattr(again, attr)), attr
    assert again.to_json() == text
    assert again.verify()
    scores = rng.exponential(size=n) + 0.01
    ids = [f"e{i}" for i in range(n)] if use_ids else None
    k = min(3, n)
    assert np.array_equal(pool.run_lottery(scores, k, seed=77, ids=ids),
                          again.run_lottery(scores, k, seed=77, ids=ids))
    assert pool.to_json() == again.to_json()


def test_pool_json_with_nonfinite_is_refused_on_load():
    pool = ff.LotteryPool("p")
    pool.run_lottery([1.0, 2.0], 1, seed=1)
    doc = json.loads(pool.to_json())
    doc["state"]["scores"] = {"__ndarray__": "float64", "shape": [2], "hex": True,
                              "data": ["nan", "0x1p+0"]}
    with pytest.raises(ValueError):
        ff.LotteryPool.from_json(json.dumps(doc))
