"""The Python boundary of the online engines: step() reads a plain float64 (and bool)
array in place and everything else through the general conversion; run() checks its whole
input in one pass with the GIL released. Both paths must give the same decisions, and
every bad input must raise before any state changes, whichever path it takes."""

from __future__ import annotations

import inspect
import threading

import numpy as np
import pytest

import fastfair as ff
from fastfair import _core

N = 5
BIG = 1e300  # > DBL_MAX / 2^64 (~9.7e288): refused, so that no sum can overflow


def _make(kind):
    if kind == "prop":
        return ff.OnlineAllocator(N, "prop")
    if kind == "prop-w":
        return ff.OnlineAllocator(N, "prop", weights=np.arange(1.0, N + 1))
    if kind == "ef":
        return ff.OnlineAllocator(N, "ef")
    if kind == "efk":
        return ff.OnlineAllocator(N, "efk", levels=[0.5, 1.0, 2.0])
    if kind == "pdm":
        return ff.PublicDecisionMaker(N)
    if kind == "rr":
        return ff.baselines.RoundRobin(N)
    if kind == "greedy":
        return ff.baselines.GreedyMaxDeficit(N)
    if kind == "benade":
        return ff.baselines.Benade2018(N, horizon=1000)
    raise AssertionError(kind)


ITEM = ["prop", "prop-w", "ef", "efk"]
MASKED = ["prop", "prop-w", "ef"]
ALL = [*ITEM, "pdm", "rr", "greedy", "benade"]


def _stream(kind, T, seed):
    rng = np.random.default_rng(seed)
    if kind == "efk":
        return rng.choice([0.0, 0.5, 1.0, 2.0], size=(T, N))
    if kind == "pdm":
        return rng.random((T, N, 3))
    return rng.random((T, N))


def _masks(T, seed, width=N):
    m = np.random.default_rng(seed + 1).random((T, width)) < 0.6
    m[np.arange(T), np.random.default_rng(seed + 2).integers(0, width, T)] = True
    return m


def _snapshot(obj):
    """Everything observable about the object's state (arrays as lists)."""
    def plain(x):
        if isinstance(x, dict):
            return {k: plain(v) for k, v in x.items()}
        if isinstance(x, np.ndarray):
            return x.tolist()
        return x
    return plain(obj.state) if hasattr(obj, "state") else (obj.rounds, obj.deficits.tolist())


def _variants(row):
    """The same numbers in forms that skip the in-place fast path."""
    wide = np.zeros(row.shape[:-1] + (2 * row.shape[-1],))
    wide[..., ::2] = row
    ro = row.copy()
    ro.setflags(write=False)
    yield "plain", row
    yield "read-only", ro  # still plain: read in place
    yield "list", row.tolist()
    yield "non-contiguous", wide[..., ::2]
    yield "big-endian", row.astype(">f8")
    yield "fortran", np.asfortranarray(row)
    yield "subclass", row.view(type("Sub", (np.ndarray,), {}))


@pytest.mark.parametrize("kind", ALL)
def test_fast_and_general_paths_decide_identically(kind):
    T = 60
    V = _stream(kind, T, 3)
    ref = _make(kind)
    expected = [ref.step(v) for v in V]
    for name, _ in _variants(V[0]):
        obj = _make(kind)
        got = [obj.step(dict(_variants(v))[name]) for v in V]
        assert got == expected, name
        assert _snapshot(obj) == _snapshot(ref), name
    # run() in one call and in pieces: the same decisions as the steps
    whole = _make(kind)
    np.testing.assert_array_equal(whole.run(V), expected)
    parts = _make(kind)
    got = np.concatenate([parts.run(V[:17]), parts.run(V[17:])])
    np.testing.assert_array_equal(got, expected)
    assert _snapshot(whole) == _snapshot(ref) == _snapshot(parts)


@pytest.mark.parametrize("kind", MASKED)
def test_mask_paths_decide_identically(kind):
    T = 60
    V = _stream(kind, T, 4)
    M = _masks(T, 4)
    ref = _make(kind)
    expected = [ref.step(v, m) for v, m in zip(V, M)]
    forms = {
        "bool": lambda m: m,
        "uint8": lambda m: m.astype(np.uint8),
        "float": lambda m: m.astype(float),
        "list": lambda m: m.tolist(),
        "non-contiguous": lambda m: np.repeat(m, 2)[::2],
    }
    for name, form in forms.items():
        obj = _make(kind)
        assert [obj.step(v, form(m)) for v, m in zip(V, M)] == expected, name
        assert _snapshot(obj) == _snapshot(ref), name
    for name, form in forms.items():
        obj = _make(kind)
        mats = np.array([np.asarray(form(m), dtype=float) for m in M])
        np.testing.assert_array_equal(obj.run(V, mats if name != "bool" else M), expected)
    # one mask shared by every round of run()
    stepped = _make(kind)
    expected_shared = [stepped.step(v, M[0]) for v in V]
    np.testing.assert_array_equal(_make(kind).run(V, M[0]), expected_shared)


def test_pdm_available_paths_decide_identically():
    T = 50
    U = _stream("pdm", T, 5)
    A = _masks(T, 5, width=3)
    ref = _make("pdm")
    expected = [ref.step(u, a) for u, a in zip(U, A)]
    for form in (lambda a: a, lambda a: a.astype(int), lambda a: a.tolist(),
                 lambda a: np.repeat(a, 2)[::2]):
        obj = _make("pdm")
        assert [obj.step(u, form(a)) for u, a in zip(U, A)] == expected
    np.testing.assert_array_equal(_make("pdm").run(U, A), expected)


# -- bad input: raised before any state change, on either path ---------------------------

def _bad_rows(kind):
    good = _stream(kind, 1, 9)[0]
    nan = good.copy()
    nan.flat[-1] = np.nan
    huge = good.copy()
    huge.flat[-1] = BIG
    neg = good.copy()
    neg.flat[0] = -0.5
    inf = good.copy()
    inf.flat[-1] = np.inf
    ro_nan = nan.copy()
    ro_nan.setflags(write=False)
    wide = np.zeros(good.shape[:-1] + (2 * good.shape[-1],))
    wide[..., ::2] = nan
    return {
        "nan": (nan, ValueError),
        "huge": (huge, ValueError),
        "negative": (neg, ValueError),
        "inf": (inf, ValueError),
        "read-only nan": (ro_nan, ValueError),
        "non-contiguous nan": (wide[..., ::2], ValueError),
        "wrong length": (good[:-1], ValueError),  # one agent short (pdm: a row)
        "too long": (np.concatenate([good, good], axis=0), ValueError),
        "extra dimension": (good[None], ValueError),
        "scalar": (np.float64(1.0), ValueError),
        "complex": (good.astype(complex), TypeError),
        "strings": (good.astype(str), TypeError),
        "object": (np.array(good.tolist(), dtype=object), TypeError),
        "masked": (np.ma.masked_array(good), TypeError),
        "datetime": (np.zeros(good.shape, dtype="datetime64[s]"), TypeError),
    }


@pytest.mark.parametrize("kind", ALL)
@pytest.mark.parametrize("case", list(_bad_rows("prop")))
def test_bad_step_input_raises_before_state_changes(kind, case):
    obj = _make(kind)
    for v in _stream(kind, 7, 1):
        obj.step(v)
    before = _snapshot(obj)
    bad, exc = _bad_rows(kind)[case]
    with pytest.raises(exc, match="values"):
        obj.step(bad)
    assert _snapshot(obj) == before
    obj.step(_stream(kind, 1, 2)[0])  # still usable


@pytest.mark.parametrize("kind", ALL)
@pytest.mark.parametrize("case", ["nan", "huge", "negative", "inf"])
@pytest.mark.parametrize("where", ["first", "last"])
def test_bad_value_in_any_round_of_run_changes_nothing(kind, case, where):
    obj = _make(kind)
    obj.run(_stream(kind, 5, 1))
    before = _snapshot(obj)
    V = _stream(kind, 3000, 2)  # several validation chunks
    bad = {"nan": np.nan, "huge": BIG, "negative": -1.0, "inf": np.inf}[case]
    if where == "first":
        V.flat[1] = bad
    else:
        V.flat[-1] = bad
    with pytest.raises(ValueError, match="values") as info:
        obj.run(V)
    if kind != "efk":
        flat = 1 if where == "first" else V.size - 1
        assert f"flat index {flat}" in str(info.value)
    assert _snapshot(obj) == before
    assert obj.rounds == 5


@pytest.mark.parametrize("kind", MASKED)
@pytest.mark.parametrize("row", [0, 1777, 2999])
def test_mask_row_without_eligible_agent_changes_nothing(kind, row):
    obj = _make(kind)
    obj.run(_stream(kind, 5, 1))
    before = _snapshot(obj)
    V = _stream(kind, 3000, 2)
    M = _masks(3000, 2)
    M[row] = False
    with pytest.raises(ValueError, match=f"row {row} has none"):
        obj.run(V, M)
    assert _snapshot(obj) == before
    # a removed agent counts as not eligible
    obj.remove_agent(0)
    M = np.ones((3000, N), dtype=bool)
    M[row] = False
    M[row, 0] = True
    with pytest.raises(ValueError, match=f"row {row} has none"):
        obj.run(V, M)
    # a bad value wins over a bad mask row, wherever they are
    V[-1, -1] = np.nan
    with pytest.raises(ValueError, match="finite"):
        obj.run(V, M)
    assert obj.rounds == 5


@pytest.mark.parametrize("kind", MASKED)
def test_bad_step_masks_change_nothing(kind):
    obj = _make(kind)
    obj.step(np.ones(N))
    before = _snapshot(obj)
    v = np.ones(N)
    cases = [
        (np.zeros(N, dtype=bool), "at least one"),
        (np.ones(N - 1, dtype=bool), "shape"),
        (np.ones((1, N), dtype=bool), "shape"),
        (np.full(N, 2.0), "0 and 1"),
        (np.array(["a"] * N), "bool"),
        (np.ma.masked_array(np.ones(N, dtype=bool)), "masked"),
        (np.repeat(np.zeros(N, dtype=bool), 2)[::2], "at least one"),
    ]
    for mask, msg in cases:
        with pytest.raises(ValueError, match=msg):
            obj.step(v, mask)
        assert _snapshot(obj) == before
    obj.remove_agent(1)
    only_removed = np.zeros(N, dtype=bool)
    only_removed[1] = True
    with pytest.raises(ValueError, match="at least one active"):
        obj.step(v, only_removed)


def test_pdm_bad_input_changes_nothing():
    obj = _make("pdm")
    obj.run(_stream("pdm", 4, 1))
    before = _snapshot(obj)
    U = _stream("pdm", 2500, 3)
    A = _masks(2500, 3, width=3)
    A[-1] = False
    with pytest.raises(ValueError, match="row 2499 has none"):
        obj.run(U, A)
    with pytest.raises(ValueError, match="at least one alternative"):
        obj.step(U[0], np.zeros(3, dtype=bool))
    with pytest.raises(ValueError, match="shape"):
        obj.step(U[0], np.ones(4, dtype=bool))
    with pytest.raises(ValueError, match="at least one alternative"):
        obj.step(np.ones((N, 0)))
    U[-1, -1, -1] = BIG
    with pytest.raises(ValueError, match="DBL_MAX"):
        obj.run(U)
    assert _snapshot(obj) == before


def test_benade_values_above_one_in_the_last_round():
    obj = _make("benade")
    V = np.random.default_rng(0).random((3000, N))
    V[-1, 2] = 1.5
    with pytest.raises(ValueError, match=f"flat index {V.size - N + 2}"):
        obj.run(V)
    assert obj.rounds == 0
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        obj.step(V[-1])
    assert obj.rounds == 0


# -- the fast-call entry: arguments, uninitialised objects, threads --------------------

@pytest.mark.parametrize("cls, args, second", [
    (_core.PropEngine, (N,), "eligible"),
    (_core.EfEngine, (N,), "eligible"),
    (_core.PdmEngine, (N,), "available"),
    (_core.RoundRobinEngine, (N,), None),
    (_core.EFkAllocator, (N, np.array([1.0])), None),
])
def test_fast_call_arguments(cls, args, second):
    eng = cls(*args)
    v = np.ones((N, 2)) if cls is _core.PdmEngine else np.ones(N)
    params = list(inspect.signature(cls.step).parameters)
    assert params == ["self", "values"] + ([second] if second else [])
    assert eng.step(values=v) >= 0
    if second:
        mask = np.ones(v.shape[-1], dtype=bool)
        assert eng.step(v, mask) >= 0
        assert eng.step(v, **{second: mask}) >= 0
        assert eng.step(values=v, **{second: None}) >= 0
        with pytest.raises(TypeError, match="at most 2"):
            eng.step(v, mask, mask)
        with pytest.raises(TypeError, match="multiple values"):
            eng.step(v, mask, **{second: mask})
    else:
        with pytest.raises(TypeError, match="at most 1"):
            eng.step(v, v)
    rounds = eng.rounds()
    with pytest.raises(TypeError, match="missing required argument 'values'"):
        eng.step()
    with pytest.raises(TypeError, match="multiple values for argument 'values'"):
        eng.step(v, values=v)
    with pytest.raises(TypeError, match="unexpected keyword argument 'bogus'"):
        eng.step(v, bogus=1)
    assert eng.rounds() == rounds
    with pytest.raises(TypeError):
        cls.step(object(), v)  # the descriptor checks the type of self
    with pytest.raises(TypeError, match="not initialised"):
        cls.__new__(cls).step(v)


def test_noop_yardstick():
    assert _core._noop() == 0
    assert _core._noop(np.ones(3)) == 0
    assert _core._noop(np.ones(3), eligible=None) == 0


@pytest.mark.parametrize("kind", ["prop", "ef", "pdm", "efk"])
def test_two_threads_stepping_one_object_never_crash_or_lose_rounds(kind):
    obj = _make(kind)
    V = _stream(kind, 3000, 6)
    ok, refused = [0, 0], [0, 0]
    barrier = threading.Barrier(2)

    def work(k):
        barrier.wait()
        for v in V:
            try:
                obj.step(v)
                ok[k] += 1
            except RuntimeError as exc:
                assert "another thread" in str(exc)
                refused[k] += 1
        # and a batch call with the GIL released, racing the other thread's steps
        try:
            obj.run(V[:500])
            ok[k] += 500
        except RuntimeError:
            refused[k] += 1

    threads = [threading.Thread(target=work, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert obj.rounds == sum(ok)


@pytest.mark.parametrize("kind", MASKED)
def test_bool_mask_bytes_other_than_one_count_as_true(kind):
    """A bool array read in place may hold bytes other than 0/1 (a uint8 view): they
    count as True on every path, exactly as the converted mask."""
    T = 40
    V = _stream(kind, T, 8)
    raw = (_masks(T, 8).astype(np.uint8) * np.uint8(7))
    odd = raw.view(bool)
    a, b = _make(kind), _make(kind)
    got = [a.step(v, m) for v, m in zip(V, odd)]
    assert got == [b.step(v, m) for v, m in zip(V, raw != 0)]
    np.testing.assert_array_equal(_make(kind).run(V, odd), got)
