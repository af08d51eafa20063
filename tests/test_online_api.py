"""OnlineAllocator facade: constructor checks, read-outs, bad input leaving the state
untouched, state / pickle round trips that continue exactly."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest

import fastfair as ff
from fastfair._reference import online as ref

NOTIONS = ["prop", "ef"]


def _engine_state_equal(a, b):
    sa, sb = a.state["engine"], b.state["engine"]
    assert sa.keys() == sb.keys()
    for k in sa:
        np.testing.assert_array_equal(sa[k], sb[k])


@pytest.mark.parametrize("notion", NOTIONS)
def test_initial_readouts(notion):
    n = 5
    a = ff.OnlineAllocator(n, notion)
    m = n if notion == "prop" else n * (n - 1)
    assert a.rounds == 0
    assert a.max_deficit == 0.0
    assert a.potential == pytest.approx(m ** (1 / a.p))
    assert a.bound() == pytest.approx(ref.tau_bound(a.p, m, (n - 1) / n if notion == "prop" else 2.0, n, 0))
    shape = (n,) if notion == "prop" else (n, n)
    assert a.deficits.shape == shape and not a.deficits.any()
    assert a.utilities.shape == (n,)
    assert a.notion == notion and a.n_agents == n and a.discount is None


def test_ef_deficits_shape_and_zero_diagonal():
    rng = np.random.default_rng(0)
    a = ff.OnlineAllocator(4, "ef")
    a.run(rng.random((100, 4)))
    d = a.deficits
    assert d.shape == (4, 4)
    assert np.all(np.diag(d) == 0)
    assert a.max_deficit == d.max()


@pytest.mark.parametrize("notion", NOTIONS)
def test_readouts_are_copies(notion):
    a = ff.OnlineAllocator(3, notion)
    a.run(np.random.default_rng(1).random((50, 3)))
    d = a.deficits
    d[...] = 99
    u = a.utilities
    u[...] = -1
    assert a.max_deficit < 99
    assert a.utilities.min() >= 0


def test_utilities_are_own_bundle_values():
    V = np.array([[1.0, 0.5, 0.2], [0.3, 2.0, 0.1], [0.0, 0.0, 4.0], [1.0, 1.0, 1.0]])
    a = ff.OnlineAllocator(3, "prop")
    r = a.run(V)
    expected = np.zeros(3)
    for t, i in enumerate(r):
        expected[i] += V[t, i]
    np.testing.assert_array_equal(a.utilities, expected)


def test_step_accepts_lists_and_other_dtypes():
    a = ff.OnlineAllocator(3)
    b = ff.OnlineAllocator(3)
    assert a.step([1, 2, 3]) == b.step(np.array([1.0, 2.0, 3.0]))
    assert a.step(np.array([1, 0, 0], dtype=np.int32)) == b.step([1.0, 0.0, 0.0])
    assert isinstance(a.step([0.1, 0.2, 0.3]), int)


@pytest.mark.parametrize("notion", NOTIONS)
@pytest.mark.parametrize(
    "bad",
    [
        [1.0, 2.0],
        [1.0, 2.0, 3.0, 4.0],
        [0.1, np.nan, 0.3],
        [0.1, np.inf, 0.3],
        [0.1, -1e-300, 0.3],
        [[0.1, 0.2, 0.3]],
        5.0,
    ],
)
def test_bad_step_input_raises_before_state_changes(notion, bad):
    a = ff.OnlineAllocator(3, notion)
    a.run(np.random.default_rng(2).random((20, 3)))
    before = a.state
    with pytest.raises(ValueError, match="values"):
        a.step(bad)
    twin = ff.OnlineAllocator.from_state(before)
    _engine_state_equal(a, twin)


@pytest.mark.parametrize("notion", NOTIONS)
def test_bad_run_input_raises_before_state_changes(notion):
    a = ff.OnlineAllocator(3, notion)
    a.run(np.random.default_rng(3).random((20, 3)))
    before = ff.OnlineAllocator.from_state(a.state)
    V = np.random.default_rng(4).random((100, 3))
    V[77, 1] = np.nan  # the bad row is late: no earlier row may have been applied
    with pytest.raises(ValueError, match="values"):
        a.run(V)
    V[77, 1] = -2.0
    with pytest.raises(ValueError, match="values"):
        a.run(V)
    with pytest.raises(ValueError, match="values"):
        a.run(np.ones((10, 4)))
    with pytest.raises(ValueError, match="values"):
        a.run(np.ones(3))
    _engine_state_equal(a, before)
    assert a.run(np.zeros((0, 3))).shape == (0,)


def test_constructor_errors():
    with pytest.raises(ValueError, match="notion"):
        ff.OnlineAllocator(3, "envy")
    with pytest.raises(TypeError, match="notion"):
        ff.OnlineAllocator(3, 1)
    with pytest.raises(ValueError, match="n_agents"):
        ff.OnlineAllocator(0)
    with pytest.raises(TypeError, match="n_agents"):
        ff.OnlineAllocator(2.5)
    with pytest.raises(ValueError, match="p"):
        ff.OnlineAllocator(3, p=1.5)
    with pytest.raises(ValueError, match="p"):
        ff.OnlineAllocator(3, p=math.inf)
    with pytest.raises(ValueError, match="discount"):
        ff.OnlineAllocator(3, discount=1.0)
    with pytest.raises(ValueError, match="discount"):
        ff.OnlineAllocator(3, "ef", discount=0.0)
    with pytest.raises(ValueError, match="levels"):
        ff.OnlineAllocator(3, "prop", levels=[1.0])
    with pytest.raises(ValueError, match="levels"):
        ff.OnlineAllocator(3, "ef", levels=[1.0])
    with pytest.raises(ValueError, match="discount"):
        ff.OnlineAllocator(3, "efk", levels=[1.0], discount=0.5)


def test_efk_readout_requires_efk():
    with pytest.raises(ValueError, match="efk"):
        ff.OnlineAllocator(3).efk()


@pytest.mark.parametrize("notion", NOTIONS)
@pytest.mark.parametrize("discount", [None, 0.7])
@pytest.mark.parametrize("how", ["pickle", "state"])
def test_restored_allocator_continues_exactly(notion, discount, how):
    rng = np.random.default_rng(6)
    V = ref.random_stream(rng, 1200, 4, "mixed")
    a = ff.OnlineAllocator(4, notion, p=3.0, discount=discount)
    a.run(V[:600])
    b = pickle.loads(pickle.dumps(a)) if how == "pickle" else ff.OnlineAllocator.from_state(a.state)
    assert b.rounds == 600 and b.p == a.p and b.discount == discount
    assert b.potential == a.potential and b.bound() == a.bound()
    np.testing.assert_array_equal(a.run(V[600:]), b.run(V[600:]))
    _engine_state_equal(a, b)


@pytest.mark.parametrize("notion", NOTIONS)
def test_invalid_state_rejected_and_object_unchanged(notion):
    a = ff.OnlineAllocator(3, notion)
    a.run(np.random.default_rng(8).random((30, 3)))
    good = a.state
    key = "missed_max" if notion == "prop" else "bundle_max"
    for mutate in (
        lambda s: s["engine"].__setitem__(key, -np.ones_like(s["engine"][key])),
        lambda s: s["engine"].__setitem__(key, np.ones(7)),
        lambda s: s["engine"].__setitem__("version", 99),
        lambda s: s["engine"].__setitem__("version", "one"),
        lambda s: s["engine"].__setitem__("n_agents", -3),
        lambda s: s["engine"].__setitem__("kind", "pdm"),
        lambda s: s["engine"].__setitem__("discount", 0.5),
        lambda s: s["engine"].__setitem__("p", 9.0),
        lambda s: s["engine"].__setitem__("rounds", -1),
        lambda s: s["engine"].pop("own"),
        lambda s: s["engine"].__setitem__("own", np.full(3, np.nan)),
    ):
        st = a.state
        mutate(st)
        with pytest.raises(ValueError, match="state"):
            a._impl.set_state(st["engine"])
        _engine_state_equal(a, ff.OnlineAllocator.from_state(good))
    with pytest.raises(ValueError, match="state"):
        ff.OnlineAllocator.from_state({"n_agents": 3})
    with pytest.raises(TypeError, match="state"):
        ff.OnlineAllocator.from_state([1, 2])


def test_ef_state_diagonal_must_be_zero():
    a = ff.OnlineAllocator(3, "ef")
    st = a.state
    st["engine"]["envy"] = np.eye(3)
    with pytest.raises(ValueError, match="diagonal"):
        ff.OnlineAllocator.from_state(st)


def test_independent_objects_in_threads_match_serial():
    import threading

    rng = np.random.default_rng(12)
    Vs = [rng.random((20000, 8)) for _ in range(2)]
    serial = [ff.OnlineAllocator(8, "ef").run(V) for V in Vs]
    out = [None, None]

    def work(k):
        out[k] = ff.OnlineAllocator(8, "ef").run(Vs[k])

    ts = [threading.Thread(target=work, args=(k,)) for k in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    for k in range(2):
        np.testing.assert_array_equal(out[k], serial[k])


def test_repr_and_exports():
    assert "OnlineAllocator(n_agents=3" in repr(ff.OnlineAllocator(3))
    for name in ("OnlineAllocator", "PublicDecisionMaker", "baselines"):
        assert name in ff.__all__
    assert ff.baselines.RoundRobin is not None
