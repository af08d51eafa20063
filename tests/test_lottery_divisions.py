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


# ---- Python API ------------------------------------------------------------------------

import hashlib  # noqa: E402
import json  # noqa: E402
import pickle  # noqa: E402
import re  # noqa: E402
import struct  # noqa: E402
import sys  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import fastfair as ff  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
import pool_craft as pc  # noqa: E402

LABELS = ("F", "M", "masters")


def pool_bytes(pool: ff.LotteryPool) -> bytes:
    return pickle.dumps(pool.__getstate__())


def assert_same_state(a: ff.LotteryPool, b: ff.LotteryPool) -> None:
    sa, sb = a.__getstate__(), b.__getstate__()
    assert sa.keys() == sb.keys()
    for key in sa:
        if isinstance(sa[key], np.ndarray):
            assert sa[key].dtype == sb[key].dtype and sa[key].tobytes() == sb[key].tobytes(), key
        else:
            assert sa[key] == sb[key], key


def divided_pool(lotteries: int = 5, n: int = 40, ids: bool = False, waitlist=0,
                 seed: int = 3) -> tuple[ff.LotteryPool, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = np.array(LABELS)[rng.integers(0, 3, n)]
    pool = ff.LotteryPool("divided")
    for t in range(lotteries):
        s = rng.random(n) + 0.1
        s[rng.random(n) < 0.1] = 0
        k = {x: int(np.count_nonzero((labels == x) & (s > 0)) // 3) for x in LABELS}
        pool.run_lottery(s, k, seed=t, divisions=labels, waitlist=waitlist,
                         ids=[f"e{i}" for i in range(n)] if ids else None)
    return pool, labels


def test_api_single_division_matches_undivided(rng):
    a, b = ff.LotteryPool("a"), ff.LotteryPool("b")
    for t in range(6):
        n = 30 + 2 * t
        s = rng.random(n) * (rng.random(n) > 0.2)
        k = int(np.count_nonzero(s > 0) // 2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            assert a.preview(s, k).tobytes() == b.preview(s, {"all": k},
                                                          divisions=["all"] * n).tobytes()
            wa = a.run_lottery(s, k, seed=t)
            wb = b.run_lottery(s, {"all": k}, seed=t, divisions=["all"] * n)
        assert wa.tobytes() == wb.tobytes()
    assert a.win_probabilities.tobytes() == b.win_probabilities.tobytes()
    assert a.deserved.tobytes() == b.deserved.tobytes()


@pytest.mark.parametrize("ids", [False, True])
def test_api_quotas_exact_and_read_back(ids):
    rng = np.random.default_rng(11)
    n = 50
    pool = ff.LotteryPool("quotas")
    for t in range(30):
        labels = np.array(LABELS)[rng.integers(0, 3, n)]
        s = rng.random(n) + 0.1
        s[rng.random(n) < 0.2] = 0
        entrants = {x: int(np.count_nonzero((labels == x) & (s > 0))) for x in LABELS}
        k = {"F": entrants["F"], "M": 0, "masters": int(rng.integers(0, entrants["masters"] + 1))}
        rows = rng.permutation(n)  # rows in any order when ids are given
        id_list = [f"e{i}" for i in rows] if ids else None
        sr, lr = (s[rows], labels[rows]) if ids else (s, labels)
        w = pool.run_lottery(sr, k, seed=t, ids=id_list, divisions=list(lr))
        for x in LABELS:
            assert int(w[(lr == x)].sum()) == k[x]
        assert np.all(w[sr == 0] == 0)
        info = pool.lottery_info()
        assert info["k"] == sum(k.values())
        assert info["divisions"] == {x: {"k": k[x], "entrants": entrants[x]} for x in LABELS}
        got = pool.division_labels()
        pos = {x: j for j, x in enumerate(pool.ids)} if ids else None
        for r in range(n):
            member = pos[id_list[r]] if ids else r
            assert got[member] == (lr[r] if sr[r] > 0 else None)
    assert pool.verify().ok


def test_api_integer_labels_and_k_mapping_order():
    s = np.ones(12)
    labels = [1, 2, 10] * 4
    a, b = ff.LotteryPool("a"), ff.LotteryPool("b")
    wa = a.run_lottery(s, {1: 2, 2: 1, 10: 3}, seed=9, divisions=labels)
    wb = b.run_lottery(s, {"10": 3, "2": 1, "1": 2}, seed=9,
                       divisions=[str(x) for x in labels])
    assert wa.tobytes() == wb.tobytes()  # codes follow the sorted labels, not k's order
    assert list(a.lottery_info()["divisions"]) == ["1", "10", "2"]
    assert a.division_labels()[:3] == ["1", "2", "10"]
    assert ff.LotteryPool("c").run_lottery(s, 3, seed=1).sum() == 3  # undivided as before


def test_api_bad_divisions_raise_before_any_change():
    pool, labels = divided_pool(2, n=12)
    before = pool_bytes(pool)
    s = np.ones(12)
    lab = list(labels)
    full = {x: 1 for x in LABELS}
    cases = [
        (dict(k={"F": 1, "M": 1}), ValueError, "no seats given"),        # masters missing
        (dict(k={**full, "juniors": 0}), ValueError, "have no row"),
        (dict(k={**full, "F": 1.5}), ValueError, "whole number"),
        (dict(k={**full, "F": -1}), ValueError, ">= 0"),
        (dict(k={**full, "F": True}), TypeError, "k\\['F'\\]"),
        (dict(k={**full, "F": 99}), ValueError, "entrants"),
        (dict(k=3), TypeError, "mapping"),
        (dict(k=full, divisions=None), TypeError, "divisions"),
        (dict(divisions=lab[:-1]), ValueError, "one label per row"),
        (dict(divisions=[""] + lab[1:]), ValueError, "non-empty"),
        (dict(divisions=[1.5] + lab[1:]), TypeError, "divisions"),
        (dict(divisions=[None] + lab[1:]), TypeError, "divisions"),
        (dict(divisions="FMF"), TypeError, "divisions"),
        (dict(k={"": 1, **full}), ValueError, "non-empty"),
        (dict(waitlist=99), ValueError, "waitlist"),
        (dict(waitlist={"juniors": 1}), ValueError, "waitlist"),
        (dict(waitlist={"F": -1}), ValueError, "waitlist"),
    ]
    for kw, exc, match in cases:
        args = {"k": full, "divisions": lab, **kw}
        with pytest.raises(exc, match=match):
            pool.run_lottery(s, args.pop("k"), seed=1, **args)
        if "waitlist" not in kw:
            with pytest.raises(exc, match=match):
                pool.preview(s, kw.get("k", full), divisions=kw.get("divisions", lab))
        assert pool_bytes(pool) == before, kw
    # a generator seed is not advanced by a refused lottery
    g = np.random.default_rng(5)
    with pytest.raises(ValueError):
        pool.run_lottery(s, {"F": 1}, seed=g, divisions=lab)
    assert g.integers(0, 2**63) == np.random.default_rng(5).integers(0, 2**63)


def test_fairness_across_years_within_divisions():
    """Uniform scores, fixed divisions: within 1 of deserved after every lottery
    (measured max 0.93 over 40 seeds). Entrants who switch division carry their own
    running totals (docs/divisions.md): |wins - deserved| stays small but may pass 1
    (measured max 1.15 over these 8 seeds, 1.21 over 40), so assert < 2 there."""
    worst_fixed, worst_switch = 0.0, 0.0
    for seed in range(8):
        rng = np.random.default_rng(seed)
        n = 45
        labels = np.array(LABELS)[np.arange(n) % 3]
        switchers = rng.random(n) < 0.2
        pool = ff.LotteryPool("years")
        for t in range(20):
            lab = labels.copy()
            lab[switchers] = np.array(LABELS)[rng.integers(0, 3, int(switchers.sum()))]
            k = {x: int(np.count_nonzero(lab == x) * (2 + t % 3) // 7) for x in LABELS}
            pool.run_lottery(np.ones(n), k, seed=int(rng.integers(2**32)), divisions=lab)
            gap = np.abs(pool.unfairness)
            worst_switch = max(worst_switch, float(gap.max()))
            if not switchers.any():
                worst_fixed = max(worst_fixed, float(gap.max()))
        # a pool with the same field and no switching: the undivided bound per division
        fixed = ff.LotteryPool("fixed")
        for t in range(20):
            k = {x: int(15 * (2 + t % 3) // 7) for x in LABELS}
            fixed.run_lottery(np.ones(n), k, seed=t + 100 * seed, divisions=labels)
            worst_fixed = max(worst_fixed, float(np.abs(fixed.unfairness).max()))
        assert pool.verify().ok and fixed.verify().ok
    assert worst_fixed < 1.0
    assert worst_switch < 2.0


def test_round_trips_save_pickle_json(tmp_path):
    pool, labels = divided_pool(4, ids=True, waitlist={"F": 1, "masters": 2})
    pool.run_lottery(np.ones(40), 5, seed=77, ids=[f"e{i}" for i in range(40)])  # undivided
    path = tmp_path / "p.ffl"
    pool.save(path)
    data = path.read_bytes()
    assert struct.unpack_from("<I", data, 8)[0] == ff.pool.fileformat.DIVISIONS_VERSION == 4
    copies = [ff.LotteryPool.load(path), pickle.loads(pickle.dumps(pool)),
              ff.LotteryPool.from_json(pool.to_json())]
    s = np.linspace(0.5, 1.5, 40)
    ids = [f"e{i}" for i in range(40)]
    k = {x: 2 for x in LABELS}
    want = pool.run_lottery(s, k, seed=5, ids=ids, divisions=list(labels), waitlist=1)
    for c in copies:
        assert c.verify().ok
        for t in range(5):
            assert c.lottery_info(t) == pool.lottery_info(t)
            assert c.waitlist(t) == pool.waitlist(t)
        got = c.run_lottery(s, k, seed=5, ids=ids, divisions=list(labels), waitlist=1)
        assert got.tobytes() == want.tobytes()
        assert_same_state(c, pool)
        assert c.division_labels(2) == pool.division_labels(2)
    # an undivided pool still saves as version 3
    plain = ff.LotteryPool("plain")
    plain.run_lottery(np.ones(5), 2, seed=1)
    plain.save(tmp_path / "plain.ffl")
    assert struct.unpack_from("<I", (tmp_path / "plain.ffl").read_bytes(), 8)[0] == 3
    assert plain.__getstate__()["format"] == 3


def test_tampered_division_records_refused_or_flagged(tmp_path):
    pool, _labels = divided_pool(3)
    path = tmp_path / "p.ffl"
    pool.save(path)
    data = path.read_bytes()
    version, header, arrays = pc.split(data)
    n_codes = header["n_division_codes"]
    codes_at = len(data) - 32 - 2 * n_codes
    outcomes = []
    for j in range(0, n_codes, 3):
        bad = bytearray(data)
        old = struct.unpack_from("<H", bad, codes_at + 2 * j)[0]
        struct.pack_into("<H", bad, codes_at + 2 * j, (old + 1) % 3)
        (tmp_path / "t.ffl").write_bytes(pc.resum(bytes(bad)))
        try:
            p = ff.LotteryPool.load(tmp_path / "t.ffl")
        except ValueError:
            outcomes.append("refused")
        else:
            outcomes.append("flagged" if not p.verify().ok else "missed")
    assert "missed" not in outcomes and outcomes
    # a changed seat count (the winners no longer match it) is refused
    seats_at = codes_at - 8 * header["n_division_k"]
    bad = bytearray(data)
    struct.pack_into("<q", bad, seats_at, struct.unpack_from("<q", bad, seats_at)[0] + 1)
    (tmp_path / "t.ffl").write_bytes(pc.resum(bytes(bad)))
    with pytest.raises(ValueError, match="corrupt"):
        ff.LotteryPool.load(tmp_path / "t.ffl")
    # relabelled (swapping labels keeps the file consistent but changes the record:
    # the sorted-label rule refuses it)
    header2 = dict(header, division_labels=[x[::-1] for x in header["division_labels"]])
    (tmp_path / "t.ffl").write_bytes(pc.craft(header2, arrays, version=4))
    with pytest.raises(ValueError, match="sorted"):
        ff.LotteryPool.load(tmp_path / "t.ffl")
    # pickled state with a tampered code: refused or flagged, never silently accepted
    st = pool.__getstate__()
    st["division_codes"] = st["division_codes"].copy()
    st["division_codes"][0] = (st["division_codes"][0] + 1) % 3
    fresh = ff.LotteryPool("x")
    before = pool_bytes(fresh)
    try:
        fresh.__setstate__(st)
    except ValueError:
        assert pool_bytes(fresh) == before
    else:
        assert not fresh.verify().ok
    st = pool.__getstate__()
    st["division_codes"] = st["division_codes"].astype(np.int64) + 70000
    with pytest.raises(ValueError, match="out of range"):
        ff.LotteryPool("y").__setstate__(st)


def test_crafted_format_4_files(tmp_path):
    names = []
    for name, data in pc.v4_files():
        path = tmp_path / "c.ffl"
        path.write_bytes(data)
        if name == "v4 valid":
            p = ff.LotteryPool.load(path)
            assert p.verify().ok
            assert p.lottery_info()["divisions"] == {"A": {"k": 0, "entrants": 2},
                                                     "B": {"k": 0, "entrants": 2}}
            continue
        with pytest.raises(ValueError):
            ff.LotteryPool.load(path)
        names.append(name)
    assert len(names) >= 20


def test_older_formats_still_load_undivided(tmp_path):
    pool = pc.small_pool(3)
    st = pool.__getstate__()
    for key in ("division_labels", "division_k", "division_codes"):
        st.pop(key)
    st["format"] = 3
    again = ff.LotteryPool("z")
    again.__setstate__(st)
    assert again.verify().ok and again.lottery_info()["divisions"] is None
    assert again.division_labels() == [None] * again.n_entrants


def test_waitlists_per_division_and_declines():
    n = 36
    labels = np.array(LABELS)[np.arange(n) % 3]
    pool = ff.LotteryPool("wl")
    pool.run_lottery(np.ones(n), {"F": 4, "M": 4, "masters": 4}, seed=1, divisions=labels)
    w = pool.run_lottery(np.ones(n), {"F": 3, "M": 5, "masters": 2}, seed=2,
                         divisions=labels, waitlist={"F": 2, "masters": 3})
    alts = pool.waitlist()
    assert [labels[a] for a in alts] == ["F", "F", "masters", "masters", "masters"]
    assert all(w[a] == 0 for a in alts)
    # each division's alternates are its most owed (losers of lottery 1 deserve more)
    assert pool.verify().ok
    f_winner = int(np.flatnonzero(w & (labels == "F"))[0])
    assert pool.decline(f_winner) == alts[0]
    m_winner = int(np.flatnonzero(w & (labels == "M"))[0])
    before = pool_bytes(pool)
    with pytest.raises(ValueError, match="division 'M'"):
        pool.decline(m_winner)  # no alternate in M, even though F and masters have some
    assert pool_bytes(pool) == before
    ms_winner = int(np.flatnonzero(w & (labels == "masters"))[0])
    assert pool.decline(ms_winner) == alts[2]
    won = pool.winners[:, -1]
    for x, k in (("F", 3), ("M", 5), ("masters", 2)):
        assert int(won[labels == x].sum()) == k
    assert pool.verify().ok
    again = pickle.loads(pickle.dumps(pool))
    assert again.verify().ok and again.declines() == pool.declines()
    # int waitlist: that many per division; tampering with the waitlist is detected
    pool.run_lottery(np.ones(n), {"F": 3, "M": 3, "masters": 3}, seed=3, divisions=labels,
                     waitlist=2)
    alts = pool.waitlist()
    assert [labels[a] for a in alts] == ["F", "F", "M", "M", "masters", "masters"]
    st = pool.__getstate__()
    st["waitlists"][-1] = st["waitlists"][-1][2:] + st["waitlists"][-1][:2]
    bad = ff.LotteryPool("t")
    bad.__setstate__(st)
    assert any("waitlist" in m for _t, m in bad.verify().mismatches)


def test_divisions_doc_exists_and_is_linked():
    doc = Path(__file__).resolve().parents[1] / "docs" / "divisions.md"
    text = doc.read_text(encoding="utf-8")
    assert "k_{t,d}" in text and "pipage" in text
    assert "docs/divisions.md" in (ff.LotteryPool.run_lottery.__doc__ or "")
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert blocks
    for block in blocks:  # the examples run as shown
        exec(compile(block, "docs/divisions.md", "exec"), {})


def test_series_scores_and_divisions():
    """pandas-like Series (duck typed; see tests/test_pandas.py): the scores' index
    gives the ids, a divisions Series must share it."""
    from test_pandas import FakeSeries

    ids = [f"r{i}" for i in range(9)]
    scores = FakeSeries(np.ones(9), index=ids)
    divisions = FakeSeries(np.array(["A", "B", "C"] * 3, dtype=object), index=ids)
    pool = ff.LotteryPool("series")
    won = pool.run_lottery(scores, {"A": 1, "B": 2, "C": 0}, seed=4, divisions=divisions)
    assert isinstance(won, FakeSeries) and list(won.index) == ids
    w = won.to_numpy()
    assert w[0::3].sum() == 1 and w[1::3].sum() == 2 and w[2::3].sum() == 0
    other = FakeSeries(divisions.to_numpy(), index=ids[::-1])
    before = pool_bytes(pool)
    with pytest.raises(ValueError, match="index"):
        pool.run_lottery(scores, {"A": 1, "B": 2, "C": 0}, seed=5, divisions=other)
    assert pool_bytes(pool) == before
    pi = pool.preview(scores, {"A": 1, "B": 1, "C": 1}, divisions=divisions.to_numpy())
    assert isinstance(pi, FakeSeries)
