"""Hostile-input fuzzing of the online engines (issue 9): random dtypes, shapes,
magnitudes (1e-320 .. 1e308), masks and churn. Every call either raises the right
exception type with the object unchanged, or returns a decision that is checked
independently (eligible recipient, finite state, max_deficit <= bound())."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastfair as ff

MAGNITUDES = [0.0, 1e-320, 1e-300, 1e-12, 0.5, 1.0, 3.0, 1e12, 1e200, 9.7e288, 1e300, 1e308]

values_entry = st.one_of(
    st.sampled_from(MAGNITUDES),
    st.floats(min_value=0.0, max_value=1e3),
    st.sampled_from([-1.0, float("nan"), float("inf")]),
)


@st.composite
def calls(draw):
    n = draw(st.integers(1, 5))
    ops = []
    for _ in range(draw(st.integers(1, 12))):
        kind = draw(st.sampled_from(["step", "step", "run", "add", "remove", "weird"]))
        ops.append((kind, draw(st.integers(0, 2**31)), ))
    return n, ops


def _values(rng, shape):
    pick = rng.integers(0, len(MAGNITUDES), shape)
    v = np.array(MAGNITUDES)[pick] * rng.random(shape)
    if rng.random() < 0.1:
        v.flat[rng.integers(v.size)] = rng.choice([-1.0, np.nan, np.inf])
    return v


def _weird(rng, n):
    return [
        np.zeros(n, dtype=complex),
        np.array(["1"] * n),
        np.zeros(n + 1),
        np.zeros((n, 1)),
        np.ma.masked_array(np.ones(n), np.zeros(n, bool)),
        np.full(n, 1e308),
        [None] * n,
    ][rng.integers(0, 7)]


def _check(obj):
    assert np.isfinite(obj.deficits).all()
    assert np.isfinite(obj.utilities).all()
    assert obj.max_deficit <= obj.bound() * (1 + 1e-12)


@settings(max_examples=60, deadline=None)
@given(calls(), st.sampled_from(["prop", "ef"]), st.sampled_from(["value", "index"]),
       st.booleans())
def test_fuzz_allocator(spec, notion, tie_break, weighted):
    n, ops = spec
    weights = np.linspace(0.5, 2.0, n) if weighted and notion == "prop" else None
    a = ff.OnlineAllocator(n, notion, tie_break=tie_break, weights=weights)
    for kind, seed in ops:
        rng = np.random.default_rng(seed)
        m = a.n_agents
        before = pickle.dumps(a)
        try:
            if kind == "step":
                v = _values(rng, m)
                mask = None if rng.random() < 0.4 else rng.random(m) < 0.6
                r = a.step(v, mask)
                assert a.active[r] and (mask is None or mask[r])
            elif kind == "run":
                T = int(rng.integers(0, 6))
                V = _values(rng, (T, m))
                mask = None if rng.random() < 0.4 else rng.random((T, m)) < 0.6
                rs = a.run(V, mask)
                assert rs.shape == (T,)
                assert a.active[rs].all()
                if mask is not None:
                    assert mask[np.arange(T), rs].all()
            elif kind == "add":
                w = float(rng.choice([1.0, 0.3, 0.0, -1.0, np.nan]))
                assert a.add_agent(w) == m
            elif kind == "remove":
                a.remove_agent(int(rng.integers(-1, m + 1)))
            else:
                a.step(_weird(rng, m))
                pytest.fail("weird input accepted")
        except (ValueError, TypeError):
            assert pickle.dumps(a) == before  # a failed call changes nothing
        _check(a)
    b = pickle.loads(pickle.dumps(a))
    V = np.random.default_rng(0).random((5, a.n_agents))
    if a.active.any():
        np.testing.assert_array_equal(a.run(V), b.run(V))


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 4), st.integers(1, 4), st.lists(st.integers(0, 2**31), min_size=1, max_size=10))
def test_fuzz_public_decisions(n, alts, seeds):
    pdm = ff.PublicDecisionMaker(n)
    for seed in seeds:
        rng = np.random.default_rng(seed)
        before = pickle.dumps(pdm)
        u = _values(rng, (pdm.n_agents, alts))
        avail = None if rng.random() < 0.4 else rng.random(alts) < 0.6
        try:
            if rng.random() < 0.15:
                pdm.add_agent()
                continue
            x = pdm.step(u, avail)
            assert 0 <= x < alts and (avail is None or avail[x])
        except (ValueError, TypeError):
            assert pickle.dumps(pdm) == before
        _check(pdm)
