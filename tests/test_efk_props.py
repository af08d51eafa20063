"""Property tests: the engine's exact EF_k read-out on arbitrary (large) allocations."""

from __future__ import annotations

import numpy as np
from fastfair._efk import make_efk_engine
from fastfair._reference.efk import efk_matrix, threshold_deficits
from hypothesis import given, settings
from hypothesis import strategies as st

LEVEL_SETS = [
    np.array([0.1, 0.2, 0.3]),
    np.array([1.0, 2.0, 3.0, 7.0]),
    np.array([3 * 2.0**-53, 0.25 + 2.0**-51, 0.75, 1.0]),
    np.array([0.7, 1.1, 1.3, 2.9, 4.4]),
]


@st.composite
def allocations(draw):
    n = draw(st.integers(2, 4))
    levels = LEVEL_SETS[draw(st.integers(0, len(LEVEL_SETS) - 1))]
    L = levels.size
    # every item: recipient and each agent's level index (-1 = value 0); items come in
    # runs of identical copies so counts get large without long lists
    n_kinds = draw(st.integers(0, 12))
    items, recips = [], []
    for _ in range(n_kinds):
        lev = draw(st.lists(st.integers(-1, L - 1), min_size=n, max_size=n))
        r = draw(st.integers(0, n - 1))
        copies = draw(st.sampled_from([1, 1, 2, 3, 17, 250]))
        row = np.array([0.0 if x < 0 else levels[x] for x in lev])
        items.extend([row] * copies)
        recips.extend([r] * copies)
    V = np.array(items).reshape(-1, n)
    return n, levels, V, np.array(recips, dtype=np.int64)


@settings(max_examples=60, deadline=None)
@given(allocations())
def test_efk_readout_and_lemma_5_10(alloc) -> None:
    n, levels, V, R = alloc
    eng = make_efk_engine(n, levels)
    counts = np.zeros((n, n, levels.size), dtype=np.int64)
    for v, r in zip(V, R):
        for i in range(n):
            if v[i] != 0.0:
                counts[i, r, int(np.flatnonzero(levels == v[i])[0])] += 1
    state = eng.get_state()
    state["counts"] = counts
    state["rounds"] = len(R)
    eng.set_state(state)
    km = efk_matrix(V, R)
    assert eng.efk() == int(km.max())
    d = threshold_deficits(V, R, levels)
    np.testing.assert_array_equal(eng.deficits(), d)
    assert np.all(km <= d.max(axis=2))  # Lemma 5.10
