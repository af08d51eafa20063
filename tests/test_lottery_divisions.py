"""Divided lotteries (docs/divisions.md): every quota exact, per-division marginals and
probabilities against a slow NumPy reference, bit-identity of one whole-field division
with the undivided lottery, fairness across years within divisions, bad input, audit,
and round-trips (save format 4, pickle, JSON)."""

from __future__ import annotations

import numpy as np
import pytest

from fastfair import _core
from fastfair._reference import divisions as dref


def random_field(rng: np.random.Generator, n: int, n_div: int, weighted: bool = True):
    """Scores (some 0), codes and seats per division including k_d = 0 and k_d = all."""
    s = rng.random(n) + 0.05 if weighted else np.ones(n)
    s[rng.random(n) < 0.15] = 0.0
    codes = rng.integers(0, n_div, size=n).astype(np.uint16)
    ks = []
    for q in range(n_div):
        entrants = int(np.count_nonzero((codes == q) & (s > 0)))
        kind = rng.integers(0, 4)
        ks.append(0 if kind == 0 else entrants if kind == 1 else int(rng.integers(0, entrants + 1)))
    return s, codes, np.array(ks, dtype=np.int64)


# ---- C++ core -------------------------------------------------------------------------

def test_core_single_division_is_bit_identical_to_undivided(rng):
    for trial in range(30):
        n = int(rng.integers(1, 60))
        a, b = _core.LotteryPoolCore(), _core.LotteryPoolCore()
        for t in range(6):
            s = rng.random(n + t) * (rng.random(n + t) > 0.3) if trial % 2 else rng.random(n + t)
            k = int(rng.integers(0, np.count_nonzero(s > 0) + 1))
            seed = int(rng.integers(0, 2**63))
            pa = a.preview(s, k)
            pb = b.preview(s, k, np.zeros(s.size, np.uint16), np.array([k]))
            assert pa.tobytes() == pb.tobytes()
            wa = a.run(s, k, seed)
            wb = b.run(s, k, seed, np.zeros(s.size, np.uint16), np.array([k]))
            assert wa.tobytes() == wb.tobytes()
        assert a.cumulative_deserved.tobytes() == b.cumulative_deserved.tobytes()
        assert a.history("deserved").tobytes() == b.history("deserved").tobytes()
        assert b.verify() == [0] * 6


def test_core_sparse_single_division_is_bit_identical(rng):
    a, b = _core.LotteryPoolCore(), _core.LotteryPoolCore()
    for t in range(8):
        n = 40 + 3 * t
        pos = np.sort(rng.choice(n, size=25, replace=False)).astype(np.uint32)
        s = rng.random(25) + 0.01
        k = int(rng.integers(0, 26))
        a.prepare_sparse(pos, s, n, k)
        b.prepare_sparse(pos, s, n, k, np.zeros(25, np.uint16), np.array([k]))
        assert a.draw(t).tobytes() == b.draw(t).tobytes()
        a.commit()
        b.commit()
    assert a.history("probabilities").tobytes() == b.history("probabilities").tobytes()


def test_core_every_quota_exact_and_pi_matches_reference(rng):
    for trial in range(25):
        n, n_div = int(rng.integers(5, 50)), int(rng.integers(1, 5))
        core = _core.LotteryPoolCore()
        scores, winners, codes, kss = [], [], [], []
        for t in range(5):
            s, c, ks = random_field(rng, n, n_div, weighted=trial % 3 != 0)
            pi = core.preview(s, int(ks.sum()), c, ks)
            w = core.run(s, int(ks.sum()), int(rng.integers(0, 2**64, dtype=np.uint64)), c, ks)
            assert set(np.unique(w).tolist()) <= {0, 1}
            assert np.all(w[s == 0] == 0) and np.all(pi[s == 0] == 0)
            for q in range(n_div):
                assert int(w[c == q].sum()) == ks[q]  # every quota, every draw
                assert abs(float(np.sum(pi[c == q])) - ks[q]) < 1e-9
            scores.append(s)
            winners.append(w)
            codes.append(c)
            kss.append(ks.tolist())
        want = dref.history_probabilities(np.column_stack(scores), np.column_stack(winners),
                                          codes, kss)
        got = core.history("probabilities")
        tol = 1e-9 + 4 * n * np.finfo(float).eps * 10
        np.testing.assert_allclose(got, want, rtol=0, atol=tol)
        np.testing.assert_allclose(
            core.history("deserved"),
            np.column_stack([dref.divided_deserved_seats(scores[t], codes[t], kss[t])
                             for t in range(5)]), rtol=0, atol=1e-12)
        assert core.verify() == [0] * 5


def test_core_per_division_marginals_monte_carlo(rng):
    """Seeded Monte Carlo of one prepared divided draw: winners' frequencies against pi
    (exact for pi in {0, 1}; z < 4.5 where draws * pi * (1 - pi) >= 25)."""
    core = _core.LotteryPoolCore()
    n = 60
    s = rng.random(n) + 0.1
    codes = (np.arange(n) % 3).astype(np.uint16)
    # a history so that pi is far from uniform
    for t in range(3):
        core.run(s, 20, t, codes, np.array([7, 9, 4]))
    ks = np.array([5, 11, 3])
    core.prepare(s, int(ks.sum()), codes, ks)
    pi = core.preview(s, int(ks.sum()), codes, ks)
    core.prepare(s, int(ks.sum()), codes, ks)
    draws = 4000
    freq = np.zeros(n)
    for seed in range(draws):
        w = core.draw(seed)
        for q in range(3):
            assert int(w[codes == q].sum()) == ks[q]
        freq += w
    freq /= draws
    exact = (pi == 0) | (pi == 1)
    assert np.all(freq[exact] == pi[exact])
    var = draws * pi * (1 - pi)
    z = np.abs(freq - pi) * draws / np.sqrt(np.where(var > 0, var, 1))
    assert np.all(z[var >= 25] < 4.5), z.max()
    assert core.n_lotteries == 3  # draws without commit change nothing


def test_core_rejects_bad_divisions_before_any_change(rng):
    core = _core.LotteryPoolCore()
    s = np.ones(6)
    c = np.array([0, 0, 1, 1, 1, 2], np.uint16)
    core.run(s, 3, 1, c, np.array([1, 1, 1]))
    before = [a.tobytes() for a in core.state()] + [a.tobytes() for a in core.division_state()]
    bad = [
        (c, np.array([1, 1])),                   # code 2 not below 2 divisions
        (c, np.array([3, 1, 1])),                # more seats than entrants
        (c, np.array([-1, 2, 1])),               # negative seats
        (c[:5], np.array([1, 1, 1])),            # wrong length
        (c, np.zeros(0, np.int64)),              # no division
    ]
    for codes, ks in bad:
        with pytest.raises(ValueError):
            core.run(s, int(ks.sum()), 2, codes, ks)
    with pytest.raises(ValueError, match="sum of the division seats"):
        core.run(s, 2, 2, c, np.array([1, 1, 1]))
    with pytest.raises(ValueError, match="together"):
        core.run(s, 2, 2, c, None)
    after = [a.tobytes() for a in core.state()] + [a.tobytes() for a in core.division_state()]
    assert before == after


def test_core_restore_round_trip_and_tampering(rng):
    core = _core.LotteryPoolCore()
    n = 30
    for t in range(4):
        # 0 < k_d < entrants_d, so that moving any entry changes its lottery's seats
        # (with k_d = 0 on both sides, say, a changed code would change nothing)
        s = rng.random(n) + 0.05
        c = (rng.permutation(n) % 3).astype(np.uint16)
        ks = np.array([int(rng.integers(1, 10)) for _ in range(3)])
        if t == 2:  # an undivided lottery in between
            k = int(np.count_nonzero(s > 0) // 2)
            core.run(s, k, t)
        else:
            core.run(s, int(ks.sum()), t, c, ks)
    st, dst = core.state(), core.division_state()
    assert dst[0].tolist()[2] == 0  # the undivided lottery stores nothing
    again = _core.LotteryPoolCore()
    again.restore(*st, *dst)
    assert again.verify() == [0] * 4
    for a, b in zip(core.state() + core.division_state(), again.state() + again.division_state()):
        assert a.tobytes() == b.tobytes()
    assert again.cumulative_deserved.tobytes() == core.cumulative_deserved.tobytes()
    # restored without the divisions: the seats per division no longer add up, or the
    # probabilities do not re-derive
    plain = _core.LotteryPoolCore()
    try:
        plain.restore(*st)
    except ValueError:
        pass
    else:
        assert plain.verify() != [0] * 4
    # a tampered code: refused (a division's winners differ from its seats) or flagged
    codes = dst[2].copy()
    flagged = 0
    for j in range(codes.size):
        tam = codes.copy()
        tam[j] = (tam[j] + 1) % 3
        other = _core.LotteryPoolCore()
        try:
            other.restore(*st, dst[0], dst[1], tam)
        except ValueError:
            flagged += 1
            continue
        flagged += other.verify() != [0] * 4
    assert flagged == codes.size
    # hostile counts
    nd = dst[0].copy()
    for bad_nd in ([70000, 0, 0, 0], [-1, 3, 0, 3], [3, 3, 0, 4], [3, 3, 0]):
        with pytest.raises(ValueError):
            _core.LotteryPoolCore().restore(*st, np.array(bad_nd), dst[1], dst[2])
    with pytest.raises(ValueError):
        _core.LotteryPoolCore().restore(*st, nd, dst[1][:-1], dst[2])
    with pytest.raises(ValueError):
        _core.LotteryPoolCore().restore(*st, nd, dst[1], dst[2][:-1])
    with pytest.raises(ValueError, match="together"):
        _core.LotteryPoolCore().restore(*st, nd, dst[1], None)
    tk = dst[1].copy()
    tk[0] += 1
    with pytest.raises(ValueError):
        _core.LotteryPoolCore().restore(*st, nd, tk, dst[2])


def test_core_history_and_columns_of_divisions(rng):
    core = _core.LotteryPoolCore()
    s = np.array([1.0, 0.0, 2.0, 1.0, 1.0])
    c = np.array([1, 0, 0, 1, 0], np.uint16)
    core.run(s, 2, 5, c, np.array([1, 1]))
    core.run(s, 2, 6)
    codes, ks = core.column_divisions(0)
    assert codes.tolist() == [1, 0, 1, 0] and ks.tolist() == [1, 1]  # entrants only
    codes, ks = core.column_divisions(1)
    assert codes.size == 0 and ks.size == 0
    h = core.history("divisions")
    assert h.tolist() == [[2, 0], [0, 0], [1, 0], [2, 0], [1, 0]]
