"""EF_k engine with many levels (several level blocks) and its fast paths.

The engine skips rows and level blocks whose terms are provably zero and leaves zero
tails of a row unstored (efk_allocator.hpp, "Skipping work"). These shortcuts are exact:
decisions must match the reference, and a copy rebuilt from the counts alone (which
recomputes every sum in full) must keep deciding the same, round after round. The level
lookup uses a hash of the exact level bit patterns with a tolerant fallback: it must
accept and reject exactly the values the reference's matching does.
"""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
from fastfair._efk import make_efk_engine
from fastfair._reference.efk import EFkReference, match_levels


def skewed_values(
    rng: np.random.Generator, T: int, n: int, levels: np.ndarray
) -> np.ndarray:
    """Values that sit mostly at the bottom or the top of the level set, some 0.

    Low-level items move only the first blocks of a row, high-level items all of it, so
    rows end up with non-zero terms in a few blocks and zero blocks or tails elsewhere.
    """
    L = levels.size
    low = rng.integers(0, max(1, L // 5), size=(T, n))
    high = rng.integers(L - max(1, L // 5), L, size=(T, n))
    idx = np.where(rng.random((T, n)) < 0.5, low, high)
    mid = rng.random((T, n)) < 0.2
    idx = np.where(mid, rng.integers(0, L, size=(T, n)), idx)
    v = levels[idx]
    return np.where(rng.random((T, n)) < 0.25, 0.0, v)


@pytest.mark.parametrize(
    ("n", "L", "p", "seed"),
    [(3, 17, None, 0), (4, 40, 2.0, 1), (3, 64, None, 2), (2, 100, 7.0, 3), (4, 33, 400.0, 4)],
)
def test_many_levels_match_reference_decision_for_decision(n, L, p, seed) -> None:
    rng = np.random.default_rng(seed)
    levels = np.sort(rng.choice(np.arange(1, 5 * L + 1), size=L, replace=False)) / 4.0
    eng = make_efk_engine(n, levels, p)
    ref = EFkReference(n, levels, p)
    decisive = 0
    V = skewed_values(rng, 300, n, levels)
    for t, v in enumerate(V):
        log_s = ref.candidate_log_s(v)
        a = eng.step(v)
        assert math.expm1(log_s[a] - log_s.min()) <= 1e-12
        order = np.sort(log_s)
        if order[1] - order[0] > 1e-9:
            decisive += 1
            assert a == int(np.argmin(log_s))
        ref.apply(v, a)
        if t % 50 == 49:
            np.testing.assert_array_equal(eng.deficits(), ref.deficits())
    np.testing.assert_array_equal(eng.deficits(), ref.deficits())
    assert eng.max_deficit() == ref.deficits().max()
    assert math.isclose(eng.potential(), ref.potential(), rel_tol=1e-12)
    assert decisive >= 50


@pytest.mark.parametrize(
    ("n", "L", "skewed", "T"),
    [
        (4, 64, False, 1200),
        (8, 64, False, 800),
        (5, 64, True, 800),
        (7, 130, True, 500),
        (6, 20, True, 600),
        (3, 4, True, 600),
    ],
)
def test_rebuilt_copy_decides_identically_every_round(
    n: int, L: int, skewed: bool, T: int
) -> None:
    """A copy rebuilt from the counts recomputes every sum from scratch, while the
    running engine took shortcuts. Every round, all cached prefix sums (as the rounds
    read them) and the candidates' changes of S must agree to the last bit."""
    rng = np.random.default_rng(n * 100 + L)
    levels = np.arange(1.0, L + 1.0)
    eng = make_efk_engine(n, levels)
    if skewed:
        V = skewed_values(rng, T + 300, n, levels)
    else:  # uniform levels, as in bench/test_bench_efk.py
        V = levels[rng.integers(0, L, size=(T + 300, n))]
        V = np.where(rng.random(V.shape) < 0.3, 0.0, V)
    copy = make_efk_engine(n, levels)
    for t in range(T):
        copy.set_state(eng.get_state())
        assert copy.step(V[t]) == eng.step(V[t])
        np.testing.assert_array_equal(copy._last_deltas(), eng._last_deltas())
        np.testing.assert_array_equal(copy._prefix_sums(), eng._prefix_sums())
    # and long continuations agree with a pickled copy and with single steps
    clone = pickle.loads(pickle.dumps(eng))
    steps = [eng.step(v) for v in V[T:]]
    np.testing.assert_array_equal(clone.run(V[T:]), steps)
    np.testing.assert_array_equal(clone.deficits(), eng.deficits())


@pytest.mark.parametrize(("n", "L", "seed", "T"), [(4, 64, 2, 800), (8, 64, 4, 420), (8, 64, 0, 1000)])
def test_rebuilt_copy_bench_streams(n: int, L: int, seed: int, T: int) -> None:
    """As above on bench-like streams (bench/test_bench_efk.py's generator). Mutation
    testing showed these seeds reach, within T rounds, the states where dropping the
    "slot is stored" checks of the zero-tail shortcut reads a stale prefix."""
    rng = np.random.default_rng(seed)
    levels = np.sort(rng.uniform(0.1, 10.0, size=L))
    V = levels[rng.integers(0, L, size=(3000, n))]
    V = np.where(rng.random((3000, n)) < 0.3, 0.0, V)
    eng = make_efk_engine(n, levels)
    copy = make_efk_engine(n, levels)
    for t in range(T):
        copy.set_state(eng.get_state())
        assert copy.step(V[t]) == eng.step(V[t])
        np.testing.assert_array_equal(copy._prefix_sums(), eng._prefix_sums())


@pytest.mark.parametrize("L", [1, 3, 64, 300, 2000])
def test_level_lookup_matches_reference_matching(L: int) -> None:
    rng = np.random.default_rng(L)
    levels = np.unique(rng.uniform(1e-3, 1e3, size=L))
    n = 4
    eng = make_efk_engine(n, levels)
    tol = levels * (1.0 + rng.uniform(-5e-13, 5e-13, size=levels.size))  # within 1e-12
    pool = np.concatenate([levels, tol, [0.0, -0.0]])
    V = rng.choice(pool, size=(400, n))
    recips = eng.run(V)
    lev = match_levels(V, levels)
    counts = np.zeros((n, n, levels.size), dtype=np.int64)
    for t in range(V.shape[0]):
        for i in range(n):
            if lev[t, i] >= 0:
                counts[i, recips[t], lev[t, i]] += 1
    np.testing.assert_array_equal(eng.get_state()["counts"], counts)
    # values near but outside the tolerance, between levels, or not numbers are errors
    bad = [levels[0] * (1 + 1e-11), levels[-1] * 2.0, -levels[0], np.nan, np.inf]
    if levels.size > 1:
        bad.append(0.5 * (levels[0] + levels[1]))
    before = eng.get_state()
    for b in bad:
        with pytest.raises(ValueError, match="values"):
            eng.step([levels[0], b, 0.0, 0.0])
    after = eng.get_state()
    assert after["rounds"] == before["rounds"]
    np.testing.assert_array_equal(after["counts"], before["counts"])
