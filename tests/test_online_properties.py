"""Property tests (hypothesis): on arbitrary small streams built from awkward values
(zeros, exact ties, denormal-scale and huge values), the engines' choices minimise the
reference potential, run == step, and max_deficit <= bound()."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastfair as ff
from fastfair._reference import online as ref

AWKWARD = st.sampled_from([0.0, 0.0, 1.0, 1.0, 0.5, 2.0, 1e-300, 3e-8, 1e6, 7.25])


@st.composite
def streams(draw, max_n=5, max_t=25):
    n = draw(st.integers(1, max_n))
    t = draw(st.integers(1, max_t))
    vals = draw(st.lists(AWKWARD, min_size=n * t, max_size=n * t))
    return np.array(vals, dtype=np.float64).reshape(t, n)


@pytest.mark.parametrize("notion", ["prop", "ef"])
@settings(max_examples=60, deadline=None)
@given(V=streams(), discount=st.sampled_from([None, 0.5]), p=st.sampled_from([None, 2.0, 7.0]))
def test_choice_minimises_reference_potential(notion, V, discount, p):
    n = V.shape[1]
    R = ref.PropReference if notion == "prop" else ref.EfReference
    alloc = ff.OnlineAllocator(n, notion, p=p, discount=discount)
    r = R(n, p=p, discount=discount)
    for v in V:
        ls = r.log_S(v)
        a = alloc.step(v)
        assert 0 <= a < n
        if np.isfinite(ls).all():
            # tie_break="value" may take any action within a relative 1e-12 of the
            # minimum potential (SPEC), so allow that plus the reference's rounding
            assert ls[a] - ls.min() <= 2e-12
        r.apply(v, a)
        assert alloc.max_deficit <= alloc.bound() + 1e-12
    np.testing.assert_allclose(alloc.deficits, r.deficits(), rtol=1e-9, atol=1e-12)
    batch = ff.OnlineAllocator(n, notion, p=p, discount=discount)
    stepper = ff.OnlineAllocator(n, notion, p=p, discount=discount)
    np.testing.assert_array_equal(batch.run(V), [stepper.step(v) for v in V])


@settings(max_examples=60, deadline=None)
@given(V=streams(max_n=4, max_t=15), alts=st.integers(1, 4), discount=st.sampled_from([None, 0.7]))
def test_pdm_choice_minimises_reference_potential(V, alts, discount):
    n = V.shape[1]
    rng = np.random.default_rng(int(V.sum() * 1000) % 2**32)
    U = V[:, :, None] * rng.integers(0, 2, (V.shape[0], n, alts))
    pdm = ff.PublicDecisionMaker(n, discount=discount)
    r = ref.PdmReference(n, discount=discount)
    for u in U:
        ls = r.log_S(u)
        x = pdm.step(u)
        assert ls[x] - ls.min() <= 1e-12
        r.apply(u, x)
        assert pdm.max_deficit <= pdm.bound() + 1e-12
    np.testing.assert_allclose(pdm.deficits, r.deficits(), rtol=1e-9, atol=1e-12)
