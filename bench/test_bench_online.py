"""Online allocation throughput: fastfair vs the NumPy references, side by side.

Groups ``online-<notion>-n<n>``: ``fastfair-run`` (batch, GIL released),
``fastfair-step`` (one Python call per round), ``numpy-loop`` (the best vectorised
NumPy loop of the same rule, fastfair._reference.vectorised: the yardstick of issue 14)
and ``numpy-reference`` (the from-scratch reference of the tests). Every group first
asserts the implementations agree. ``online-ef-n128-late`` times 1,000 rounds after a
prefix of the stream (fastfair restored from a pickle, the loop fast-forwarded along
fastfair's decisions); ``online-step-call-n008`` has a bare pybind11 call beside it.
Rounds per second = rounds / time, printed in ``extra_info``.

Small sizes by default (the normal pytest run executes each once, untimed); the README
numbers use::

    FASTFAIR_BENCH_FULL=1 python -m pytest bench/test_bench_online.py --benchmark-enable \
        --benchmark-columns=min,median,rounds --benchmark-sort=name
"""

from __future__ import annotations

import os

import numpy as np
import pytest

import fastfair as ff
from fastfair._reference import online as ref
from fastfair._reference import vectorised as vec
from fastfair.cli.bench_sections import _bare_call

FULL = os.environ.get("FASTFAIR_BENCH_FULL") == "1"
NS = [2, 8, 32, 128, 1024]
LOOPS = {"prop": vec.prop_loop, "ef": vec.ef_loop}


def _rounds(kind, notion, n):
    if not FULL:
        return {"run": 2000, "step": 200, "loop": 20, "ref": 5}[kind]
    if kind == "run":
        if n > 128:
            return 50_000
        return 1_000_000 if n <= 8 or notion == "prop" else (100_000 if n <= 32 else 20_000)
    if kind == "step":
        return 20_000
    if kind == "loop":
        return 2000 if n <= 32 else 200
    return 200 if n <= 8 else (20 if notion == "prop" or n <= 32 else 3)


def _stream(T, n, seed=0):
    return np.random.default_rng(seed).random((T, n))


def _agree(notion, n, V):
    """fastfair's and the NumPy loop's choices both minimise the reference potential
    (within a relative 1e-12; exact ties may be broken differently), all kept in step
    with fastfair's decisions."""
    V = V[: min(len(V), 30 if n < 128 else 4)]
    R = ref.PropReference if notion == "prop" else ref.EfReference
    alloc = ff.OnlineAllocator(n, notion)
    mine = alloc.run(V)
    log_s = ref.reference_run(R, V, forced=mine)
    assert ref.chosen_gap(log_s, mine) <= 1e-12
    gaps = np.zeros(len(V))
    LOOPS[notion](V, p=alloc.p, forced=mine, gaps=gaps)
    assert gaps.max() <= 1e-9  # the loop's own minimum is fastfair's choice (or a tie)


@pytest.mark.parametrize("notion", ["prop", "ef"])
@pytest.mark.parametrize("n", NS)
@pytest.mark.parametrize("impl", ["fastfair-run", "fastfair-step", "numpy-loop", "numpy-reference"])
def test_bench_online(benchmark, notion, n, impl):
    if n > 128 and (notion == "ef" or impl == "numpy-reference"):
        pytest.skip("EF at n=1024 needs 8 MB of pairs a round; the reference O(n^2) a candidate")
    benchmark.group = f"online-{notion}-n{n:03d}"
    if impl == "fastfair-run":
        T = _rounds("run", notion, n)
        V = _stream(T, n)
        _agree(notion, n, V)
        result = benchmark.pedantic(
            lambda a: a.run(V), setup=lambda: ((ff.OnlineAllocator(n, notion),), {}),
            rounds=3, iterations=1)
        assert result.shape == (T,)
    elif impl == "fastfair-step":
        T = _rounds("step", notion, n)
        V = _stream(T, n)

        def steps(a):
            step = a.step
            for v in V:
                step(v)
            return a

        a = benchmark.pedantic(steps, setup=lambda: ((ff.OnlineAllocator(n, notion),), {}),
                               rounds=3, iterations=1)
        assert a.rounds == T
        np.testing.assert_array_equal(
            ff.OnlineAllocator(n, notion).run(V[:50]),
            [b.step(v) for b in [ff.OnlineAllocator(n, notion)] for v in V[:50]])
    elif impl == "numpy-loop":
        T = _rounds("loop", notion, n)
        V = _stream(T, n)
        benchmark.pedantic(LOOPS[notion], args=(V,), rounds=1, iterations=1)
        _agree(notion, n, V)
    else:
        T = _rounds("ref", notion, n)
        V = _stream(T, n)
        R = ref.PropReference if notion == "prop" else ref.EfReference
        benchmark.pedantic(ref.reference_run, args=(R, V), rounds=1, iterations=1)
        _agree(notion, n, V)
    benchmark.extra_info["rounds"] = T
    if benchmark.stats is not None:
        benchmark.extra_info["rounds_per_s"] = T / benchmark.stats.stats.min


@pytest.mark.parametrize("impl", ["fastfair-run", "numpy-loop"])
def test_bench_ef_late(benchmark, impl):
    """EF n=128, 1,000 rounds late in the stream (after 20,000 rounds; 200 unless FULL)."""
    import pickle

    benchmark.group = "online-ef-n128-late"
    n, skip, T = 128, 20_000 if FULL else 200, 1_000 if FULL else 20
    V = _stream(skip + T, n, seed=3)
    start = ff.OnlineAllocator(n, "ef")
    prefix = start.run(V[:skip])
    frozen = pickle.dumps(start)
    ours = pickle.loads(frozen).run(V[skip:])
    if impl == "fastfair-run":
        benchmark.pedantic(lambda a: a.run(V[skip:]),
                           setup=lambda: ((pickle.loads(frozen),), {}), rounds=3, iterations=1)
    else:
        base = vec.ef_apply(V[:skip], prefix, p=start.p)

        def go(st):
            return vec.ef_loop(V[skip:], p=start.p, state=st)

        benchmark.pedantic(go, setup=lambda: (({k: a.copy() for k, a in base.items()},), {}),
                           rounds=1, iterations=1)
    gaps = np.zeros(T)
    vec.ef_loop(V[skip:], p=start.p, forced=ours, gaps=gaps,
                state={k: a.copy() for k, a in vec.ef_apply(V[:skip], prefix, p=start.p).items()})
    assert gaps.max() <= 1e-9
    benchmark.extra_info["rounds"] = T


STEP_CALLS = ["prop", "ef", "prop-engine", "ef-engine", "pdm-alts4"]


@pytest.mark.benchmark(group="online-step-call-n008")
@pytest.mark.parametrize("impl", STEP_CALLS)
def test_bench_single_step_call(benchmark, impl):
    """The per-call latency of ``OnlineAllocator(8, notion).step(values)`` from Python,
    beside its yardsticks in the same run: the engine's own ``step`` (no Python
    wrapper) and ``PublicDecisionMaker(8).step`` over 4 alternatives; the bare pybind11
    call is test_bench_bare_pybind11_call."""
    v = _stream(1, 8)[0]
    if impl == "pdm-alts4":
        d = ff.PublicDecisionMaker(8)
        u = np.random.default_rng(2).random((8, 4))
        assert 0 <= benchmark(d.step, u) < 4
        return
    a = ff.OnlineAllocator(8, impl.split("-")[0])
    fn = a._impl.step if impl.endswith("-engine") else a.step
    r = benchmark(fn, v)
    assert 0 <= r < 8


@pytest.mark.parametrize("notion", ["prop", "ef"])
@pytest.mark.parametrize("impl", ["run", "check-only"])
def test_bench_run_input_check(benchmark, notion, impl):
    """What ``run``'s input check costs next to the rounds (n = 8): ``check-only`` is a
    run whose last value is NaN, so it does the whole one-pass check (GIL released) and
    refuses before the first round."""
    benchmark.group = f"online-run-check-{notion}-n008"
    T = 1_000_000 if FULL else 2000
    V = _stream(T, 8)
    if impl == "check-only":
        V[-1, -1] = np.nan

    def go(a):
        try:
            return a.run(V)
        except ValueError:
            return None

    out = benchmark.pedantic(go, setup=lambda: ((ff.OnlineAllocator(8, notion),), {}),
                             rounds=5 if FULL else 1, iterations=1)
    assert (out is None) == (impl == "check-only")
    benchmark.extra_info["rounds"] = T
    if benchmark.stats is not None:
        benchmark.extra_info["ns_per_round"] = benchmark.stats.stats.min / T * 1e9


@pytest.mark.benchmark(group="online-step-call-n008")
def test_bench_bare_pybind11_call(benchmark):
    """The yardstick of ``step()``: the cheapest call into fastfair._core
    (``_core._noop`` when built, else a counter read)."""
    name, bare, with_values = _bare_call()
    benchmark.extra_info["yardstick"] = name
    if with_values:
        benchmark(bare, _stream(1, 8)[0])
    else:
        benchmark(bare)


@pytest.mark.parametrize("n", [8, 32])
@pytest.mark.parametrize("impl", ["fastfair-run", "numpy-loop", "numpy-reference"])
def test_bench_pdm(benchmark, n, impl):
    benchmark.group = f"pdm-n{n:03d}-alts4"
    big = {"fastfair-run": 200_000, "numpy-loop": 5_000, "numpy-reference": 200}
    T = big[impl] if FULL else (500 if impl == "fastfair-run" else 5)
    U = np.random.default_rng(1).random((T, n, 4))
    if impl == "fastfair-run":
        out = benchmark.pedantic(lambda d: d.run(U), setup=lambda: ((ff.PublicDecisionMaker(n),), {}),
                                 rounds=3, iterations=1)
    elif impl == "numpy-loop":
        theirs = benchmark.pedantic(vec.pdm_loop, args=(U,), rounds=1, iterations=1)
        gaps = np.zeros(T)
        vec.pdm_loop(U, forced=ff.PublicDecisionMaker(n).run(U), gaps=gaps)
        assert gaps.max() <= 1e-9 and theirs.shape == (T,)
    else:
        def go():
            r = ref.PdmReference(n)
            return np.array([r.step(u) for u in U])
        benchmark.pedantic(go, rounds=1, iterations=1)
    # agreement: fastfair's choice minimises the reference potential every round
    mine = ff.PublicDecisionMaker(n).run(U[:20])
    r = ref.PdmReference(n)
    for u, x in zip(U[:20], mine):
        ls = r.log_S(u)
        assert ls[x] - ls.min() <= 1e-12
        r.apply(u, int(x))
    benchmark.extra_info["rounds"] = T


# ---- what each scheduler feature costs per round ---------------------------------------
FEATURES = ["index", "value", "mask", "weights", "removed"]


def _feature_alloc(notion, n, feature):
    kw = {"tie_break": "index" if feature == "index" else "value"}
    if feature == "weights":
        kw["weights"] = np.linspace(0.5, 2.0, n)
    a = ff.OnlineAllocator(n, notion, **kw)
    if feature == "removed":
        a.remove_agent(n - 1)  # everyone else eligible: the masked path without a mask
    return a


@pytest.mark.parametrize(("notion", "n"), [("prop", 8), ("ef", 128)])
@pytest.mark.parametrize("feature", FEATURES)
def test_bench_features(benchmark, notion, n, feature):
    """``run`` with each extension: "index" (the original tie rule), "value" (the
    default), "mask" (a random (T, n) eligibility mask, 75% True), "weights" (prop:
    unequal entitlements; ef: same as value) and "removed" (one agent removed)."""
    if feature == "weights" and notion == "ef":
        pytest.skip("weights are prop only")
    benchmark.group = f"online-features-{notion}-n{n:03d}"
    T = (1_000_000 if notion == "prop" else 20_000) if FULL else 500
    rng = np.random.default_rng(7)
    V = rng.random((T, n))
    mask = None
    if feature == "mask":
        mask = rng.random((T, n)) < 0.75
        mask[np.arange(T), rng.integers(0, n, T)] = True
    out = benchmark.pedantic(
        lambda a: a.run(V, mask), setup=lambda: ((_feature_alloc(notion, n, feature),), {}),
        rounds=5 if FULL else 1, iterations=1)
    assert out.shape == (T,)
    check = _feature_alloc(notion, n, feature)
    assert check.max_deficit <= check.bound()
    benchmark.extra_info["rounds"] = T
    if benchmark.stats is not None:
        benchmark.extra_info["ns_per_round"] = benchmark.stats.stats.min / T * 1e9


@pytest.mark.benchmark(group="online-step-call-features-n008")
@pytest.mark.parametrize("feature", ["index", "value", "mask"])
def test_bench_step_call_features(benchmark, feature):
    """Per-call latency of ``step`` from Python with each feature (prop, n = 8)."""
    a = _feature_alloc("prop", 8, feature)
    v = _stream(1, 8)[0]
    mask = np.ones(8, bool) if feature == "mask" else None
    mask = None if mask is None else mask
    if mask is None:
        r = benchmark(a.step, v)
    else:
        mask[3] = False
        r = benchmark(a.step, v, mask)
    assert 0 <= r < 8
