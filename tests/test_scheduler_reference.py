"""Tests of the extended NumPy reference itself (fastfair._reference.online_ext):
hand-worked rounds, invariances, agreement with the plain reference when no extension
is used, and the independent guarantee checker (which must also catch violations)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from fastfair._reference import online as ref
from fastfair._reference import online_ext as ext


def _phi2(x):
    return 1.0 + max(x, 0.0) ** 2  # phi_p at p = 2


# ---- hand-worked rounds -------------------------------------------------------------


def test_prop_forced_item_then_shared_item():
    r = ext.PropExtReference(2, p=2.0)
    # only agent 1 eligible: forced; agent 0 is untouched, agent 1's share is the whole item
    assert r.step([1.0, 1.0], [False, True]) == 1
    np.testing.assert_array_equal(r.D, [0.0, 0.0])
    np.testing.assert_array_equal(r.M, [0.0, 0.0])
    assert r.sigma2 == [0.0]
    assert r.bound() == 0.0
    # both eligible, share 1/2 each: a symmetric tie; equal values and raw deficits -> index 0
    ls = r.log_S([1.0, 1.0])
    assert ls[0] == ls[1] == pytest.approx(math.log(_phi2(0.0) + _phi2(0.5)), rel=1e-15)
    assert r.step([1.0, 1.0]) == 0
    np.testing.assert_allclose(r.D, [-0.5, 0.5])
    np.testing.assert_allclose(r.deficits(), [0.0, 0.5])
    assert r.sigma2 == [0.0, 0.25]
    assert r.bound() == pytest.approx(math.sqrt(2 * 0.25), rel=1e-15)


def test_prop_weighted_shares_and_sigma2():
    r = ext.PropExtReference(2, p=2.0, weights=[3.0, 1.0])
    ls = r.log_S([1.0, 1.0])
    # to 0: D = (-1/4, 1/4) -> d = (0, 1/4); to 1: D = (3/4, -3/4) -> d = (3/4, 0)
    np.testing.assert_allclose(ls, np.log([_phi2(0.25) + 1, _phi2(0.75) + 1]), rtol=1e-15)
    assert r.step([1.0, 1.0]) == 0
    np.testing.assert_allclose(r.D, [-0.25, 0.25])
    assert r.sigma2[-1] == pytest.approx(3 / 16, rel=1e-15)
    # three agents, agent 2 ineligible: shares 3/4, 1/4 over E_t only
    r = ext.PropExtReference(3, p=2.0, weights=[3.0, 1.0, 5.0])
    r.apply([2.0, 2.0, 7.0], 1, [True, True, False])
    np.testing.assert_allclose(r.D, [1.5, 0.5 - 2.0, 0.0])
    np.testing.assert_allclose(r.M, [2.0, 0.0, 0.0])  # agent 2 missed nothing it could get
    assert r.sigma2[-1] == pytest.approx(3 / 16, rel=1e-15)
    assert r.bound() == pytest.approx(math.sqrt(3 * 3 / 16), rel=1e-15)


def test_value_tie_break_on_inexact_tie():
    # S(a) = 2 + 2 phi(1/3) for every a mathematically, but (v/3)/v is not 1/3 in floats:
    # the tie is within 1e-12, not exact.
    v = [0.2, 0.9, 0.5]
    r = ext.PropExtReference(3, p=2.0)
    ls = r.log_S(v)
    assert np.ptp(ls) < 1e-14
    np.testing.assert_array_equal(r.minimisers(v), [0, 1, 2])
    assert r.choose(v) == 1  # highest value
    assert ext.PropExtReference(3, p=2.0, tie_break="index").choose(v) == 0


def test_value_then_raw_deficit_then_index():
    r = ext.PropExtReference(4)
    r.D = np.array([-1.0, -0.5, -2.0, -0.5])
    r.M = np.ones(4)
    # nobody can get behind: every action ties (phi is flat for deficits <= 0)
    v = [0.0, 0.3, 0.0, 0.1]
    np.testing.assert_array_equal(r.minimisers(v), [0, 1, 2, 3])
    assert r.choose(v) == 1  # highest value, not the zero-value agent 0
    assert r.choose([0.3, 0.3, 0.3, 0.0]) == 1  # equal values: the larger raw deficit
    assert r.choose([0.3, 0.3, 0.0, 0.3]) == 1  # equal value and raw deficit: lower index
    np.testing.assert_array_equal(r.tie_order([0.3, 0.3, 0.0, 0.3]), [1, 3, 0, 2])
    # the mask restricts the tie set too
    assert r.choose(v, [True, False, True, True]) == 3
    rr = ext.PropExtReference(4, tie_break="index")
    rr.D, rr.M = r.D.copy(), r.M.copy()
    assert rr.choose(v) == 0
    assert rr.choose(v, [False, False, True, True]) == 2


def test_ef_eligibility_hand_worked():
    r = ext.EfExtReference(3, p=2.0)
    # agent 2 ineligible: giving to 0 makes agent 1 envy 0 by one item; 2 sees nothing
    ls = r.log_S([1.0, 1.0, 1.0], [True, True, False])
    assert ls[2] == math.inf
    assert ls[0] == pytest.approx(math.log(_phi2(1.0) + 5), rel=1e-15)
    assert r.step([1.0, 1.0, 1.0], [True, True, False]) == 0
    assert r.E[2, 0] == 0.0 and r.S[2, 0] == 0.0
    assert r.E[1, 0] == 1.0 and r.E[0, 1] == -1.0 and r.E[0, 2] == -1.0
    assert r.sigma2 == [1.0]  # 2 / |E_t|
    assert r.bound() == pytest.approx(math.sqrt(6 * 1.0), rel=1e-15)
    # second item for all: to 1 leaves one pair at deficit 1, to 2 two pairs, to 0 worse
    ls = r.log_S([1.0, 1.0, 1.0])
    np.testing.assert_allclose(
        np.exp(ls), [_phi2(2.0) + _phi2(1.0) + 4, _phi2(1.0) + 5, 2 * _phi2(1.0) + 4], rtol=1e-14
    )
    assert r.step([1.0, 1.0, 1.0]) == 1
    assert r.sigma2[-1] == pytest.approx(2 / 3, rel=1e-15)
    # forced item: sigma2 = 0
    r.step([5.0, 5.0, 5.0], [False, False, True])
    assert r.sigma2[-1] == 0.0


def test_ef_value_tie_keys():
    r = ext.EfExtReference(3, ef_key="max")
    r.E = np.array([[0.0, -1.0, -1.0], [-3.0, 0.0, -0.4], [-0.5, -0.5, 0.0]])
    r.S = np.ones((3, 3))
    # every envy stays <= 0 whoever gets the item: all three actions tie
    v = [0.0, 0.2, 0.2]
    np.testing.assert_array_equal(r.minimisers(v), [0, 1, 2])
    # agents 1 and 2 value it equally; agent 1's largest raw envy (-0.4) > agent 2's (-0.5)
    # (although its total raw envy is lower)
    assert r.choose(v) == 1
    rs = ext.EfExtReference(3)  # default key: total raw envy, -3.4 for 1 and -1 for 2
    rs.E, rs.S = r.E.copy(), r.S.copy()
    assert rs.choose(v) == 2
    ri = ext.EfExtReference(3, tie_break="index")
    ri.E, ri.S = r.E.copy(), r.S.copy()
    assert ri.choose(v) == 0


def test_churn_prop_hand_worked():
    r = ext.PropExtReference(2, p=2.0)
    r.step([1.0, 1.0])  # -> 0
    assert r.add_agent(2.0) == 2
    np.testing.assert_array_equal(r.active, [True, True, True])
    assert r.D[2] == 0.0 and r.M[2] == 0.0  # counts only items from now on
    assert r.bound() == pytest.approx(math.sqrt(3 * 0.25), rel=1e-15)  # m grew, sum did not
    # shares now 1/4, 1/4, 1/2
    r.apply([4.0, 4.0, 4.0], 2)
    np.testing.assert_allclose(r.D, [-0.5 + 1.0, 0.5 + 1.0, 2.0 - 4.0])
    assert r.sigma2[-1] == pytest.approx(0.25, rel=1e-15)  # s = 1/2 gives 1/4
    r.remove_agent(1)
    frozen = r.deficits()[1]
    with pytest.raises(ValueError, match="not eligible"):
        r.apply([1.0, 1.0, 1.0], 1)
    for v in np.random.default_rng(0).random((50, 3)):
        assert r.step(v, [True, True, True]) != 1  # mask AND active
    assert r.deficits()[1] == frozen
    assert r.m() == 3  # frozen variables still count
    with pytest.raises(ValueError, match="no active agent"):
        r.log_S([1.0, 1.0, 1.0], [False, True, False])
    with pytest.raises(ValueError, match="not active"):
        r.remove_agent(1)


def test_churn_ef_new_pairs_start_at_zero():
    r = ext.EfExtReference(2)
    for v in [[1.0, 0.5], [0.2, 0.9], [1.0, 1.0]]:
        r.step(v)
    before = r.E.copy()
    assert r.add_agent() == 2
    assert r.E.shape == (3, 3)
    np.testing.assert_array_equal(r.E[:2, :2], before)
    assert not r.E[2].any() and not r.E[:, 2].any()
    assert r.m() == 6
    with pytest.raises(ValueError, match="weights"):
        r.add_agent(2.0)


def test_pdm_available_and_welfare():
    r = ext.PdmExtReference(3, p=2.0)
    u = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    ls = r.log_S(u)
    np.testing.assert_allclose(np.exp(ls), [1 + 2 * _phi2(1 / 3), 2 + _phi2(1 / 3)], rtol=1e-14)
    # only alternative 0 available: agents 1 and 2 have u* = 0 and lose nothing
    r.apply(u, 0, [True, False])
    np.testing.assert_allclose(r.D, [1 / 3 - 1, 0.0, 0.0])
    np.testing.assert_array_equal(r.R, [1.0, 0.0, 0.0])
    assert r.sigma2 == [pytest.approx(2 / 9, rel=1e-15)]
    with pytest.raises(ValueError, match="not available"):
        r.apply(u, 1, [True, False])
    with pytest.raises(ValueError, match="no alternative"):
        r.log_S(u, [False, False])


def test_pdm_majority_and_label_swap():
    # the case: one agent prefers 0, two prefer 1
    u = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    out = {}
    for tb in ("welfare", "index"):
        r = ext.PdmExtReference(3, tie_break=tb)
        a = np.array([r.step(u) for _ in range(300)])
        r2 = ext.PdmExtReference(3, tie_break=tb)
        b = np.array([r2.step(u[:, ::-1]) for _ in range(300)])
        out[tb] = (a.mean(), np.array_equal(a, 1 - b))
    assert out["welfare"][0] == pytest.approx(2 / 3, abs=0.01)
    assert out["welfare"][1]  # swapping the labels swaps the decisions
    assert out["index"][0] == pytest.approx(1 / 3, abs=0.01)  # today's rule
    assert not out["index"][1]


def test_pdm_churn_share_over_active_agents():
    r = ext.PdmExtReference(2, p=2.0)
    r.add_agent()
    r.remove_agent(0)
    u = np.array([[9.0, 9.0], [1.0, 0.0], [0.0, 1.0]])  # row 0 is ignored
    r.apply(u, 0)
    np.testing.assert_allclose(r.D, [0.0, 0.5 - 1.0, 0.5])
    np.testing.assert_array_equal(r.U, [0.0, 1.0, 0.0])
    assert r.sigma2 == [0.25]
    assert r.m() == 3


def test_weighted_shares_follow_weights_on_common_values():
    rng = np.random.default_rng(0)
    w = np.array([1.0, 2.0, 4.0])
    r = ext.PropExtReference(3, weights=w)
    V = np.outer(rng.random(1000) + 0.5, np.ones(3))
    for v in V:
        r.step(v)
    np.testing.assert_allclose(r.own / V.sum(axis=0), w / w.sum(), atol=0.01)


# ---- invariances ----------------------------------------------------------------------


def _uniform_ops(rng, n, rounds, weighted):
    """Random ops with continuous values (no exact value ties), masks and churn."""
    ops = ext.random_ops(rng, n, rounds, "prop", mask_rate=0.4, churn_rate=0.02, weighted=weighted)
    out = []
    for op in ops:
        if op[0] == "step":
            out.append(("step", rng.random(len(op[1])) + 0.01, op[2]))
        else:
            out.append(op)
    return out


@pytest.mark.parametrize("notion", ["prop", "ef"])
def test_label_permutation(notion):
    rng = np.random.default_rng(11 if notion == "prop" else 12)
    n = 5
    ops = _uniform_ops(rng, n, 300 if notion == "prop" else 200, weighted=notion == "prop")
    if notion == "ef":
        ops = [("add", 1.0) if op[0] == "add" else op for op in ops]
    perm = rng.permutation(n)  # new label of old agent i is perm[i]
    w0 = np.exp(rng.normal(size=n)) if notion == "prop" else None
    kw = {"weights": w0} if notion == "prop" else {}
    a = ext.make_reference(notion, n, **kw)
    kwp = {"weights": w0[np.argsort(perm)]} if notion == "prop" else {}
    b = ext.make_reference(notion, n, **kwp)

    def relabel(x, total):
        full = np.arange(total)
        full[:n] = perm
        return full[x]

    for op in ops:
        if op[0] == "add":
            assert a.add_agent(op[1]) == b.add_agent(op[1])
        elif op[0] == "remove":
            a.remove_agent(op[1])
            b.remove_agent(int(relabel(op[1], a.n)))
        else:
            v, e = op[1], op[2]
            inv = np.argsort(relabel(np.arange(a.n), a.n))
            vb = v[inv]
            eb = None if e is None else e[inv]
            da = a.step(v, e)
            db = b.step(vb, eb)
            assert db == relabel(da, a.n)
    inv = np.argsort(relabel(np.arange(a.n), a.n))
    if notion == "prop":
        np.testing.assert_array_equal(b.deficits(), a.deficits()[inv])
    else:
        np.testing.assert_array_equal(b.deficits(), a.deficits()[np.ix_(inv, inv)])
    assert a.potential() == b.potential()
    assert a.bound() == b.bound()


@pytest.mark.parametrize("notion", ["prop", "ef"])
def test_always_ineligible_agent_changes_nothing(notion):
    rng = np.random.default_rng(21)
    n = 4
    V = ref.random_stream(rng, 400, n, "mixed")
    masks = rng.random((400, n)) < 0.7
    masks[np.arange(400), rng.integers(0, n, 400)] = True
    # (for ef with the largest-envy key: the total-envy key counts the pairs toward the
    # extra agent, whose empty bundle adds -v_a(A_a) to every agent's total)
    kw = {"ef_key": "max"} if notion == "ef" else {}
    a = ext.make_reference(notion, n, **kw)
    b = ext.make_reference(notion, n + 1, p=a.p, **kw)
    for v, e in zip(V, masks):
        da = a.step(v, e)
        db = b.step(np.append(v, 10 * rng.random()), np.append(e, False))
        assert da == db
    if notion == "prop":
        np.testing.assert_array_equal(b.deficits()[:n], a.deficits())
        assert b.deficits()[n] == 0.0
    else:
        np.testing.assert_array_equal(b.deficits()[:n, :n], a.deficits())
        assert not b.deficits()[n].any() and not b.deficits()[:, n].any()
    assert math.fsum(a.sigma2) == math.fsum(b.sigma2)  # only m differs in the bound


def test_equal_weights_equal_unweighted():
    rng = np.random.default_rng(31)
    n = 6
    V = ref.random_stream(rng, 300, n, "mixed")
    masks = rng.random((300, n)) < 0.6
    masks[:, 0] = True
    a = ext.PropExtReference(n)
    for c in (1.0, 2.5):
        b = ext.PropExtReference(n, weights=np.full(n, c))
        a = ext.PropExtReference(n)
        for v, e in zip(V, masks):
            da = a.step(v, e)
            assert b.step(v, e) == da
        np.testing.assert_allclose(b.deficits(), a.deficits(), rtol=1e-12, atol=1e-15)
        assert b.bound() == pytest.approx(a.bound(), rel=1e-14)


@pytest.mark.parametrize(
    ("notion", "R", "X"),
    [
        ("prop", ref.PropReference, ext.PropExtReference),
        ("ef", ref.EfReference, ext.EfExtReference),
        ("pdm", ref.PdmReference, ext.PdmExtReference),
    ],
)
@pytest.mark.parametrize("discount", [None, 0.9])
def test_no_extension_equals_plain_reference(notion, R, X, discount):
    rng = np.random.default_rng(41)
    n = 5
    T = 250 if discount is None else 120
    if notion == "pdm":
        V = rng.random((T, n, 3)) * (rng.random((T, n, 3)) < 0.6)
    else:
        V = ref.random_stream(rng, T, n, "mixed")
    a = R(n, discount=discount)
    b = X(n, tie_break="index", discount=discount)
    assert b.p == a.p
    for v in V:
        la, lb = a.log_S(v), b.log_S(v)
        np.testing.assert_array_equal(lb, la)
        x = a.step(v)
        assert x in b.minimisers(v)  # the plain argmin is in the tie set ...
        assert b.choose(v) <= x  # ... and the index rule takes its lowest member
        b.apply(v, x)
    np.testing.assert_array_equal(b.deficits(), a.deficits())
    assert b.potential() == a.potential()
    assert b.bound() == pytest.approx(a.bound(), rel=1e-13)  # sigma2_t = C/K every round


# ---- the bound and the independent checker ---------------------------------------------


def test_extended_bound_formula():
    p, m, s = 5.0, 7, 3.25
    assert ext.extended_bound(p, m, s) == pytest.approx(
        math.sqrt(m ** (2 / p) * (p * p + math.e * (p - 1) * s) - 1), rel=1e-15
    )
    assert ext.extended_bound(2.0, m, s) == pytest.approx(math.sqrt(m * s), rel=1e-15)
    # no extension: the sum of t * C / K gives today's tau
    n, t = 6, 1234
    assert ext.extended_bound(p, n, t * (n - 1) / n**2) == pytest.approx(
        ref.tau_bound(p, n, (n - 1) / n, n, t), rel=1e-14
    )
    assert ext.extended_bound(p, n * (n - 1), t * 2 / n) == pytest.approx(
        ref.tau_bound(p, n * (n - 1), 2.0, n, t), rel=1e-14
    )


@pytest.mark.parametrize("notion", ["prop", "ef", "pdm"])
@pytest.mark.parametrize(("p", "discount"), [(None, None), (2.0, None), (7.0, None), (None, 0.9), (2.0, 0.5)])
def test_reference_within_bound_and_checker_agrees(notion, p, discount):
    rng = np.random.default_rng([ord(notion[0]), int(p or 0), int(100 * (discount or 0))])
    n0 = 4
    ops = ext.random_ops(rng, n0, 500 if discount is None else 300, notion, mask_rate=0.4,
                         churn_rate=0.02, weighted=notion == "prop", max_agents=8)
    r = ext.make_reference(notion, n0, p=p, discount=discount)
    dec, md, bd = [], [], []
    for op in ops:
        if op[0] == "step":
            dec.append(r.step(op[1], op[2]))
            md.append(r.max_deficit())
            bd.append(r.bound())
        elif op[0] == "add":
            r.add_agent(op[1])
        else:
            r.remove_agent(op[1])
    weights = None
    cmax, cbound = ext.check_guarantee(notion, n0, ops, dec, p=p, weights=weights, discount=discount)
    np.testing.assert_allclose(cmax, md, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(cbound, bd, rtol=1e-12)
    assert np.all(np.asarray(md) <= np.asarray(bd))


def test_discounted_bound_formula_and_forced_rounds():
    # the time-uniform bound with the largest sigma2 so far; forced items add 0
    r = ext.PropExtReference(3, p=2.0, discount=0.5)
    r.apply([1.0, 1.0, 1.0], 0, [True, False, False])
    assert r.bound() == 0.0
    r.apply([1.0, 1.0, 1.0], 0, [True, True, False])
    assert r.bound() == pytest.approx(math.sqrt(3 * 0.25 / (1 - 0.25)), rel=1e-15)
    r.apply([1.0, 1.0, 1.0], 1)
    assert r.bound() == pytest.approx(math.sqrt(3 * 0.25 / (1 - 0.25)), rel=1e-15)  # 2/9 < 1/4
    # every deficit decays, ineligible and removed agents' too
    D = r.D.copy()
    r.remove_agent(2)
    r.apply([0.0, 0.0, 5.0], 0)
    np.testing.assert_allclose(r.D, 0.5 * D)
    assert ext.extended_bound_discounted(6.0, 10, 0.3, 0.9) == pytest.approx(
        ref.tau_bound_discounted(6.0, 10, 0.3, 1.0, 0.9), rel=1e-15
    )


def test_checker_catches_violations():
    rng = np.random.default_rng(51)
    V = rng.random((200, 2))
    ops = [("step", v, None) for v in V]
    with pytest.raises(AssertionError, match="max deficit"):
        ext.check_guarantee("prop", 2, ops, [0] * 200, p=2.0)  # everything to agent 0
    with pytest.raises(AssertionError, match="max deficit"):
        ext.check_guarantee("ef", 2, ops, [0] * 200, p=2.0)
    masked = [("step", v, np.array([True, False])) for v in V]
    with pytest.raises(AssertionError, match="not eligible"):
        ext.check_guarantee("prop", 2, masked, [1] * 200)
    # a removed agent is never eligible
    churn = [("remove", 1)] + ops
    with pytest.raises(AssertionError, match="not eligible"):
        ext.check_guarantee("prop", 2, churn, [0] * 199 + [1])
    U = [("step", rng.random((2, 3)), np.array([True, True, False])) for _ in range(5)]
    with pytest.raises(AssertionError, match="not available"):
        ext.check_guarantee("pdm", 2, U, [0, 1, 2, 0, 1])
    # and a legitimate run passes: the reference's own decisions
    r = ext.PropExtReference(2, p=2.0)
    dec = [r.step(v) for v in V]
    md, bd = ext.check_guarantee("prop", 2, ops, dec, p=2.0)
    assert np.all(md <= bd) and md.max() > 0
