"""EF_k through the public facade ``OnlineAllocator(notion="efk", levels=...)``."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest

import fastfair as ff
from fastfair._reference.efk import EFkReference, efk_of_allocation

LEVELS = [1.0, 2.5, 4.0]


def _stream(rng, T, n, levels=LEVELS):
    lv = np.asarray(levels)
    return np.where(rng.random((T, n)) < 0.8, lv[rng.integers(0, len(lv), (T, n))], 0.0)


def test_facade_shapes_defaults_and_readouts(rng):
    n, L = 4, len(LEVELS)
    alloc = ff.OnlineAllocator(n, notion="efk", levels=LEVELS)
    assert alloc.notion == "efk"
    assert alloc.p == pytest.approx(max(2.0, math.log(n * (n - 1) * L)))
    V = _stream(rng, 300, n)
    rec = alloc.run(V)
    assert rec.dtype == np.int64 and rec.shape == (300,)
    assert alloc.rounds == 300
    d = alloc.deficits
    assert d.shape == (n, n, L)
    assert np.all(d[np.arange(n), np.arange(n)] == 0)
    assert alloc.max_deficit == d.max()
    assert alloc.max_deficit <= alloc.bound()
    # the exact EF_k read-out equals the reference computed from the item list
    assert alloc.efk() == efk_of_allocation(V, rec)
    assert alloc.efk() <= math.floor(alloc.bound())
    # utilities: each agent's value of its own bundle
    own = np.array([V[rec == i, i].sum() for i in range(n)])
    np.testing.assert_allclose(alloc.utilities, own)


def test_facade_matches_reference_decision_for_decision(rng):
    n = 5
    alloc = ff.OnlineAllocator(n, notion="efk", levels=LEVELS)
    ref = EFkReference(n, LEVELS)
    for v in _stream(rng, 400, n):
        ls = ref.candidate_log_s(v)
        a = alloc.step(v)
        assert ls[a] <= ls.min() + 1e-12 * max(1.0, abs(ls.min()))
        ref.apply(v, a)
    assert alloc.efk() == efk_of_allocation(np.array(ref.values), ref.recipients)


def test_run_equals_steps_and_state_round_trips(rng):
    V = _stream(rng, 200, 3)
    a = ff.OnlineAllocator(3, notion="efk", levels=LEVELS)
    b = ff.OnlineAllocator(3, notion="efk", levels=LEVELS)
    assert a.run(V).tolist() == [b.step(v) for v in V]
    c = pickle.loads(pickle.dumps(a))
    d = ff.OnlineAllocator.from_state(a.state)
    W = _stream(rng, 200, 3)
    out = a.run(W)
    assert c.run(W).tolist() == out.tolist()
    assert d.run(W).tolist() == out.tolist()
    assert c.efk() == a.efk()


def test_facade_bad_arguments():
    with pytest.raises(ValueError, match="discount"):
        ff.OnlineAllocator(3, notion="efk", levels=LEVELS, discount=0.9)
    with pytest.raises(ValueError, match="levels"):
        ff.OnlineAllocator(3, notion="efk")
    with pytest.raises(ValueError, match="levels"):
        ff.OnlineAllocator(3, notion="prop", levels=LEVELS)
    with pytest.raises(ValueError, match="notion"):
        ff.OnlineAllocator(3, notion="efx")
    with pytest.raises(ValueError, match="levels"):
        ff.OnlineAllocator(3, notion="efk", levels=[1.0, -2.0])


def test_value_not_in_levels_is_rejected_before_any_change(rng):
    alloc = ff.OnlineAllocator(3, notion="efk", levels=LEVELS)
    alloc.run(_stream(rng, 50, 3))
    before = pickle.dumps(alloc.state)
    with pytest.raises(ValueError, match="values"):
        alloc.step([1.0, 3.0, 0.0])  # 3.0 is not a level: never a silent new threshold
    with pytest.raises(ValueError, match="values"):
        alloc.run(np.array([[1.0, 2.5, 4.0], [1.0, 2.5, 4.5]]))
    assert pickle.dumps(alloc.state) == before


def test_efk_readout_only_for_efk():
    with pytest.raises((ValueError, AttributeError, TypeError)):
        ff.OnlineAllocator(3, notion="prop").efk()
