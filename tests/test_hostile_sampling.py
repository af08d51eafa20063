"""Hostile-input fuzzing of the sampling kernels (issue 9, SPEC "Hardening").

Every call either raises the documented exception type, or returns a result checked
against an independent computation: the exact rational projection and water-filling
of ``fastfair._reference`` (fractions.Fraction, no rounding anywhere). A failed call
must leave a numpy Generator passed as ``seed`` exactly where it was.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastfair as ff
from fastfair import _core
from fastfair._reference.lottery import deserved_seats_exact
from fastfair._reference.sampling import project_capped_simplex_exact

EPS = float(np.finfo(np.float64).eps)
#: |x - exact| bound of the projection at any magnitude (measured: a few eps)
EXACT_TOL = 1e-12

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    derandomize=True,
)

# --- strategies ------------------------------------------------------------------------

#: magnitudes from the smallest subnormal to the largest float
MAGNITUDES = [0.0, 5e-324, 1e-320, 1e-310, 1e-300, 1e-12, 1e-3, 0.5, 1.0, 3.0, 999.0,
              1023.5, 1025.0, 4097.0, 1e6,
              1e12, 1e15, 1e16, 3e17, 1e100, 1e300, 1e308]


@st.composite
def real_vectors(draw, max_n=24):
    """1-D float64 vectors mixing clusters of wildly different magnitudes."""
    n = draw(st.integers(0, max_n))
    centres = draw(st.lists(st.sampled_from(MAGNITUDES), min_size=1, max_size=3))
    signs = draw(st.lists(st.sampled_from([1.0, -1.0]), min_size=len(centres),
                          max_size=len(centres)))
    offs = [0.0, 0.25, 0.5, -0.75, 1.0, 1.5, 2.0, 1e-9]
    y = []
    for _ in range(n):
        c = draw(st.integers(0, len(centres) - 1))
        y.append(signs[c] * centres[c] + draw(st.sampled_from(offs)))
    arr = np.array(y, dtype=np.float64)
    return np.clip(arr, -1.7e308, 1.7e308)


BAD_DTYPE_ARRAYS = [
    np.array([1 + 1j, 0.5]),
    np.array([1.0, 2.0]).astype(np.complex64),
    np.array(["2020-01-01", "2020-01-02"], dtype="datetime64[D]"),
    np.array([1, 2], dtype="timedelta64[s]"),
    np.array(["1", "0"]),
    np.array([b"1", b"0"]),
    np.array([1.0, None], dtype=object),
    np.array([1.0, 0.0], dtype=object),
    np.zeros(2, dtype=[("a", "f8")]),
    np.ma.array([0.5, 0.5], mask=[False, True]),
    np.ma.array([0.5, 0.5]),
    ["a", "b"],
    [None, 1.0],
    [1.0, [2.0]],
    {"a": 1},
    None,
    "0.5",
]


def _exact_floats(y, k):
    return np.array([float(v) for v in project_capped_simplex_exact(y, k)])


def _assert_ties_kept(y, x):
    for v in np.unique(y):
        xs = x[y == v]
        assert np.all(xs.view(np.uint64) == xs[0].view(np.uint64))


# --- project_capped_simplex ------------------------------------------------------------


@FUZZ
@given(y=real_vectors(), kind=st.sampled_from(["int", "frac", "float32", "npint"]),
       u=st.floats(0.0, 1.0))
def test_projection_matches_exact_reference(y, kind, u):
    n = y.size
    kf = u * n
    k = {"int": float(round(kf)), "frac": kf, "float32": np.float32(kf),
         "npint": np.int64(round(kf))}[kind]
    if float(k) > n:  # float32 rounding
        k = float(n)
    x = ff.project_capped_simplex(y, k)
    assert x.dtype == np.float64 and x.shape == (n,)
    assert np.all((x >= 0.0) & (x <= 1.0))
    assert abs(math.fsum(x) - float(k)) <= 8 * EPS * max(1.0, float(k))
    if n:
        np.testing.assert_allclose(x, _exact_floats(y, float(k)), rtol=0, atol=EXACT_TOL)
    _assert_ties_kept(y, x)


@FUZZ
@given(y=real_vectors(max_n=6), bad=st.sampled_from(["nan", "inf", "-inf"]),
       at=st.integers(0, 5))
def test_projection_rejects_non_finite_y(y, bad, at):
    y = np.append(y, 0.0)
    y[at % y.size] = float(bad)
    with pytest.raises(ValueError, match="y must be finite"):
        ff.project_capped_simplex(y, 0.5)


@pytest.mark.parametrize("y", BAD_DTYPE_ARRAYS, ids=range(len(BAD_DTYPE_ARRAYS)))
def test_projection_rejects_non_real_dtypes(y):
    with pytest.raises(TypeError, match="^y "):
        ff.project_capped_simplex(y, 1)


@pytest.mark.parametrize(
    ("k", "exc"),
    [(10**400, ValueError), (-(10**400), ValueError), (2**70, ValueError), (-1, ValueError),
     (3, ValueError), (float("nan"), ValueError), (float("inf"), ValueError),
     (1 + 0j, TypeError), (np.complex128(1), TypeError), ("1", TypeError),
     (None, TypeError), (True, TypeError), (np.bool_(True), TypeError),
     (np.array(1.0), TypeError), ([1.0], TypeError)],
)
def test_projection_rejects_bad_k(k, exc):
    with pytest.raises(exc, match="k "):
        ff.project_capped_simplex([0.2, 0.7], k)


@pytest.mark.parametrize(
    ("y", "exc"),
    [([[0.5, 0.5]], ValueError), (np.float64(0.5), ValueError), (np.zeros((2, 2)), ValueError),
     ([10**400, 0], ValueError), ([2**70, 0], None), (np.array([2**64 - 1, 0], np.uint64), None),
     (np.array([True, False]), None), (np.array([0.5, 0.25], np.float16), None)],
)
def test_projection_shapes_and_int_ranges(y, exc):
    if exc is None:
        x = ff.project_capped_simplex(y, 1)
        arr = np.asarray(y, dtype=np.float64) if not isinstance(y, list) else np.array(
            [float(v) for v in y])
        np.testing.assert_allclose(x, _exact_floats(arr, 1.0), rtol=0, atol=EXACT_TOL)
    else:
        with pytest.raises(exc, match="y "):
            ff.project_capped_simplex(y, 1)


# --- fair_probabilities (the same projection over the eligible entrants) ---------------


@FUZZ
@given(d=real_vectors(max_n=12), u=st.floats(0.0, 1.0), solver=st.sampled_from(["exact", "pgd"]),
       data=st.data())
def test_fair_probabilities_match_exact_reference(d, u, solver, data):
    d = np.abs(d)
    r = np.array(data.draw(st.lists(st.sampled_from([0.0, 1.0, 2.0, 1e16, 1e300]),
                                    min_size=d.size, max_size=d.size)))
    el = np.array(data.draw(st.lists(st.booleans(), min_size=d.size, max_size=d.size)),
                  dtype=bool)
    m = int(el.sum())
    k = float(round(u * m))
    if solver == "pgd" and 0 < k < m:
        # PGD iterates: keep the test about magnitudes, not about convergence speed
        pi, info = ff.fair_probabilities(d, r, k, el, solver="pgd", return_info=True)
        assert info.converged
        tol = 1e-9
    else:
        pi = ff.fair_probabilities(d, r, k, el, solver=solver)
        tol = EXACT_TOL
    assert np.all(pi[~el] == 0.0)
    assert abs(math.fsum(pi) - k) <= 1e-9
    target = d - r  # what the kernel projects (rounded once, like here)
    expect = np.zeros(d.size)
    if m:
        expect[el] = _exact_floats(target[el], k)
    np.testing.assert_allclose(pi, expect, rtol=0, atol=tol)


@pytest.mark.parametrize("bad", BAD_DTYPE_ARRAYS[:11], ids=range(11))
def test_fair_probabilities_rejects_non_real_dtypes(bad):
    with pytest.raises(TypeError, match="deserved"):
        ff.fair_probabilities(bad, [0.0, 0.0], 1)
    with pytest.raises(TypeError, match="received"):
        ff.fair_probabilities([1.0, 1.0], bad, 1)


# --- deserved seats (water-filling) ----------------------------------------------------


@FUZZ
@given(s=real_vectors(max_n=16), u=st.floats(0.0, 1.0))
def test_deserved_seats_match_exact_reference(s, u):
    s = np.abs(s)
    n_pos = int(np.count_nonzero(s > 0))
    k = int(round(u * n_pos))
    d = _core.deserved_seats(s, k)
    exact = np.array([float(v) for v in deserved_seats_exact(s, k)])
    assert np.all((d >= 0.0) & (d <= 1.0))
    assert np.all(d[s == 0] == 0.0)
    assert abs(math.fsum(d) - k) <= 1e-12 * max(1, k)
    np.testing.assert_allclose(d, exact, rtol=0, atol=1e-12)
    _assert_ties_kept(s, d)


# --- pipage_round ----------------------------------------------------------------------


@st.composite
def valid_pi(draw):
    """Probabilities with a whole-number sum, as the projection makes them."""
    y = draw(real_vectors(max_n=20))
    k = float(draw(st.integers(0, y.size)))
    return ff.project_capped_simplex(y, k), int(k)


def _seed_kinds():
    return st.one_of(
        st.integers(0, 2**64 - 1),
        st.integers(0, 2**64 - 1).map(np.uint64),
        st.integers(0, 2**63 - 1).map(np.int64),
        st.integers(0, 2**32).map(lambda s: np.random.default_rng(s)),
        st.none(),
    )


BAD_SEEDS = [(-1, ValueError), (2**64, ValueError), (2**200, ValueError),
             (-(2**70), ValueError), (np.int8(-3), ValueError), (1.5, TypeError),
             ("1", TypeError), (True, TypeError), (np.bool_(False), TypeError),
             # a BitGenerator or SeedSequence is a valid seed (tests/test_seed_numpy.py)
             (np.random.RandomState(0), TypeError),
             ([1], TypeError), (1 + 0j, TypeError)]


def _check_draws(w, pi, k, shape):
    assert w.dtype == np.int8 and w.shape == shape
    assert set(np.unique(w).tolist()) <= {0, 1}
    rows = w.reshape(int(np.prod(shape[:-1], dtype=np.int64)), pi.size)
    assert np.all(rows.sum(axis=1) == k)
    assert np.all(rows[:, pi == 0.0] == 0) and np.all(rows[:, pi == 1.0] == 1)


@FUZZ
@given(case=valid_pi(), seed=_seed_kinds(), size=st.one_of(st.none(), st.integers(0, 5)))
def test_pipage_valid_input_any_seed(case, seed, size):
    pi, k = case
    shape = (pi.size,) if size is None else (size, pi.size)
    if isinstance(seed, np.random.Generator):
        twin = np.random.default_rng()
        twin.bit_generator.state = seed.bit_generator.state
        w = ff.pipage_round(pi, seed=seed, size=size)
        # a Generator only supplies the 64-bit seed: replay it as an int
        u64 = int(twin.integers(0, 2**64, dtype=np.uint64))
        assert np.array_equal(w, ff.pipage_round(pi, seed=u64, size=size))
        assert seed.bit_generator.state == twin.bit_generator.state
    else:
        w = ff.pipage_round(pi, seed=seed, size=size)
        if seed is not None:  # same int seed, same draw
            assert np.array_equal(w, ff.pipage_round(pi, seed=int(seed), size=size))
    _check_draws(w, pi, k, shape)


@st.composite
def invalid_pi(draw):
    """(pi, expected exception type): each breaks exactly one rule."""
    pi, _ = draw(valid_pi())
    pi = np.append(pi, [0.0, 0.0])
    how = draw(st.sampled_from(["frac", "neg", "above", "nan", "inf", "2d", "dtype",
                                "tiny_frac", "bigint"]))
    if how == "frac":
        pi[-1] = draw(st.sampled_from([0.5, 0.25, 1e-6, 0.999]))
        return pi, ValueError
    if how == "tiny_frac":
        pi[-1] = 1e-8
        return pi, ValueError
    if how == "neg":
        pi[-1] = -draw(st.sampled_from([5e-324, 1e-12, 0.5, 1e308]))
        return pi, ValueError
    if how == "above":
        pi[-1] = 1.0 + draw(st.sampled_from([EPS, 0.5, 1e308]))
        return pi, ValueError
    if how in ("nan", "inf"):
        pi[-1] = float(how)
        return pi, ValueError
    if how == "2d":
        return pi.reshape(1, -1), ValueError
    if how == "bigint":
        return [10**400] + pi.tolist(), ValueError
    return draw(st.sampled_from(BAD_DTYPE_ARRAYS)), TypeError


@FUZZ
@given(case=invalid_pi(), gen_seed=st.integers(0, 2**32),
       size=st.one_of(st.none(), st.integers(0, 3)))
def test_pipage_failure_leaves_the_generator_alone(case, gen_seed, size):
    pi, exc = case
    g = np.random.default_rng(gen_seed)
    before = g.bit_generator.state
    with pytest.raises(exc, match="pi"):
        ff.pipage_round(pi, seed=g, size=size)
    assert g.bit_generator.state == before


@pytest.mark.parametrize(("seed", "exc"), BAD_SEEDS, ids=range(len(BAD_SEEDS)))
def test_pipage_rejects_bad_seeds(seed, exc):
    with pytest.raises(exc, match="seed"):
        ff.pipage_round([0.5, 0.5], seed=seed)


@pytest.mark.parametrize(
    ("size", "exc"),
    [(-1, ValueError), (2**70, ValueError), (10**12, ValueError), (2**63, ValueError),
     (1.0, TypeError), ("3", TypeError), (True, TypeError), (np.float64(2), TypeError)],
)
def test_pipage_rejects_bad_size_before_drawing(size, exc):
    g = np.random.default_rng(3)
    before = g.bit_generator.state
    with pytest.raises(exc, match="size"):
        ff.pipage_round([0.5, 0.5], seed=g, size=size)
    assert g.bit_generator.state == before


def test_pipage_accepts_numpy_int_size_and_empty_pi():
    assert ff.pipage_round([0.5, 0.5], seed=1, size=np.int64(3)).shape == (3, 2)
    assert ff.pipage_round([], seed=1).shape == (0,)
    assert ff.pipage_round([], seed=1, size=4).shape == (4, 0)
