"""Classical EF_k engine (docs/formulas.md section 7) against the NumPy reference."""

from __future__ import annotations

import math
import pickle
import threading

import numpy as np
import pytest
from fastfair._efk import make_efk_engine
from fastfair._reference.efk import (
    EFkReference,
    efk_matrix,
    efk_of_allocation,
    match_levels,
    tau_bound,
    threshold_deficits,
)

# ----------------------------------------------------------------------------- helpers


def random_levels(rng: np.random.Generator, L: int, kind: str) -> np.ndarray:
    if kind == "int":
        return np.sort(
            rng.choice(np.arange(1, 4 * L + 1), size=L, replace=False)
        ).astype(float)
    if kind == "decimal":  # not exactly representable: sums round
        return (
            np.sort(rng.choice(np.arange(1, 10 * L + 1), size=L, replace=False)) / 10.0
        )
    return np.sort(rng.uniform(0.05, 5.0, size=L))


def random_values(
    rng: np.random.Generator, T: int, n: int, levels: np.ndarray, zero: float = 0.3
) -> np.ndarray:
    v = levels[rng.integers(0, levels.size, size=(T, n))]
    return np.where(rng.random((T, n)) < zero, 0.0, v)


def counts_of(values: np.ndarray, recipients: np.ndarray, levels: np.ndarray, n: int):
    """Per-(i, j, level) item counts of an allocation (the engine's primitive state)."""
    lev = match_levels(values, levels)
    c = np.zeros((n, n, levels.size), dtype=np.int64)
    for t in range(values.shape[0]):
        for i in range(n):
            if lev[t, i] >= 0:
                c[i, recipients[t], lev[t, i]] += 1
    return c


def start_from(values, recipients, levels, n, p):
    """Engine and reference, both at the (arbitrary) allocation given."""
    eng = make_efk_engine(n, levels, p)
    ref = EFkReference(n, levels, p)
    for v, a in zip(values, recipients):
        ref.apply(v, int(a))
    st = eng.get_state()
    st["counts"] = counts_of(values, recipients, levels, n)
    st["rounds"] = len(recipients)
    eng.set_state(st)
    return eng, ref


def check_same_state(eng, ref) -> None:
    np.testing.assert_array_equal(eng.deficits(), ref.deficits())
    assert eng.rounds() == len(ref.recipients)
    assert eng.max_deficit() == ref.deficits().max()
    np.testing.assert_allclose(eng.utilities(), ref.utilities(), rtol=1e-12, atol=0)
    assert math.isclose(eng.potential(), ref.potential(), rel_tol=1e-12)
    assert math.isclose(eng.log_potential(), ref.log_s() / ref.p, rel_tol=1e-12)
    assert math.isclose(eng.bound(), ref.bound(), rel_tol=1e-14)


# ---------------------------------------------------------- decision-for-decision tests


@pytest.mark.parametrize("seed", range(12))
def test_matches_reference_decision_for_decision(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 6))
    L = int(rng.integers(1, 6))
    levels = random_levels(rng, L, ["int", "decimal", "float"][seed % 3])
    p = [None, 2.0, 3.5, 7.0][seed % 4]
    # start from a random (unfair) allocation so deficits are large and varied
    T0 = int(rng.integers(0, 40))
    V0 = random_values(rng, T0, n, levels)
    eng, ref = start_from(V0, rng.integers(0, n, size=T0), levels, n, p)
    check_same_state(eng, ref)
    decisive = 0
    for v in random_values(rng, 120, n, levels, zero=float(rng.uniform(0, 0.6))):
        log_s = ref.candidate_log_s(v)
        a = eng.step(v)
        # the engine's choice is a minimiser of S (relative 1e-12) ...
        assert math.expm1(log_s[a] - log_s.min()) <= 1e-12
        # ... and where the reference minimum is clear, the very same recipient
        order = np.sort(log_s)
        if n == 1 or order[1] - order[0] > 1e-9:
            decisive += 1
            assert a == int(np.argmin(log_s))
        ref.apply(v, a)
        check_same_state(eng, ref)
    assert decisive >= 20  # the test exercised real decisions
    assert eng.efk() == ref.efk()


def test_ties_go_to_lowest_index() -> None:
    eng = make_efk_engine(4, [1.0, 2.0])
    # symmetric start: every candidate gives the same S -> agent 0
    assert eng.step([1.0, 1.0, 1.0, 1.0]) == 0
    # agent 0 now holds a good; the others tie -> lowest of them
    assert eng.step([1.0, 1.0, 1.0, 1.0]) == 1
    assert eng.step([0.0, 0.0, 0.0, 0.0]) == 0  # nobody cares: all tie


def test_run_equals_steps_and_continues() -> None:
    rng = np.random.default_rng(5)
    levels = random_levels(rng, 4, "float")
    V = random_values(rng, 300, 5, levels)
    a, b = make_efk_engine(5, levels), make_efk_engine(5, levels)
    ra = a.run(V[:200])
    assert ra.dtype == np.int64 and ra.shape == (200,)
    rb = np.array([b.step(v) for v in V[:200]])
    np.testing.assert_array_equal(ra, rb)
    np.testing.assert_array_equal(a.run(V[200:]), b.run(V[200:]))
    assert a.get_state()["rounds"] == 300
    np.testing.assert_array_equal(a.get_state()["counts"], b.get_state()["counts"])
    assert a.run(np.zeros((0, 5))).shape == (0,)


def test_threads_release_gil_and_agree() -> None:
    rng = np.random.default_rng(9)
    levels = random_levels(rng, 8, "float")
    V = random_values(rng, 3000, 6, levels)
    expect = make_efk_engine(6, levels).run(V)
    engines = [make_efk_engine(6, levels) for _ in range(3)]
    out: list = [None] * 3

    def work(k: int) -> None:
        out[k] = engines[k].run(V)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(3)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for r in out:
        np.testing.assert_array_equal(r, expect)


# --------------------------------------------------------------------- exact EF_k read-out


@pytest.mark.parametrize("seed", range(8))
def test_efk_exact_matches_reference(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(2, 6))
    levels = random_levels(
        rng, int(rng.integers(1, 6)), ["int", "decimal", "float"][seed % 3]
    )
    T = int(rng.integers(1, 60))
    V = random_values(rng, T, n, levels)
    # arbitrary (often very unfair) allocations
    R = rng.integers(0, max(1, n - int(rng.integers(0, n))), size=T)
    eng, ref = start_from(V, R, levels, n, None)
    assert eng.efk() == efk_of_allocation(V, R) == ref.efk()


def test_efk_exact_where_float_sums_fail() -> None:
    # v_0(A_0) = 1 + 1.5 ulp exactly, v_0(A_1) = 0.75 + (0.25 + 2 ulp) = 1 + 2 ulp: agent 0
    # envies agent 1 (k = 1), but the float sum 1 + 3*2^-53 rounds to 1 + 2^-51 and would
    # hide the envy. The levels themselves are far apart.
    small, quarter = 3 * 2.0**-53, 0.25 + 2.0**-51
    levels = np.array([small, quarter, 0.75, 1.0])
    V = np.array([[1.0, 0.0], [small, 0.0], [0.75, 0.0], [quarter, 0.0]])
    R = np.array([0, 0, 1, 1])
    assert (1.0 + small) == (0.75 + quarter)  # the float trap is real
    assert efk_of_allocation(V, R) == 1
    eng, _ = start_from(V, R, levels, 2, None)
    assert eng.efk() == 1
    # an exact tie is not envy
    tiny = 2.0**-51
    levels2 = np.array([tiny, quarter, 0.75, 1.0])
    V2 = np.array([[1.0, 0.0], [tiny, 0.0], [0.75, 0.0], [quarter, 0.0]])
    assert efk_of_allocation(V2, R) == 0
    eng2, _ = start_from(V2, R, levels2, 2, None)
    assert eng2.efk() == 0


def test_efk_small_hand_example() -> None:
    # agent 0 holds one item worth 1; agent 1 holds items worth 3, 3, 1 to agent 0:
    # removing the two 3s leaves 1 <= 1 -> k_01 = 2. Agent 1 values its own bundle at 0
    # and agent 0's item at 5 -> k_10 = 1.
    V = np.array([[1.0, 5.0], [3.0, 0.0], [3.0, 0.0], [1.0, 0.0]])
    R = np.array([0, 1, 1, 1])
    km = efk_matrix(V, R)
    assert km.tolist() == [[0, 2], [1, 0]]
    eng, _ = start_from(V, R, np.array([1.0, 3.0, 5.0]), 2, None)
    assert eng.efk() == 2


# ------------------------------------------------------------------------- Lemma 5.10


@pytest.mark.parametrize("seed", range(6))
def test_lemma_5_10_on_arbitrary_allocations(seed: int) -> None:
    """max_l d_ijl <= k implies EF_k from i toward j, for ANY allocation."""
    rng = np.random.default_rng(200 + seed)
    n = int(rng.integers(2, 5))
    levels = random_levels(rng, int(rng.integers(1, 5)), "float")
    V = random_values(rng, 60, n, levels)
    R = rng.integers(0, n, size=60)
    for T in range(1, 61, 3):
        d = threshold_deficits(V[:T], R[:T], levels)
        km = efk_matrix(V[:T], R[:T])
        assert np.all(km <= d.max(axis=2))


@pytest.mark.parametrize("seed", range(4))
def test_lemma_5_10_along_engine_runs(seed: int) -> None:
    rng = np.random.default_rng(300 + seed)
    n = 2 + seed
    levels = random_levels(rng, 3, "decimal")
    eng = make_efk_engine(n, levels, 2.0 + seed)
    # an unfair start, then the rule
    V0 = random_values(rng, 30, n, levels, zero=0.0)
    eng, _ = start_from(V0, np.zeros(30, dtype=np.int64), levels, n, 2.0 + seed)
    for v in random_values(rng, 150, n, levels):
        eng.step(v)
        tau = eng.max_deficit()
        assert eng.efk() <= math.floor(tau)


# ------------------------------------------------------------------- the guarantee bound


def adaptive_adversary(eng, levels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Top level for the agents who currently suffer most, lowest level for the rest."""
    d = eng.deficits().max(axis=(1, 2))
    worst = d >= d.max()
    v = np.where(worst, levels[-1], levels[0])
    if rng.random() < 0.2:
        v = np.full(v.shape, levels[-1])
    return v


@pytest.mark.parametrize(
    ("n", "L", "p", "stream"),
    [
        (2, 2, None, "random"),
        (4, 3, None, "random"),
        (5, 4, 2.0, "random"),
        (3, 2, None, "identical"),
        (4, 4, 2.0, "identical"),
        (2, 2, None, "table1"),
        (3, 3, None, "adaptive"),
        (4, 2, 2.0, "adaptive"),
        (5, 3, 4.0, "single"),
    ],
)
def test_guarantee_bound_every_round(n: int, L: int, p, stream: str) -> None:
    rng = np.random.default_rng(n * 100 + L)
    levels = random_levels(rng, L, "float")
    eng = make_efk_engine(n, levels, p)
    tau = tau_bound(eng.p, n * (n - 1) * L, 2.0, n, 0)
    assert math.isclose(eng.bound(), tau, rel_tol=1e-14)
    T = 1500
    for t in range(T):
        if stream == "random":
            v = random_values(rng, 1, n, levels)[0]
        elif stream == "identical":  # everybody agrees: a race for the good items
            v = np.full(n, levels[rng.integers(0, L)])
        elif stream == "table1":  # (1, eps) / (eps, 1) alternation of paper Table 1
            v = np.array([levels[-1], levels[0]])[:: 1 if t % 2 else -1].copy()
        elif stream == "adaptive":
            v = adaptive_adversary(eng, levels, rng)
        else:  # one agent at a time cares
            v = np.zeros(n)
            v[rng.integers(0, n)] = levels[-1]
        eng.step(v)
        b = eng.bound()
        assert eng.max_deficit() <= b
        if t % 50 == 0:
            assert eng.efk() <= math.floor(b)
            assert eng.efk() <= eng.max_deficit()
    assert eng.rounds() == T


def test_default_p_and_bound_formula() -> None:
    eng = make_efk_engine(4, [1.0, 2.0, 3.0])
    m = 4 * 3 * 3
    assert eng.p == max(2.0, math.log(m))
    assert make_efk_engine(2, [1.0]).p == 2.0  # m = 2 < e^2
    e2 = make_efk_engine(3, [1.0, 2.0], p=2.0)
    e2.run(np.ones((10, 3)))
    assert math.isclose(e2.bound(), math.sqrt(2 * 12 * 10 / 3), rel_tol=1e-14)


def test_huge_p_potential_is_overflow_safe() -> None:
    eng = make_efk_engine(3, [1.0, 2.0], p=400.0)
    V0 = np.tile([2.0, 2.0, 2.0], (40, 1))
    eng, ref = start_from(
        V0, np.zeros(40, dtype=np.int64), np.array([1.0, 2.0]), 3, 400.0
    )
    assert eng.max_deficit() == 40.0
    # S = phi(40) * ... overflows float64; Phi = S^(1/p) does not
    assert math.isfinite(eng.potential())
    assert math.isclose(eng.potential(), ref.potential(), rel_tol=1e-12)
    for v in np.tile([2.0, 2.0, 2.0], (20, 1)):
        log_s = ref.candidate_log_s(v)
        a = eng.step(v)
        assert math.expm1(log_s[a] - log_s.min()) <= 1e-12
        ref.apply(v, a)
    np.testing.assert_array_equal(eng.deficits(), ref.deficits())


@pytest.mark.parametrize("p", [2.0, 400.0])
def test_growing_deficits_scale_invariance(p: float) -> None:
    """Mutual envy of k items each way: every good item must raise a deficit to k + 1.

    The engine's internal table of phi-increments grows (and, at p = 400, is rescaled
    by powers of two) while a restored copy builds it differently: the decisions must
    agree with each other and with the reference.
    """
    levels = np.array([1.0, 2.0])
    k = 12
    # every agent got k items that only the two others like: all six deficits are k
    V0 = np.vstack(
        [np.tile(np.where(np.arange(3) == a, 0.0, 2.0), (k, 1)) for a in range(3)]
    )
    R0 = np.repeat(np.arange(3), k)
    eng, ref = start_from(V0, R0, levels, 3, p)
    assert eng.max_deficit() == k
    rng = np.random.default_rng(1)
    stream = np.where(rng.random((120, 3)) < 0.5, 2.0, 1.0)
    stream[:, 2] *= rng.random(120) < 0.5  # agent 2's rows go stale in between
    stream[:30] = [2.0, 2.0, 0.0]  # force growth first
    clones = {}
    decisions = []
    for t, v in enumerate(stream):
        if t in (20, 60):  # a restored copy predicts the rest of the run
            clones[t] = pickle.loads(pickle.dumps(eng)).run(stream[t:])
        log_s = ref.candidate_log_s(v)
        a = eng.step(v)
        decisions.append(a)
        assert math.expm1(log_s[a] - log_s.min()) <= 1e-12
        order = np.sort(log_s)
        if order[1] - order[0] > 1e-9:
            assert a == int(np.argmin(log_s))
        ref.apply(v, a)
    for t, pred in clones.items():
        np.testing.assert_array_equal(pred, decisions[t:])
    np.testing.assert_array_equal(eng.deficits(), ref.deficits())
    assert eng.max_deficit() >= k


# --------------------------------------------------------------- state, copies, pickling


def test_readouts_are_copies_and_shapes() -> None:
    eng = make_efk_engine(3, [2.0, 1.0, 2.0])  # unsorted, duplicate: sorted + deduped
    np.testing.assert_array_equal(eng.levels, [1.0, 2.0])
    lv = eng.levels
    lv[0] = 99.0
    assert eng.levels[0] == 1.0
    eng.run(np.array([[1.0, 2.0, 0.0], [2.0, 2.0, 2.0], [1.0, 0.0, 1.0]]))
    d = eng.deficits()
    assert d.shape == (3, 3, 2)
    assert np.all(d[np.arange(3), np.arange(3)] == 0)
    d[:] = 7.0
    assert eng.max_deficit() < 7.0
    assert eng.utilities().shape == (3,)
    with pytest.raises(AttributeError):
        eng.p = 3.0  # type: ignore[misc]


def test_value_tolerance_matches_levels() -> None:
    eng = make_efk_engine(2, [0.1, 0.3])
    eng.step([0.3 * (1 + 5e-13), 0.1 * (1 - 5e-13)])  # accepted, snapped to the levels
    assert set(eng.utilities().tolist()) <= {0.0, 0.1, 0.3}
    with pytest.raises(ValueError, match="values"):
        eng.step([0.3 * (1 + 1e-11), 0.1])


def test_pickle_and_state_continue_exactly() -> None:
    rng = np.random.default_rng(11)
    levels = random_levels(rng, 5, "float")
    V = random_values(rng, 400, 4, levels)
    eng = make_efk_engine(4, levels, 2.5)
    eng.run(V[:250])
    clone = pickle.loads(pickle.dumps(eng))
    other = make_efk_engine(4, levels, 2.5)
    other.set_state(eng.get_state())
    assert clone.p == eng.p and clone.rounds() == eng.rounds() == 250
    r0 = eng.run(V[250:])
    np.testing.assert_array_equal(clone.run(V[250:]), r0)
    np.testing.assert_array_equal(other.run(V[250:]), r0)
    for e in (clone, other):
        np.testing.assert_array_equal(e.deficits(), eng.deficits())
        assert e.potential() == eng.potential()
        assert e.efk() == eng.efk()
    st = eng.get_state()
    assert st["version"] == 1 and st["counts"].dtype == np.int64


# ---------------------------------------------------------------------------- bad input


def test_factory_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="n_agents"):
        make_efk_engine(1, [1.0])
    with pytest.raises(TypeError, match="n_agents"):
        make_efk_engine(2.0, [1.0])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="n_agents"):
        make_efk_engine(True, [1.0])  # type: ignore[arg-type]
    for bad in ([], [[1.0, 2.0]], [1.0, -1.0], [0.0, 1.0], [1.0, np.nan], [np.inf]):
        with pytest.raises(ValueError, match="levels"):
            make_efk_engine(2, bad)
    with pytest.raises(ValueError, match="levels"):
        make_efk_engine(2, None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="levels"):
        make_efk_engine(2, ["a", "b"])
    with pytest.raises(ValueError, match="levels"):
        make_efk_engine(2, [1.0, 1.0 + 1e-13])  # ambiguous
    for bad_p in (1.5, np.nan, np.inf, -3.0):
        with pytest.raises(ValueError, match="p must"):
            make_efk_engine(2, [1.0], p=bad_p)
    with pytest.raises(TypeError, match="p must"):
        make_efk_engine(2, [1.0], p="3")  # type: ignore[arg-type]
    import fastfair._core as core

    with pytest.raises(ValueError):
        core.EFkAllocator(3, np.array([2.0, 1.0]))  # the raw engine checks too
    with pytest.raises(ValueError):
        core.EFkAllocator(3, np.array([1.0]), 1.0)


def _snapshot(eng):
    st = eng.get_state()
    return st["rounds"], st["counts"].copy(), eng.deficits()


def _same(a, b) -> bool:
    return a[0] == b[0] and np.array_equal(a[1], b[1]) and np.array_equal(a[2], b[2])


def test_bad_values_change_nothing() -> None:
    eng = make_efk_engine(3, [1.0, 2.0])
    eng.run(np.array([[1.0, 2.0, 0.0], [2.0, 1.0, 1.0]]))
    before = _snapshot(eng)
    bad_steps = [
        [1.0, 2.0],  # wrong length
        [[1.0, 2.0, 0.0]],  # 2-D
        [1.0, 1.5, 0.0],  # not a level
        [1.0, -1.0, 0.0],  # negative
        [1.0, np.nan, 0.0],
        [np.inf, 1.0, 0.0],
    ]
    for bad in bad_steps:
        with pytest.raises(ValueError, match="values"):
            eng.step(bad)
        assert _same(_snapshot(eng), before)
    with pytest.raises((ValueError, TypeError)):
        eng.step(["x", 1.0, 0.0])
    good = np.ones((50, 3))
    for bad_run in (
        np.vstack([good, [[1.0, 1.5, 1.0]]]),  # the LAST row is bad: nothing is done
        np.ones((5, 2)),
        np.ones(3),
        np.vstack([good, [[1.0, np.nan, 1.0]]]),
    ):
        with pytest.raises(ValueError, match="values"):
            eng.run(bad_run)
        assert _same(_snapshot(eng), before)
    with pytest.raises(ValueError, match=r"values\[50, 1\]"):
        eng.run(np.vstack([good, [[1.0, 1.5, 1.0]]]))


def test_bad_state_changes_nothing() -> None:
    eng = make_efk_engine(3, [1.0, 2.0])
    eng.run(np.array([[1.0, 2.0, 0.0], [2.0, 1.0, 1.0], [2.0, 2.0, 2.0]]))
    before = _snapshot(eng)
    good = eng.get_state()

    def mutated(**kw):
        st = dict(good)
        st.update(kw)
        return st

    bad_states = [
        mutated(version=2),
        mutated(n_agents=4),
        mutated(levels=np.array([1.0, 3.0])),
        mutated(p=eng.p + 1.0),
        mutated(p="2.0"),
        mutated(n_agents="3"),
        mutated(rounds=3.0),
        mutated(counts=np.full((3, 3, 2), 2**62, dtype=np.int64)),
        mutated(counts=np.full((3, 3, 2), 2**63, dtype=np.uint64)),
        mutated(rounds=-1),
        mutated(rounds=1),  # fewer rounds than counted items
        mutated(counts=np.zeros((3, 3, 3), dtype=np.int64)),
        mutated(counts=-np.ones((3, 3, 2), dtype=np.int64)),
        mutated(counts=np.zeros((3, 3, 2))),  # float counts
    ]
    for st in bad_states:
        with pytest.raises(ValueError, match="state"):
            eng.set_state(st)
        assert _same(_snapshot(eng), before)
    st = dict(good)
    del st["counts"]
    with pytest.raises(ValueError, match="counts"):
        eng.set_state(st)
    assert _same(_snapshot(eng), before)
