"""Hostile input and misuse of the online engines (SPEC "Hardening"): use from two
threads, sizes too large to allocate, values whose sums would overflow, states whose
next step would give inf/NaN, and non-real dtypes."""

from __future__ import annotations

import pickle
import threading

import numpy as np
import pytest

import fastfair as ff


class _Blocking:
    """An array-like whose conversion blocks until released: the first call is then
    certainly inside the object when the second call arrives."""

    def __init__(self, arr, entered: threading.Event, release: threading.Event):
        self.arr = np.asarray(arr, dtype=float)
        self.entered = entered
        self.release = release

    def __array__(self, dtype=None, copy=None):
        self.entered.set()
        assert self.release.wait(10)
        return self.arr if dtype is None else self.arr.astype(dtype)


def _makers():
    return {
        "prop": (lambda: ff.OnlineAllocator(4, "prop"), np.ones(4), np.ones((3, 4))),
        "ef": (lambda: ff.OnlineAllocator(4, "ef"), np.ones(4), np.ones((3, 4))),
        "pdm": (lambda: ff.PublicDecisionMaker(4), np.ones((4, 2)), np.ones((3, 4, 2))),
    }


@pytest.mark.parametrize("kind", ["prop", "ef", "pdm"])
@pytest.mark.parametrize("second", ["step", "run", "state", "deficits", "add_agent"])
def test_second_thread_gets_runtime_error(kind, second):
    make, row, block = _makers()[kind]
    obj = make()
    entered, release = threading.Event(), threading.Event()
    result = {}

    def first():
        result["r"] = obj.run(_Blocking(block, entered, release))

    t = threading.Thread(target=first)
    t.start()
    try:
        assert entered.wait(10)
        with pytest.raises(RuntimeError, match="another thread"):
            if second == "step":
                obj.step(row)
            elif second == "run":
                obj.run(block)
            elif second == "state":
                obj.state  # noqa: B018
            elif second == "deficits":
                obj.deficits  # noqa: B018
            else:
                obj.add_agent()
    finally:
        release.set()
        t.join(10)
    assert len(result["r"]) == 3
    assert obj.rounds == 3  # the refused call changed nothing; no round lost
    assert obj.step(row) >= 0  # and the object is usable again


@pytest.mark.parametrize("notion", ["prop", "ef"])
def test_parallel_runs_never_lose_rounds(notion):
    alloc = ff.OnlineAllocator(8, notion)
    V = np.random.default_rng(0).random((20_000, 8))
    errors, done = [], []
    barrier = threading.Barrier(2)

    def work():
        barrier.wait()
        try:
            alloc.run(V)
            done.append(1)
        except RuntimeError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(done) + len(errors) == 2
    assert alloc.rounds == len(done) * len(V)


def test_separate_objects_still_run_in_parallel():
    V = np.random.default_rng(1).random((5000, 6))
    objs = [ff.OnlineAllocator(6, "ef") for _ in range(2)]
    out = [None, None]

    def work(k):
        out[k] = objs[k].run(V)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    np.testing.assert_array_equal(out[0], out[1])


def test_huge_ef_is_refused_before_allocating():
    with pytest.raises(ValueError, match="bytes"):
        ff.OnlineAllocator(10**6, "ef")
    a = ff.OnlineAllocator(16_000, "prop")  # prop is O(n): fine
    assert a.n_agents == 16_000


@pytest.mark.parametrize("make", [
    lambda: ff.OnlineAllocator(3, "prop"),
    lambda: ff.OnlineAllocator(3, "ef"),
    lambda: ff.baselines.RoundRobin(3),
])
def test_values_whose_sums_could_overflow_are_refused(make):
    a = make()
    a.step([1.0, 2.0, 3.0])
    before = pickle.dumps(a)
    with pytest.raises(ValueError, match="9.7"):
        a.step([1e308, 1.0, 1.0])
    with pytest.raises(ValueError, match="DBL_MAX"):
        a.run(np.full((2, 3), 1e300))
    assert pickle.dumps(a) == before
    # the largest accepted value keeps everything finite and picklable
    for _ in range(5):
        a.step([9.7e288, 9.7e288, 1.0])
    assert np.isfinite(a.utilities).all()
    pickle.loads(pickle.dumps(a))


def test_pdm_values_whose_sums_could_overflow_are_refused():
    pdm = ff.PublicDecisionMaker(2)
    with pytest.raises(ValueError, match="DBL_MAX"):
        pdm.step([[1e308, 0.0], [0.0, 1.0]])
    assert pdm.rounds == 0


def test_ef_large_values_keep_the_guarantee():
    a = ff.OnlineAllocator(3, "ef")
    rng = np.random.default_rng(2)
    for _ in range(200):
        a.step(rng.random(3) * 9e288)
        assert np.isfinite(a.max_deficit)
        assert a.max_deficit <= a.bound()


def test_from_state_refuses_states_whose_next_step_overflows():
    a = ff.OnlineAllocator(3, "ef")
    a.run(np.random.default_rng(0).random((10, 3)))
    st = a.state
    st["engine"]["envy"][0, 1] = 1.0
    st["engine"]["bundle_max"][0, 1] = 5e-324
    with pytest.raises(ValueError, match="normalised deficit"):
        ff.OnlineAllocator.from_state(st)
    b = ff.OnlineAllocator(3, "prop")
    st = b.state
    st["engine"]["raw_deficits"][0] = 1.0
    st["engine"]["missed_max"][0] = 5e-324
    with pytest.raises(ValueError, match="normalised deficit"):
        ff.OnlineAllocator.from_state(st)
    st = b.state
    st["engine"]["own"][0] = 1.7e308
    with pytest.raises(ValueError, match="magnitude"):
        ff.OnlineAllocator.from_state(st)
    c = ff.PublicDecisionMaker(2)
    st = c.state
    st["engine"]["raw_deficits"][1] = 1e10
    st["engine"]["scale"][1] = 1e-300
    with pytest.raises(ValueError, match="normalised deficit"):
        ff.PublicDecisionMaker.from_state(st)


@pytest.mark.parametrize("key, value", [
    ("active", np.array([1.0, 0.5, 1.0])),
    ("weights", np.array([1.0, -1.0, 1.0])),
    ("weights", np.array([2.0, 1.0, 1.0])),  # differs from the constructor's
    ("moment_extra", -1.0),
    ("moment_peak", float("nan")),
    ("moment_plain", -3),
    ("tie_break", "index"),
    ("n_agents", 2),
    ("n_agents", 2**40),
])
def test_from_state_refuses_bad_extension_fields(key, value):
    a = ff.OnlineAllocator(3)
    a.run(np.ones((5, 3)))
    st = a.state
    st["engine"][key] = value
    with pytest.raises(ValueError, match="invalid state"):
        ff.OnlineAllocator.from_state(st)


@pytest.mark.parametrize("bad", [
    np.array([1 + 1j, 1, 1]),
    np.array(["a", "b", "c"]),
    np.array(["2020-01-01"] * 3, dtype="datetime64[D]"),
    np.ma.masked_array([1.0, 2.0, 3.0], [False, True, False]),
    np.array([object(), 1, 2], dtype=object),
])
@pytest.mark.parametrize("make", [
    lambda: ff.OnlineAllocator(3, "prop"),
    lambda: ff.OnlineAllocator(3, "ef"),
    lambda: ff.baselines.GreedyMaxDeficit(3),
])
def test_only_real_dtypes(bad, make):
    a = make()
    with pytest.raises(TypeError, match="values"):
        a.step(bad)
    with pytest.raises(TypeError, match="values"):
        a.run(bad[None, :])
    assert a.rounds == 0


def test_pdm_only_real_dtypes():
    pdm = ff.PublicDecisionMaker(2)
    with pytest.raises(TypeError, match="values"):
        pdm.step(np.array([[1 + 1j, 0], [0, 1]]))
    with pytest.raises(TypeError, match="values"):
        pdm.run(np.array([[["a", "b"], ["c", "d"]]]))
    assert pdm.rounds == 0


@pytest.mark.parametrize("make", [
    lambda: ff.baselines.RoundRobin(3),
    lambda: ff.baselines.GreedyMaxDeficit(3),
    lambda: ff.baselines.Benade2018(3, horizon=100),
])
def test_baselines_refuse_a_second_thread(make):
    obj = make()
    entered, release = threading.Event(), threading.Event()
    result = {}

    def first():
        result["r"] = obj.run(_Blocking(np.full((4, 3), 0.5), entered, release))

    t = threading.Thread(target=first)
    t.start()
    try:
        assert entered.wait(10)
        with pytest.raises(RuntimeError, match="another thread"):
            obj.step([0.5, 0.5, 0.5])
    finally:
        release.set()
        t.join(10)
    assert len(result["r"]) == 4
    assert obj.rounds == 4


@pytest.mark.parametrize("call", [
    lambda: ff.OnlineAllocator(2**70),
    lambda: ff.PublicDecisionMaker(2**70),
    lambda: ff.OnlineAllocator(2).remove_agent(2**70),
    lambda: ff.PublicDecisionMaker(2).remove_agent(-2**70),
    lambda: ff.OnlineAllocator(2).add_agent(10**400),
    lambda: ff.OnlineAllocator(2, p=10**400),
    lambda: ff.OnlineAllocator(2, discount=10**400),
    lambda: ff.PublicDecisionMaker(2, p=10**400),
])
def test_out_of_range_python_ints_are_value_errors(call):
    with pytest.raises(ValueError):
        call()
