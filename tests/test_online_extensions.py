"""Scheduler extensions of the online engines: eligibility masks, churn, weights, the
running-moment bound, state round trips and run == step.

The engines are checked decision for decision against the small from-scratch NumPy
models below (every candidate's whole post-round deficit vector and log S recomputed;
the model is kept in step by applying the engine's decision), following the SPEC's
definitions: an item counts only for the eligible active agents (the others' values are
taken as 0), prop shares are w_i / W_t over them, removed agents never receive again.
"""

from __future__ import annotations

import math
import pickle
from typing import Optional

import numpy as np
import pytest

import fastfair as ff
from fastfair._reference.online import log_phi, log_sum_exp, norm, tau_bound

E_CONST = math.e


def _moment_bound(p: float, m: float, sigma: float) -> float:
    if p == 2.0:
        return math.sqrt(m * sigma)
    return math.sqrt(max(m ** (2.0 / p) * (p * p + E_CONST * (p - 1.0) * sigma) - 1.0, 0.0))


class PropModel:
    def __init__(self, n: int, p: float, weights: Optional[np.ndarray] = None):
        self.p = p
        self.D = np.zeros(n)
        self.M = np.zeros(n)
        self.w = np.ones(n) if weights is None else np.asarray(weights, float).copy()
        self.act = np.ones(n, bool)
        self.sigma = 0.0

    def add(self, w: float = 1.0) -> int:
        self.D = np.append(self.D, 0.0)
        self.M = np.append(self.M, 0.0)
        self.w = np.append(self.w, w)
        self.act = np.append(self.act, True)
        return len(self.D) - 1

    def elig(self, mask):
        return self.act & (np.ones(len(self.D), bool) if mask is None else np.asarray(mask, bool))

    def log_S(self, v, mask=None):
        E = self.elig(mask)
        vv = np.where(E, v, 0.0)
        W = self.w[E].sum()
        out = np.full(len(v), np.inf)
        for a in np.flatnonzero(E):
            D = self.D + vv * self.w / W
            D[a] -= vv[a]
            M = np.maximum(self.M, vv)
            M[a] = self.M[a]
            out[a] = log_sum_exp(log_phi(norm(D, M), self.p))
        return out

    def apply(self, v, a, mask=None):
        E = self.elig(mask)
        vv = np.where(E, v, 0.0)
        W = self.w[E].sum()
        s = self.w[E] / W
        self.sigma += float(np.max(s * (1 - s)))
        M_a = self.M[a]
        self.D = self.D + vv * self.w / W
        self.D[a] -= vv[a]
        self.M = np.maximum(self.M, vv)
        self.M[a] = M_a

    def deficits(self):
        return norm(self.D, self.M)

    def bound(self):
        return _moment_bound(self.p, len(self.D), self.sigma)


class EfModel:
    def __init__(self, n: int, p: float):
        self.p = p
        self.E = np.zeros((n, n))
        self.S = np.zeros((n, n))
        self.act = np.ones(n, bool)
        self.sigma = 0.0

    def add(self, w: float = 1.0) -> int:
        n = len(self.act)
        E = np.zeros((n + 1, n + 1))
        S = np.zeros((n + 1, n + 1))
        E[:n, :n] = self.E
        S[:n, :n] = self.S
        self.E, self.S = E, S
        self.act = np.append(self.act, True)
        return n

    def elig(self, mask):
        return self.act & (np.ones(len(self.act), bool) if mask is None else np.asarray(mask, bool))

    def _post(self, vv, a):
        E = self.E.copy()
        S = self.S.copy()
        E[a, :] -= vv[a]
        E[:, a] += vv
        np.fill_diagonal(E, 0.0)
        S[:, a] = np.maximum(S[:, a], vv)
        return E, S

    def log_S(self, v, mask=None):
        Em = self.elig(mask)
        vv = np.where(Em, v, 0.0)
        n = len(v)
        off = ~np.eye(n, dtype=bool)
        out = np.full(n, np.inf)
        for a in np.flatnonzero(Em):
            E, S = self._post(vv, a)
            out[a] = log_sum_exp(log_phi(norm(E, S)[off], self.p))
        return out

    def apply(self, v, a, mask=None):
        Em = self.elig(mask)
        k = int(Em.sum())
        self.sigma += 2.0 / k if k >= 2 else 0.0
        self.E, self.S = self._post(np.where(Em, v, 0.0), a)

    def deficits(self):
        d = norm(self.E, self.S)
        np.fill_diagonal(d, 0.0)
        return d

    def bound(self):
        n = len(self.act)
        return _moment_bound(self.p, n * (n - 1), self.sigma)


class PdmModel:
    def __init__(self, n: int, p: float):
        self.p = p
        self.D = np.zeros(n)
        self.R = np.zeros(n)
        self.act = np.ones(n, bool)
        self.sigma = 0.0

    def add(self, w: float = 1.0) -> int:
        self.D = np.append(self.D, 0.0)
        self.R = np.append(self.R, 0.0)
        self.act = np.append(self.act, True)
        return len(self.D) - 1

    def _base(self, u, avail):
        av = np.ones(u.shape[1], bool) if avail is None else np.asarray(avail, bool)
        ua = np.where(self.act[:, None], u, 0.0)
        ustar = ua[:, av].max(axis=1)
        na = int(self.act.sum())
        return ua, av, self.D + ustar / na, np.maximum(self.R, ustar)

    def log_S(self, u, avail=None):
        ua, av, base, R = self._base(u, avail)
        out = np.full(u.shape[1], np.inf)
        for x in np.flatnonzero(av):
            out[x] = log_sum_exp(log_phi(norm(base - ua[:, x], R), self.p))
        return out

    def apply(self, u, x, avail=None):
        ua, av, base, R = self._base(u, avail)
        na = int(self.act.sum())
        self.sigma += (na - 1) / na**2
        self.D = base - ua[:, x]
        self.R = R

    def deficits(self):
        return norm(self.D, self.R)

    def bound(self):
        return _moment_bound(self.p, len(self.D), self.sigma)


def _random_mask(rng, n, act):
    mask = rng.random(n) < rng.choice([0.3, 0.6, 0.95])
    if not (mask & act).any():
        mask[rng.choice(np.flatnonzero(act))] = True
    return mask


def _values(rng, n):
    kind = rng.integers(0, 4)
    if kind == 0:
        return rng.random(n)
    if kind == 1:
        return rng.pareto(1.5, n)
    if kind == 2:
        return rng.integers(0, 3, n).astype(float)
    return rng.random(n) * (rng.random(n) < 0.4)


def _drive(alloc, model, rng, rounds, churn=True, weighted=False):
    """Random stream with masks and churn; checks every decision and every bound."""
    for _ in range(rounds):
        n = alloc.n_agents
        if churn and rng.random() < 0.03 and n < 12:
            w = float(rng.uniform(0.2, 3.0)) if weighted else 1.0
            assert alloc.add_agent(w) == model.add(w) == n
            continue
        if churn and rng.random() < 0.02 and alloc.active.sum() > 1:
            i = int(rng.choice(np.flatnonzero(alloc.active)))
            alloc.remove_agent(i)
            model.act[i] = False
            continue
        v = _values(rng, n)
        mask = _random_mask(rng, n, model.act) if rng.random() < 0.7 else None
        ls = model.log_S(v, mask)
        a = alloc.step(v, mask)
        assert model.elig(mask)[a], "recipient must be eligible and active"
        if ls.min() > -np.inf:  # (one ef agent has no pairs: log S = -inf everywhere)
            assert ls[a] - ls.min() <= 1e-11
        model.apply(v, a, mask)
        assert alloc.max_deficit <= alloc.bound() * (1 + 1e-12)
    np.testing.assert_allclose(alloc.deficits, model.deficits(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(alloc.bound(), model.bound(), rtol=1e-9)
    np.testing.assert_array_equal(alloc.active, model.act)


@pytest.mark.parametrize("tie_break", ["value", "index"])
@pytest.mark.parametrize("seed", range(4))
def test_prop_matches_model_with_masks_and_churn(seed, tie_break):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 7))
    alloc = ff.OnlineAllocator(n, "prop", tie_break=tie_break)
    _drive(alloc, PropModel(n, alloc.p), rng, 600)


@pytest.mark.parametrize("seed", range(4))
def test_prop_weighted_matches_model(seed):
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(2, 7))
    w = rng.uniform(0.1, 4.0, n)
    alloc = ff.OnlineAllocator(n, "prop", weights=w)
    _drive(alloc, PropModel(n, alloc.p, w), rng, 600, weighted=True)
    np.testing.assert_array_equal(alloc.weights[:n], w)


@pytest.mark.parametrize("tie_break", ["value", "index"])
@pytest.mark.parametrize("seed", range(4))
def test_ef_matches_model_with_masks_and_churn(seed, tie_break):
    rng = np.random.default_rng(200 + seed)
    n = int(rng.integers(1, 6))
    alloc = ff.OnlineAllocator(n, "ef", tie_break=tie_break)
    _drive(alloc, EfModel(n, alloc.p), rng, 500)


@pytest.mark.parametrize("seed", range(4))
def test_pdm_matches_model_with_available_and_churn(seed):
    rng = np.random.default_rng(300 + seed)
    n = int(rng.integers(1, 6))
    alts = int(rng.integers(1, 5))
    pdm = ff.PublicDecisionMaker(n)
    model = PdmModel(n, pdm.p)
    for _ in range(600):
        if rng.random() < 0.03 and pdm.n_agents < 10:
            assert pdm.add_agent() == model.add()
            continue
        if rng.random() < 0.02 and pdm.active.sum() > 1:
            i = int(rng.choice(np.flatnonzero(pdm.active)))
            pdm.remove_agent(i)
            model.act[i] = False
            continue
        u = rng.integers(0, 3, (pdm.n_agents, alts)).astype(float)
        avail = None
        if rng.random() < 0.6:
            avail = rng.random(alts) < 0.6
            avail[rng.integers(alts)] = True
        ls = model.log_S(u, avail)
        x = pdm.step(u, avail)
        assert avail is None or avail[x]
        assert ls[x] - ls.min() <= 1e-11
        model.apply(u, x, avail)
        assert pdm.max_deficit <= pdm.bound() * (1 + 1e-12)
    np.testing.assert_allclose(pdm.deficits, model.deficits(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(pdm.bound(), model.bound(), rtol=1e-9)


# ---- eligibility semantics and validation ---------------------------------------------
@pytest.mark.parametrize("notion", ["prop", "ef"])
def test_ineligible_agents_are_untouched(notion):
    rng = np.random.default_rng(1)
    a = ff.OnlineAllocator(4, notion)
    a.run(rng.random((50, 4)))
    before = a.state["engine"]
    mask = np.array([True, True, False, False])
    a.step([0.5, 0.7, 9.0, 9.0], mask)
    after = a.state["engine"]
    if notion == "prop":
        for key in ("raw_deficits", "missed_max", "total", "own"):
            np.testing.assert_array_equal(after[key][2:], before[key][2:])
    else:
        for key in ("envy", "bundle_max"):
            np.testing.assert_array_equal(after[key][2:, :], before[key][2:, :])


@pytest.mark.parametrize("notion", ["prop", "ef"])
@pytest.mark.parametrize(
    "mask",
    [
        [False, False, False],
        [True, False],
        [[True, False, True]],
        [0.5, 1, 0],
        ["a", "b", "c"],
        np.ma.masked_array([True, True, True], [False, True, False]),
        [1 + 0j, 0, 1],
    ],
)
def test_bad_masks_raise_before_any_change(notion, mask):
    a = ff.OnlineAllocator(3, notion)
    a.run(np.random.default_rng(0).random((20, 3)))
    before = pickle.dumps(a)
    with pytest.raises(ValueError, match="eligible"):
        a.step([0.1, 0.2, 0.3], mask)
    with pytest.raises(ValueError, match="eligible"):
        a.run(np.ones((4, 3)), mask)
    assert pickle.dumps(a) == before


@pytest.mark.parametrize("notion", ["prop", "ef"])
def test_run_validates_every_row_first(notion):
    a = ff.OnlineAllocator(3, notion)
    masks = np.ones((10, 3), bool)
    masks[7] = False
    with pytest.raises(ValueError, match="row 7"):
        a.run(np.ones((10, 3)), masks)
    assert a.rounds == 0
    # a removed agent as the only eligible one is "none"
    a.remove_agent(0)
    with pytest.raises(ValueError, match="eligible"):
        a.step([1, 1, 1], [True, False, False])
    with pytest.raises(ValueError, match="shape"):
        a.run(np.ones((10, 3)), np.ones((9, 3), bool))
    assert a.rounds == 0


@pytest.mark.parametrize("notion", ["prop", "ef"])
def test_masks_accept_bool_and_01(notion):
    rng = np.random.default_rng(9)
    V = rng.random((200, 5))
    M = rng.random((200, 5)) < 0.5
    M[:, 0] = True
    outs = []
    for mk in (M, M.astype(np.int8), M.astype(float), M.tolist()):
        a = ff.OnlineAllocator(5, notion)
        outs.append(a.run(V, mk))
    for o in outs[1:]:
        np.testing.assert_array_equal(o, outs[0])
    # a (n,) mask in run is the same mask every round
    a = ff.OnlineAllocator(5, notion)
    b = ff.OnlineAllocator(5, notion)
    np.testing.assert_array_equal(a.run(V, M[3]), b.run(V, np.tile(M[3], (200, 1))))


def test_all_true_mask_is_the_plain_path_exactly():
    rng = np.random.default_rng(4)
    V = rng.random((3000, 6))
    for notion in ("prop", "ef"):
        for tb in ("value", "index"):
            a = ff.OnlineAllocator(6, notion, tie_break=tb)
            b = ff.OnlineAllocator(6, notion, tie_break=tb)
            np.testing.assert_array_equal(a.run(V), b.run(V, np.ones((3000, 6), bool)))
            assert a.bound() == b.bound()
            np.testing.assert_array_equal(a.deficits, b.deficits)


def test_single_eligible_agent_is_forced():
    a = ff.OnlineAllocator(4)
    for t in range(20):
        mask = np.zeros(4, bool)
        mask[t % 4] = True
        assert a.step(np.ones(4), mask) == t % 4
    # |E| = 1 rounds have sigma2 = 0: the bound did not grow
    assert a.bound() == 0.0 or a.p > 2.0


def test_pdm_available_validation():
    pdm = ff.PublicDecisionMaker(2)
    u = np.array([[1.0, 0.0, 0.5], [0.0, 1.0, 0.5]])
    for bad in ([False, False, False], [True, False], [0.3, 1, 1], ["x", "y", "z"]):
        with pytest.raises(ValueError, match="available"):
            pdm.step(u, bad)
        with pytest.raises(ValueError, match="available"):
            pdm.run(np.stack([u, u]), bad)
    bad_rows = np.ones((3, 3), bool)
    bad_rows[2] = False
    with pytest.raises(ValueError, match="row 2"):
        pdm.run(np.stack([u, u, u]), bad_rows)
    assert pdm.rounds == 0
    assert pdm.step(u, [False, False, True]) == 2


# ---- churn ---------------------------------------------------------------------------
@pytest.mark.parametrize("notion", ["prop", "ef"])
def test_churn_indices_and_errors(notion):
    a = ff.OnlineAllocator(2, notion)
    a.run(np.random.default_rng(0).random((30, 2)))
    assert a.add_agent() == 2
    assert a.n_agents == 3
    np.testing.assert_array_equal(a.active, [True, True, True])
    a.remove_agent(1)
    np.testing.assert_array_equal(a.active, [True, False, True])
    with pytest.raises(ValueError, match="already removed"):
        a.remove_agent(1)
    for bad in (-1, 3):
        with pytest.raises(ValueError, match="agent"):
            a.remove_agent(bad)
    with pytest.raises(TypeError):
        a.remove_agent(1.0)
    with pytest.raises(ValueError, match="values"):
        a.step([1.0, 1.0])  # one entry per agent ever added
    r = a.run(np.random.default_rng(1).random((300, 3)))
    assert 1 not in set(r.tolist())
    if notion == "ef":
        with pytest.raises(ValueError, match="weights"):
            a.add_agent(2.0)
    for w in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="weight"):
            a.add_agent(w)
    assert a.n_agents == 3


def test_new_agent_counts_only_items_from_now_on():
    a = ff.OnlineAllocator(2)
    a.run(np.ones((100, 2)))
    k = a.add_agent()
    d = a.deficits
    assert d[k] == 0.0
    assert a.state["engine"]["total"][k] == 0.0


def test_removing_everyone_then_stepping_raises():
    a = ff.OnlineAllocator(1)
    a.remove_agent(0)
    with pytest.raises(ValueError, match="active"):
        a.step([1.0])
    a.add_agent()
    assert a.step([1.0, 1.0]) == 1


def test_efk_churn_and_masks_are_refused():
    a = ff.OnlineAllocator(3, "efk", levels=[1.0])
    with pytest.raises(NotImplementedError):
        a.add_agent()
    with pytest.raises(NotImplementedError):
        a.remove_agent(0)
    with pytest.raises(NotImplementedError):
        a.step([1.0, 0.0, 1.0], [True, True, True])
    with pytest.raises(ValueError, match="weights"):
        ff.OnlineAllocator(3, "efk", levels=[1.0], weights=[1, 1, 1])


# ---- weights -------------------------------------------------------------------------
def test_weighted_long_run_shares_follow_the_weights():
    """Common-value items (every agent values an item alike, e.g. machine time): PROP
    with weights must give agent i at least w_i / sum(w) of the total, so in the long
    run the shares are exactly the weights."""
    rng = np.random.default_rng(8)
    w = np.array([1.0, 2.0, 3.0, 4.0])
    T = 40_000
    a = ff.OnlineAllocator(4, weights=w)
    a.run(np.repeat(rng.random((T, 1)), 4, axis=1))
    share = a.utilities / a.state["engine"]["total"]
    np.testing.assert_allclose(share, w / w.sum(), atol=2e-3)
    assert a.max_deficit <= a.bound()
    # an unweighted allocator splits the same stream equally
    b = ff.OnlineAllocator(4)
    b.run(np.repeat(rng.random((T, 1)), 4, axis=1))
    np.testing.assert_allclose(b.utilities / b.state["engine"]["total"], 0.25, atol=2e-3)


def test_weight_validation():
    with pytest.raises(ValueError, match="weights"):
        ff.OnlineAllocator(3, "ef", weights=[1, 1, 1])
    for bad in ([1, 1], [1, 0, 1], [1, -1, 1], [1, np.inf, 1], [1, np.nan, 1]):
        with pytest.raises(ValueError, match="weights"):
            ff.OnlineAllocator(3, weights=bad)
    with pytest.raises(TypeError, match="weights"):
        ff.OnlineAllocator(3, weights=[1 + 1j, 1, 1])
    a = ff.OnlineAllocator(2, weights=[1.0, 3.0])
    assert a.add_agent(0.5) == 2
    np.testing.assert_array_equal(a.weights, [1.0, 3.0, 0.5])


# ---- bound ---------------------------------------------------------------------------
@pytest.mark.parametrize(("notion", "C", "m"), [("prop", None, None), ("ef", 2.0, None)])
@pytest.mark.parametrize("p", [None, 2.0, 3.5])
def test_bound_is_exactly_the_original_without_extensions(notion, C, m, p):
    n = 5
    a = ff.OnlineAllocator(n, notion, p=p)
    a.run(np.random.default_rng(2).random((777, n)))
    if notion == "prop":
        expected = tau_bound(a.p, n, (n - 1) / n, n, 777)
    else:
        expected = tau_bound(a.p, n * (n - 1), 2.0, n, 777)
    assert a.bound() == expected


def test_pdm_bound_is_exactly_the_original_without_extensions():
    pdm = ff.PublicDecisionMaker(4)
    pdm.run(np.random.default_rng(2).random((321, 4, 3)))
    assert pdm.bound() == tau_bound(pdm.p, 4, 3 / 4, 4, 321)


def _adversary_run(alloc, rng, rounds, weighted):
    """Adaptive: the most-behind active agent gets value 1 but is often made
    ineligible, everyone else a tiny value; churn on the way."""
    for t in range(rounds):
        n = alloc.n_agents
        if t % 97 == 50 and n < 10:
            alloc.add_agent(float(rng.uniform(0.5, 2.0)) if weighted else 1.0)
            continue
        if t % 211 == 100 and alloc.active.sum() > 2:
            alloc.remove_agent(int(np.flatnonzero(alloc.active)[0]))
            continue
        d = alloc.deficits
        if d.ndim == 2:
            d = d.max(axis=1)
        d = np.where(alloc.active, d, -1.0)
        worst = int(np.argmax(d))
        v = np.full(n, 1e-3)
        v[worst] = 1.0
        mask = alloc.active.copy()
        if rng.random() < 0.7 and mask.sum() > 1:
            mask[worst] = False
        alloc.step(v, mask)
        assert alloc.max_deficit <= alloc.bound() * (1 + 1e-12)


@pytest.mark.parametrize("notion", ["prop", "ef"])
@pytest.mark.parametrize("discount", [None, 0.95])
def test_bound_holds_every_round_against_an_adversary(notion, discount):
    rng = np.random.default_rng(17)
    weights = [1.0, 5.0, 0.2] if notion == "prop" else None
    a = ff.OnlineAllocator(3, notion, discount=discount, weights=weights)
    _adversary_run(a, rng, 1500, weighted=notion == "prop")


# ---- state, pickle, run == step --------------------------------------------------------
def _scenario(make, rng, rounds=400):
    """Apply a random schedule of steps (with masks), runs and churn to make() twice:
    once by steps, once by runs, and with pickles in between."""
    a = make()
    b = make()
    for _ in range(8):
        n = a.n_agents
        if rng.random() < 0.4:
            w = float(rng.uniform(0.5, 2.0)) if a.notion == "prop" else 1.0
            assert a.add_agent(w) == b.add_agent(w)
            n += 1
        if rng.random() < 0.3 and a.active.sum() > 1:
            i = int(rng.choice(np.flatnonzero(a.active)))
            a.remove_agent(i)
            b.remove_agent(i)
        T = rounds // 8
        V = rng.random((T, n)) * (rng.random((T, n)) < 0.8)
        M = rng.random((T, n)) < 0.6
        M[np.arange(T), rng.choice(np.flatnonzero(a.active), T)] = True
        ra = np.array([a.step(V[t], M[t]) for t in range(T)])
        rb = b.run(V, M)
        np.testing.assert_array_equal(ra, rb)
        b = pickle.loads(pickle.dumps(b))
        a = type(a).from_state(a.state)
    return a, b


@pytest.mark.parametrize("notion", ["prop", "ef"])
@pytest.mark.parametrize("discount", [None, 0.9])
def test_run_equals_step_and_state_round_trips(notion, discount):
    rng = np.random.default_rng(23)
    weights = [1.0, 2.0, 0.5] if notion == "prop" else None
    a, b = _scenario(lambda: ff.OnlineAllocator(3, notion, discount=discount, weights=weights), rng)
    assert a.bound() == b.bound()
    np.testing.assert_array_equal(a.deficits, b.deficits)
    np.testing.assert_array_equal(a.active, b.active)
    assert a.tie_break == b.tie_break == "value"
    V = rng.random((50, a.n_agents))
    np.testing.assert_array_equal(a.run(V), b.run(V))


def test_pdm_state_round_trip_with_churn():
    rng = np.random.default_rng(29)
    a = ff.PublicDecisionMaker(3, tie_break="index")
    a.run(rng.random((50, 3, 2)))
    a.add_agent()
    a.remove_agent(0)
    a.run(rng.random((50, 4, 2)), [True, False])
    b = pickle.loads(pickle.dumps(a))
    assert b.tie_break == "index"
    assert b.bound() == a.bound()
    np.testing.assert_array_equal(b.active, a.active)
    U = rng.random((100, 4, 3))
    np.testing.assert_array_equal(a.run(U), b.run(U))


def test_old_states_continue_with_the_index_rule():
    a = ff.OnlineAllocator(3, tie_break="index")
    V = np.random.default_rng(3).random((200, 3))
    a.run(V[:100])
    st = a.state
    # a state written before the extensions: no tie_break / weights, engine version 1
    del st["tie_break"], st["weights"]
    eng = st["engine"]
    eng["version"] = 1
    for key in ("tie_break", "weights", "active", "moment_plain", "moment_extra", "moment_peak"):
        del eng[key]
    b = ff.OnlineAllocator.from_state(st)
    assert b.tie_break == "index"
    np.testing.assert_array_equal(a.run(V[100:]), b.run(V[100:]))
    assert a.bound() == b.bound()


def test_many_joins_stay_cheap_and_restore():
    """add_agent is amortised O(1) for prop (unit weights) and public decisions, and a
    state with many added agents restores in one reallocation."""
    a = ff.OnlineAllocator(1)
    pdm = ff.PublicDecisionMaker(1)
    for _ in range(100_000):
        a.add_agent()
        pdm.add_agent()
    assert a.n_agents == pdm.n_agents == 100_001
    v = np.zeros(a.n_agents)
    v[-1] = 1.0
    assert a.step(v) == a.n_agents - 1
    b = pickle.loads(pickle.dumps(a))
    assert b.n_agents == a.n_agents and b.bound() == a.bound()
    c = pickle.loads(pickle.dumps(pdm))
    assert c.n_agents == pdm.n_agents
