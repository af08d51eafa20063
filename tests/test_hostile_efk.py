"""Hostile-input fuzzing of the EF_k engine (issue 9, SPEC "Hardening").

Every call either raises the documented exception type, leaving the engine exactly as
it was, or returns a result checked against an independent computation: the slow
reference (``fastfair._reference.efk``: S recomputed for every candidate, exact EF_k by
``math.fsum``) and the scale invariance of the rule (decisions depend on the order of
the levels only). Magnitudes of the levels range from subnormals to the 2^960 limit.
"""

from __future__ import annotations

import math
import pickle
import threading

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastfair as ff
from fastfair import _core
from fastfair._efk import MAX_LEVEL, make_efk_engine, normalize_levels
from fastfair._reference.efk import EFkReference, efk_of_allocation

FUZZ = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)

SCALES = [5e-324, 1e-320, 1e-310, 1e-300, 1e-12, 1.0, 1e12, 1e100, 1e287, MAX_LEVEL / 16]


def _snapshot(eng):
    s = eng.get_state()
    return (s["rounds"], s["counts"].copy(), s["p"], s["levels"].copy())


def _same(a, b):
    return a[0] == b[0] and np.array_equal(a[1], b[1]) and a[2] == b[2] and np.array_equal(a[3], b[3])


@st.composite
def efk_runs(draw):
    n = draw(st.integers(2, 4))
    L = draw(st.integers(1, 4))
    ranks = np.array(sorted(draw(st.sets(st.integers(1, 12), min_size=L, max_size=L))), float)
    scale = draw(st.sampled_from(SCALES))
    levels = ranks * scale
    T = draw(st.integers(0, 25))
    idx = np.array(draw(st.lists(st.integers(-1, L - 1), min_size=T * n, max_size=T * n)),
                   dtype=np.int64).reshape(T, n)
    return n, ranks, levels, idx


@FUZZ
@given(case=efk_runs())
def test_runs_at_any_magnitude_match_reference(case):
    n, ranks, levels, idx = case
    assert np.array_equal(normalize_levels(levels), levels)  # distinct after scaling
    values = np.where(idx < 0, 0.0, levels[np.maximum(idx, 0)])
    eng = make_efk_engine(n, levels)
    got = eng.run(values)
    # the reference rule, recomputing S from scratch: the engine's choice is a
    # minimiser of S (relative 1e-12: exact ties are broken by float noise there),
    # and the reference follows the engine's decisions (SPEC, decision tests)
    ref = EFkReference(n, levels, p=eng.p)
    for v, a in zip(values, got):
        log_s = ref.candidate_log_s(v)
        assert math.expm1(log_s[a] - log_s.min()) <= 1e-12
        ref.apply(v, int(a))
    np.testing.assert_array_equal(eng.deficits(), ref.deficits())
    # decisions depend on the level order only: the same stream on levels 1..L
    unit = make_efk_engine(n, ranks, p=eng.p)
    assert np.array_equal(got, unit.run(np.where(idx < 0, 0.0, ranks[np.maximum(idx, 0)])))
    # read-outs: exact EF_k, utilities, finite deficits and potential
    if values.shape[0]:
        assert eng.efk() == efk_of_allocation(values, got)
    for i in range(n):
        own = values[got == i, i]
        assert math.isclose(eng.utilities()[i], math.fsum(own), rel_tol=1e-12, abs_tol=0.0)
    assert math.isfinite(eng.max_deficit()) and math.isfinite(eng.potential())
    assert math.isfinite(eng.bound())
    twin = pickle.loads(pickle.dumps(eng))
    assert _same(_snapshot(twin), _snapshot(eng))


# --- constructor -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("levels", "exc", "match"),
    [
        ([1e308], ValueError, r"2\*\*960"),
        ([MAX_LEVEL * 2], ValueError, r"2\*\*960"),
        ([1e-320, 1.0], ValueError, r"2\*\*900"),
        ([1.0, 1e280], ValueError, r"2\*\*900"),
        ([10**400], ValueError, "out of range"),
        ([1.0, np.nan], ValueError, "finite"),
        ([1.0, np.inf], ValueError, "finite"),
        ([0.0, 1.0], ValueError, "> 0"),
        ([-1.0], ValueError, "> 0"),
        ([], ValueError, "empty"),
        ([[1.0, 2.0]], ValueError, "1-dimensional"),
        (None, ValueError, "levels"),
        ([1 + 1j], TypeError, "levels"),
        (np.array(["2020-01-01"], dtype="datetime64[D]"), TypeError, "levels"),
        (np.array([1.0], dtype=object), TypeError, "levels"),
        (np.ma.array([1.0, 2.0], mask=[0, 1]), TypeError, "levels"),
        (np.zeros(1, dtype=[("a", "f8")]), TypeError, "levels"),
        (["1"], TypeError, "levels"),
    ],
)
def test_bad_levels(levels, exc, match):
    with pytest.raises(exc, match=match):
        make_efk_engine(3, levels)
    with pytest.raises(exc, match=match):
        ff.OnlineAllocator(3, "efk", levels=levels)


@pytest.mark.parametrize(
    ("n", "exc", "match"),
    [(True, TypeError, "n_agents"), (2.0, TypeError, "n_agents"), ("3", TypeError, "n_agents"),
     (1, ValueError, "n_agents"), (-5, ValueError, "n_agents"),
     (10**6, ValueError, "bytes"), (2**70, ValueError, "bytes"), (10**400, ValueError, "bytes")],
)
def test_bad_n_agents(n, exc, match):
    with pytest.raises(exc, match=match):
        make_efk_engine(n, [1.0, 2.0])


@pytest.mark.parametrize(
    ("p", "exc"),
    [(10**400, ValueError), (1.5, ValueError), (float("nan"), ValueError),
     (float("inf"), ValueError), (1 + 0j, TypeError), ("3", TypeError), (True, TypeError)],
)
def test_bad_p(p, exc):
    with pytest.raises(exc, match="p "):
        make_efk_engine(3, [1.0], p=p)


def test_compiled_constructor_checks_too():
    # the private engine validates on its own (pickles reach it directly)
    with pytest.raises(ValueError, match="bytes"):
        _core.EFkAllocator(10**6, np.array([1.0]))
    with pytest.raises(ValueError, match="64 bits"):
        _core.EFkAllocator(2**70, np.array([1.0]))
    with pytest.raises(ValueError, match="2\\^960"):
        _core.EFkAllocator(3, np.array([1e300]))
    with pytest.raises(TypeError, match="levels"):
        _core.EFkAllocator(3, np.array([1 + 1j]))
    with pytest.raises(ValueError, match="p "):
        _core.EFkAllocator(3, np.array([1.0]), 10**400)


# --- step / run: hostile values leave the engine unchanged -----------------------------

BAD_VALUES = [
    (np.array([1 + 0j, 0, 0]), TypeError),
    (np.array([1, 0, 0], dtype="datetime64[s]"), TypeError),
    (np.array([1, 0, 0], dtype="timedelta64[s]"), TypeError),
    (np.ma.array([1.0, 0, 0]), TypeError),
    (np.array(["1", "0", "0"]), TypeError),
    (np.array([1.0, 0, 0], dtype=object), TypeError),
    (np.zeros(3, dtype=[("a", "f8")]), TypeError),
    ([None, 0, 0], TypeError),
    ([np.nan, 0, 0], ValueError),
    ([np.inf, 0, 0], ValueError),
    ([1.5, 0, 0], ValueError),
    ([-1.0, 0, 0], ValueError),
    ([1e-320, 0, 0], ValueError),
    ([1.0, 0], ValueError),
    ([[1.0, 0, 0]], ValueError),
]


@pytest.mark.parametrize(("bad", "exc"), BAD_VALUES, ids=range(len(BAD_VALUES)))
def test_bad_values_leave_state_unchanged(bad, exc):
    eng = make_efk_engine(3, [1.0, 2.0])
    eng.run(np.array([[1.0, 2.0, 0.0], [2.0, 2.0, 1.0]]))
    before = _snapshot(eng)
    with pytest.raises(exc, match="values"):
        eng.step(bad)
    assert _same(_snapshot(eng), before)
    rows = np.atleast_2d(np.asarray(bad, dtype=object))
    if rows.ndim == 2 and rows.shape[1] == 3 and not isinstance(bad, np.ma.MaskedArray):
        good = np.array([[1.0, 1.0, 1.0]] * 3, dtype=object)
        mixed = np.concatenate([good, rows]) if rows.dtype == object else None
        if mixed is not None:
            with pytest.raises((TypeError, ValueError), match="values"):
                eng.run(mixed)
    if np.ndim(bad) == 1:  # the same row inside a batch
        batch = bad.reshape(1, -1) if isinstance(bad, np.ndarray) else [bad]
        with pytest.raises((TypeError, ValueError), match="values"):
            eng.run(batch)
    assert _same(_snapshot(eng), before)


@FUZZ
@given(case=efk_runs(), bad_at=st.integers(0, 24), bad=st.sampled_from(
    [np.nan, np.inf, -1.0, 0.5, 1e300, 5e-324, 2.0**961]))
def test_a_bad_row_anywhere_in_run_changes_nothing(case, bad_at, bad):
    n, _, levels, idx = case
    values = np.where(idx < 0, 0.0, levels[np.maximum(idx, 0)])
    if values.shape[0] == 0:
        return
    eng = make_efk_engine(n, levels)
    eng.run(values[: values.shape[0] // 2])
    before = _snapshot(eng)
    poisoned = values.copy()
    t = bad_at % values.shape[0]
    if np.any(np.abs(levels - bad) <= 1e-12 * levels):
        return  # happens to be a level
    poisoned[t, 0] = bad
    with pytest.raises(ValueError, match=rf"values\[{t}, 0\]"):
        eng.run(poisoned)
    assert _same(_snapshot(eng), before)


# --- states: checked before anything is allocated or changed ---------------------------


def _state():
    eng = make_efk_engine(3, [1.0, 2.0, 5.0])
    eng.run(np.array([[1.0, 2.0, 5.0], [5.0, 0.0, 2.0], [2.0, 5.0, 1.0], [1.0, 1.0, 1.0]]))
    return eng, eng.get_state()


def _mutations():
    def counts(f):
        def g(s):
            c = s["counts"].copy()
            f(c)
            s["counts"] = c
        return g

    def setk(key, v):
        def g(s):
            s[key] = v
        return g

    def both(*fs):
        def g(s):
            for f in fs:
                f(s)
        return g

    big = counts(lambda c: c.__setitem__((0, 1, 0), 10**9))
    return {
        "count 1e9 (36 GB table)": (both(big, setk("rounds", 10**9 + 10)), ValueError, "bytes"),
        "count 1e9 > rounds": (big, ValueError, "rounds"),
        "negative count": (counts(lambda c: c.__setitem__((1, 1, 0), -1)), ValueError, ">= 0"),
        "rounds 2**70": (setk("rounds", 2**70), ValueError, "64 bits"),
        "rounds 2**60": (setk("rounds", 2**60), ValueError, "2\\^53"),
        "rounds -1": (setk("rounds", -1), ValueError, ">= 0"),
        "rounds float": (setk("rounds", 4.0), ValueError, "rounds"),
        "rounds bool": (setk("rounds", True), ValueError, "rounds"),
        "counts float": (setk("counts", np.zeros((3, 3, 3))), ValueError, "counts"),
        "counts object": (setk("counts", np.zeros((3, 3, 3), dtype=object)), ValueError, "counts"),
        "counts list": (setk("counts", [[0]]), ValueError, "counts"),
        "counts shape": (setk("counts", np.zeros((3, 3, 2), dtype=np.int64)), ValueError, "shape"),
        "counts uint64 huge": (setk("counts", np.full((3, 3, 3), 2**63, dtype=np.uint64)),
                               ValueError, "counts"),
        "n_agents": (setk("n_agents", 4), ValueError, "n_agents"),
        "n_agents 2**70": (setk("n_agents", 2**70), ValueError, "n_agents"),
        "levels": (setk("levels", np.array([1.0, 2.0, 6.0])), ValueError, "levels"),
        "levels complex": (setk("levels", np.array([1.0, 2.0, 5.0 + 0j])), TypeError, "levels"),
        "p": (setk("p", 7.0), ValueError, "p"),
        "p 10**400": (setk("p", 10**400), ValueError, "p"),
        "p str": (setk("p", "2"), (TypeError, ValueError), "p"),
        "version": (setk("version", 2), ValueError, "version"),
        "version 2**70": (setk("version", 2**70), ValueError, "version"),
        "missing counts": (lambda s: s.pop("counts"), ValueError, "counts"),
    }


MUTATIONS = _mutations()


@pytest.mark.parametrize("name", list(MUTATIONS))
def test_bad_states_are_refused_before_any_change(name):
    mutate, exc, match = MUTATIONS[name]
    eng, state = _state()
    other = make_efk_engine(3, [1.0, 2.0, 5.0])
    other.step([1.0, 0.0, 0.0])
    before = _snapshot(other)
    bad = dict(state)
    mutate(bad)
    with pytest.raises(exc, match=match):
        other.set_state(bad)
    assert _same(_snapshot(other), before)
    if name in ("levels", "p"):
        return  # a fresh engine may have other levels or p
    # the pickle path (a fresh engine) refuses it too, without a crash
    with pytest.raises((ValueError, TypeError)):
        type(eng).__new__(type(eng)).__setstate__(bad)


def test_good_state_round_trip_and_from_state():
    eng, state = _state()
    other = make_efk_engine(3, [1.0, 2.0, 5.0])
    other.set_state(state)
    assert _same(_snapshot(other), _snapshot(eng))
    v = np.array([[5.0, 5.0, 5.0], [1.0, 2.0, 0.0]])
    assert np.array_equal(other.run(v), eng.run(v))


# --- threads ---------------------------------------------------------------------------


def _values(T=60_000, n=6):
    rng = np.random.default_rng(7)
    levels = np.array([1.0, 2.0, 3.0, 4.0])
    return levels, levels[rng.integers(0, 4, size=(T, n))]


def test_reads_during_a_run_get_runtime_error_and_the_run_is_intact():
    levels, values = _values()
    expect = make_efk_engine(6, levels).run(values)
    for _attempt in range(5):
        eng = make_efk_engine(6, levels)
        out = {}
        th = threading.Thread(target=lambda eng=eng, out=out: out.update(r=eng.run(values)))
        th.start()
        refused = 0
        while th.is_alive():
            for call in (eng.rounds, eng.counts, eng.max_deficit, eng.get_state):
                try:
                    call()  # reads only: a read that gets in changes nothing
                except RuntimeError as exc:
                    assert "another thread" in str(exc)
                    refused += 1
        th.join()
        assert np.array_equal(out["r"], expect)  # not one round lost or changed
        assert eng.rounds() == values.shape[0]
        if refused:
            return
    pytest.skip("the run never overlapped a read in 5 tries")


def test_two_runs_on_one_engine_one_refused_or_both_in_turn():
    levels, values = _values(T=40_000)
    T = values.shape[0]
    for _attempt in range(5):
        eng = make_efk_engine(6, levels)
        results, errors = [], []

        def work(eng=eng, results=results, errors=errors):
            try:
                results.append(eng.run(values))
            except RuntimeError as exc:
                errors.append(exc)

        threads = [threading.Thread(target=work) for _ in range(2)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        # every run that was accepted was applied in full, one after the other
        assert len(results) + len(errors) == 2
        assert eng.rounds() == T * len(results)
        ref = make_efk_engine(6, levels)
        for r in results:
            assert np.array_equal(r, ref.run(values))
        if errors:
            assert "another thread" in str(errors[0])
            return
    pytest.skip("the two runs never overlapped in 5 tries")
