"""Slow, obviously-correct NumPy references of the scheduler extensions.

Written from the definitions of docs/scheduler-extensions.md (eligibility, churn,
weights, tie-break orders, public decisions with ``available``), not from the C++
engines. Like the plain references in :mod:`fastfair._reference.online`, every
candidate's whole post-round deficit vector and its raw sum ``S = sum_q phi_p(d_q)``
are recomputed from scratch in log space (the helpers ``log_phi``, ``log_sum_exp``,
``norm``, ``default_p`` and ``tau_bound`` are reused from there).

Conventions
-----------
* Indices are stable: agent ``i`` keeps its index for ever; ``add_agent`` appends.
  Values and masks always have one entry per index ever created (removed agents
  included: their entries are ignored).
* ``E_t = eligible AND active`` (``eligible=None``: every active agent). For an agent
  outside ``E_t`` the item's value is taken as 0: it adds nothing to that agent's share,
  envy or scale. The recipient must lie in ``E_t``.
* The quality variables are all those ever created (removed agents' variables stay,
  frozen): prop/pdm one per index (``m_t = n``), ef one per ordered pair
  (``m_t = n(n-1)``); the potential sums ``phi_p`` over all of them.
* ``sigma2_t`` is the per-round second moment of the reference increments (prop:
  ``max_{i in E_t} s_i (1 - s_i)`` with ``s_i = w_i / W_t``; ef: ``2/|E_t|``, 0 when
  ``|E_t| = 1``; pdm: ``(k-1)/k^2`` with ``k`` active agents), and ``bound()`` is
  ``tau_p`` with ``m_t`` and ``sum_{s<=t} sigma2_s`` in place of ``t C / K``.
* Ties: the minimiser set is every eligible action with ``S(a) <= S_min (1 + 1e-12)``
  (``TIE_REL``). ``tie_break="index"``: its lowest index. ``"value"`` (allocation):
  the highest value to the recipient, then the largest raw deficit before the round
  (prop: ``D_a``; ef: ``sum_j E_aj``, the agent's total raw envy, or with
  ``ef_key="max"`` its largest raw envy ``max_j E_aj``), then the lowest index. ``"welfare"`` (public decisions): the highest total value over the active
  agents, then the lowest index.

* ``discount=gamma``: every variable decays each round (``D <- gamma D + increment``,
  ineligible and removed agents' too) while scales stay undiscounted running maxima;
  ``bound()`` is then the time-uniform discounted bound with ``C/K`` replaced by the
  largest ``sigma2_t`` so far.

``check_guarantee`` is an independent checker: from a whole history of operations and
decisions it recomputes every round's deficits with cumulative sums over the history
(no incremental state) and asserts ``max deficit <= bound`` at every round.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Union

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .online import (
    _Base,
    default_p,
    log_phi,
    log_sum_exp,
    norm,
    tau_bound,
    tau_bound_discounted,
)

__all__ = [
    "TIE_REL",
    "EfExtReference",
    "PdmExtReference",
    "PropExtReference",
    "check_guarantee",
    "extended_bound",
    "extended_bound_discounted",
    "random_ops",
    "replay",
]

#: relative tolerance on S of the minimiser set (SPEC "Scheduler extensions": ties)
TIE_REL = 1e-12

Op = tuple[Any, ...]  # ("step", values, mask) | ("add", weight) | ("remove", i)


def extended_bound(p: float, m: float, sigma2_sum: float) -> float:
    """tau_p with the running sum of sigma2 in place of ``t C / K``:
    ``sqrt(m * sum)`` at p = 2, ``sqrt(m^(2/p) (p^2 + e (p-1) sum) - 1)`` otherwise."""
    return tau_bound(p, m, sigma2_sum, 1.0, 1.0)


def extended_bound_discounted(p: float, m: float, sigma2_max: float, gamma: float) -> float:
    """The time-uniform discounted bound (docs/formulas.md section 8) with ``C/K``
    replaced by the largest per-round second moment so far."""
    return tau_bound_discounted(p, m, sigma2_max, 1.0, gamma)


def _mask(mask: ArrayLike | None, size: int, name: str) -> NDArray[np.bool_]:
    if mask is None:
        return np.ones(size, dtype=bool)
    e = np.asarray(mask)
    if e.shape != (size,):
        msg = f"{name} must have shape ({size},), got {e.shape}"
        raise ValueError(msg)
    if e.dtype != np.bool_:
        if not np.all((e == 0) | (e == 1)):
            msg = f"{name} must be boolean or 0/1"
            raise ValueError(msg)
        e = e.astype(bool)
    return e.copy()


def _tie_set(log_s: NDArray[np.float64], rel: float = TIE_REL) -> NDArray[np.int64]:
    """Indices whose S is within a relative ``rel`` of the minimum (inf = not allowed)."""
    lmin = float(np.min(log_s))
    return np.flatnonzero(log_s <= lmin + math.log1p(rel)).astype(np.int64)


class _ExtAllocBase(_Base):
    """Shared bookkeeping of the extended allocation references."""

    tie_break: str
    gamma: float | None
    alive: NDArray[np.bool_]
    own: NDArray[np.float64]
    rounds: int
    sigma2: list[float]

    @property
    def n(self) -> int:
        return int(self.alive.size)

    @property
    def active(self) -> NDArray[np.bool_]:
        return self.alive.copy()

    def remove_agent(self, i: int) -> None:
        if not (0 <= i < self.n) or not self.alive[i]:
            msg = f"agent {i} is not active"
            raise ValueError(msg)
        self.alive[i] = False

    def eligible_set(self, eligible: ArrayLike | None = None) -> NDArray[np.bool_]:
        """``E_t = eligible AND active``; empty is an error."""
        e = _mask(eligible, self.n, "eligible") & self.alive
        if not e.any():
            msg = "no active agent is eligible"
            raise ValueError(msg)
        return e

    def _values(self, values: ArrayLike, e: NDArray[np.bool_]) -> NDArray[np.float64]:
        v = np.asarray(values, dtype=np.float64)
        if v.shape != (self.n,):
            msg = f"values must have shape ({self.n},), got {v.shape}"
            raise ValueError(msg)
        return np.where(e, v, 0.0)

    def _log_S_one(self, v: NDArray[np.float64], a: int, e: NDArray[np.bool_]) -> float:
        raise NotImplementedError

    def _behind(self) -> NDArray[np.float64]:
        """Each agent's raw deficit before the round (the second tie key)."""
        raise NotImplementedError

    def sigma2_of(self, e: NDArray[np.bool_]) -> float:
        raise NotImplementedError

    def m(self) -> int:
        raise NotImplementedError

    def log_S(self, values: ArrayLike, eligible: ArrayLike | None = None) -> NDArray[np.float64]:
        """log S(a) for every index a; +inf for agents outside E_t."""
        e = self.eligible_set(eligible)
        v = self._values(values, e)
        return np.array(
            [self._log_S_one(v, a, e) if e[a] else math.inf for a in range(self.n)]
        )

    def minimisers(self, values: ArrayLike, eligible: ArrayLike | None = None) -> NDArray[np.int64]:
        """The tied set: eligible actions with S within a relative TIE_REL of the minimum."""
        return _tie_set(self.log_S(values, eligible))

    def tie_order(self, values: ArrayLike, eligible: ArrayLike | None = None) -> NDArray[np.int64]:
        """Every eligible index sorted by the tie-break key (best first)."""
        e = self.eligible_set(eligible)
        idx = np.flatnonzero(e)
        if self.tie_break == "index":
            return idx.astype(np.int64)
        v = self._values(values, e)
        behind = self._behind()
        # lexsort: last key is primary
        order = np.lexsort((idx, -behind[idx], -v[idx]))
        return idx[order].astype(np.int64)

    def choose(self, values: ArrayLike, eligible: ArrayLike | None = None) -> int:
        tied = {int(a) for a in self.minimisers(values, eligible)}
        for a in self.tie_order(values, eligible):
            if int(a) in tied:
                return int(a)
        raise AssertionError("unreachable: the minimiser set is never empty")

    def step(self, values: ArrayLike, eligible: ArrayLike | None = None) -> int:
        a = self.choose(values, eligible)
        self.apply(values, a, eligible)
        return a

    def _update(self, v: NDArray[np.float64], a: int, e: NDArray[np.bool_]) -> None:
        raise NotImplementedError

    def apply(self, values: ArrayLike, a: int, eligible: ArrayLike | None = None) -> None:
        """Apply the decision ``a`` (which must be in E_t)."""
        e = self.eligible_set(eligible)
        a = int(a)
        if not (0 <= a < self.n) or not e[a]:
            msg = f"recipient {a} is not eligible"
            raise ValueError(msg)
        v = self._values(values, e)
        self._update(v, a, e)
        self.own[a] += v[a]
        self.rounds += 1
        self.sigma2.append(self.sigma2_of(e))

    def max_deficit(self) -> float:
        d = self.deficits_flat()
        return float(d.max()) if d.size else 0.0

    def bound(self) -> float:
        if self.gamma is not None:
            return extended_bound_discounted(self.p, self.m(), max(self.sigma2, default=0.0), self.gamma)
        return extended_bound(self.p, self.m(), math.fsum(self.sigma2))

    def _decayed(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        """``gamma x`` with a discount (every variable decays, frozen ones too)."""
        return x * self.gamma if self.gamma is not None else x.copy()


class PropExtReference(_ExtAllocBase):
    """PROP_c with eligibility, churn, weights and an optional discount."""

    def __init__(
        self,
        n: int,
        p: float | None = None,
        weights: ArrayLike | None = None,
        tie_break: str = "value",
        discount: float | None = None,
    ) -> None:
        self.p = default_p(n) if p is None else float(p)
        self.gamma = discount
        self.w = np.ones(n) if weights is None else np.array(weights, dtype=np.float64)
        if self.w.shape != (n,) or not np.all(np.isfinite(self.w) & (self.w > 0)):
            msg = "weights must be n positive finite numbers"
            raise ValueError(msg)
        if tie_break not in ("value", "index"):
            raise ValueError(f"unknown tie_break {tie_break!r}")
        self.tie_break = tie_break
        self.D = np.zeros(n)  # raw deficit: sum of eligible shares - own bundle
        self.M = np.zeros(n)  # largest missed eligible item
        self.own = np.zeros(n)
        self.alive = np.ones(n, dtype=bool)
        self.rounds = 0
        self.sigma2 = []

    def add_agent(self, weight: float = 1.0) -> int:
        w = float(weight)
        if not (math.isfinite(w) and w > 0):
            raise ValueError("weight must be positive and finite")
        self.w = np.append(self.w, w)
        self.D = np.append(self.D, 0.0)
        self.M = np.append(self.M, 0.0)
        self.own = np.append(self.own, 0.0)
        self.alive = np.append(self.alive, True)
        return self.n - 1

    def shares(self, e: NDArray[np.bool_]) -> NDArray[np.float64]:
        """``s_i = w_i / W_t`` on E_t, 0 elsewhere."""
        W = math.fsum(self.w[e])
        return np.where(e, self.w / W, 0.0)

    def _post(
        self, v: NDArray[np.float64], a: int, e: NDArray[np.bool_]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        W = math.fsum(self.w[e])
        D = self._decayed(self.D) + v * self.w / W  # v_i w_i / W_t (v = 0 outside E_t)
        D[a] -= v[a]
        M = np.maximum(self.M, v)
        M[a] = self.M[a]
        return D, M

    def _log_S_one(self, v: NDArray[np.float64], a: int, e: NDArray[np.bool_]) -> float:
        return log_sum_exp(log_phi(norm(*self._post(v, a, e)), self.p))

    def _update(self, v: NDArray[np.float64], a: int, e: NDArray[np.bool_]) -> None:
        self.D, self.M = self._post(v, a, e)

    def _behind(self) -> NDArray[np.float64]:
        return self.D.copy()

    def sigma2_of(self, e: NDArray[np.bool_]) -> float:
        s = self.shares(e)[e]
        return float(np.max(s * (1.0 - s)))

    def m(self) -> int:
        return self.n

    def deficits(self) -> NDArray[np.float64]:
        return norm(self.D, self.M)

    deficits_flat = deficits


class EfExtReference(_ExtAllocBase):
    """EF_c with eligibility, churn and an optional discount (no weights)."""

    def __init__(
        self,
        n: int,
        p: float | None = None,
        tie_break: str = "value",
        ef_key: str = "sum",
        discount: float | None = None,
    ) -> None:
        self.p = default_p(n * (n - 1)) if p is None else float(p)
        self.gamma = discount
        if tie_break not in ("value", "index"):
            raise ValueError(f"unknown tie_break {tie_break!r}")
        if ef_key not in ("sum", "max"):
            raise ValueError(f"unknown ef_key {ef_key!r}")
        self.tie_break = tie_break
        self.ef_key = ef_key
        self.E = np.zeros((n, n))  # E[i, j] = v_i(A_j) - v_i(A_i) over items i was eligible for
        self.S = np.zeros((n, n))  # S[i, j] = largest such v_i of an item in A_j
        self.own = np.zeros(n)
        self.alive = np.ones(n, dtype=bool)
        self.rounds = 0
        self.sigma2 = []

    def add_agent(self, weight: float = 1.0) -> int:
        if float(weight) != 1.0:
            raise ValueError("weights are only defined for prop")
        n = self.n + 1
        E = np.zeros((n, n))
        S = np.zeros((n, n))
        E[:-1, :-1] = self.E
        S[:-1, :-1] = self.S
        self.E, self.S = E, S
        self.own = np.append(self.own, 0.0)
        self.alive = np.append(self.alive, True)
        return n - 1

    @property
    def off(self) -> NDArray[np.bool_]:
        return ~np.eye(self.n, dtype=bool)

    def _post(
        self, v: NDArray[np.float64], a: int, e: NDArray[np.bool_]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        E = self._decayed(self.E)
        S = self.S.copy()
        others = np.arange(self.n) != a
        E[a, others] -= v[a]  # a's own bundle grows (a is eligible)
        E[others, a] += v[others]  # a's bundle grows, seen by i (0 if i not in E_t)
        S[others, a] = np.maximum(S[others, a], v[others])
        return E, S

    def _log_S_one(self, v: NDArray[np.float64], a: int, e: NDArray[np.bool_]) -> float:
        E, S = self._post(v, a, e)
        return log_sum_exp(log_phi(norm(E, S)[self.off], self.p))

    def _update(self, v: NDArray[np.float64], a: int, e: NDArray[np.bool_]) -> None:
        self.E, self.S = self._post(v, a, e)

    def _behind(self) -> NDArray[np.float64]:
        if self.ef_key == "sum":  # total raw envy sum_j E_aj (the engine's documented key)
            return np.array([math.fsum(row) for row in np.where(self.off, self.E, 0.0)])
        # "max": the largest raw envy max_{j != a} E_aj. E_aj >= -v_a(A_a) (the value of
        # an empty bundle), so agents that never receive do not change it.
        return np.where(self.off, self.E, -np.inf).max(axis=1) if self.n > 1 else np.zeros(1)

    def sigma2_of(self, e: NDArray[np.bool_]) -> float:
        k = int(e.sum())
        return 0.0 if k == 1 else 2.0 / k

    def m(self) -> int:
        return self.n * (self.n - 1)

    def deficits(self) -> NDArray[np.float64]:
        d = norm(self.E, self.S)
        d[~self.off] = 0.0
        return d

    def deficits_flat(self) -> NDArray[np.float64]:
        return self.deficits()[self.off]


class PdmExtReference(_Base):
    """Public decisions (PROP_c) with ``available`` alternatives and churn.

    Share of an active agent: ``u*_i / k`` with ``u*_i`` its best available value and
    ``k`` the number of active agents; removed agents' rows are ignored.
    """

    def __init__(
        self,
        n: int,
        p: float | None = None,
        tie_break: str = "welfare",
        discount: float | None = None,
    ) -> None:
        self.p = default_p(n) if p is None else float(p)
        self.gamma = discount
        if tie_break not in ("welfare", "index"):
            raise ValueError(f"unknown tie_break {tie_break!r}")
        self.tie_break = tie_break
        self.D = np.zeros(n)
        self.R = np.zeros(n)
        self.U = np.zeros(n)
        self.alive = np.ones(n, dtype=bool)
        self.rounds = 0
        self.sigma2: list[float] = []

    @property
    def n(self) -> int:
        return int(self.alive.size)

    @property
    def active(self) -> NDArray[np.bool_]:
        return self.alive.copy()

    def add_agent(self, weight: float = 1.0) -> int:
        if float(weight) != 1.0:
            raise ValueError("weights are only defined for prop")
        self.D = np.append(self.D, 0.0)
        self.R = np.append(self.R, 0.0)
        self.U = np.append(self.U, 0.0)
        self.alive = np.append(self.alive, True)
        return self.n - 1

    def remove_agent(self, i: int) -> None:
        if not (0 <= i < self.n) or not self.alive[i]:
            raise ValueError(f"agent {i} is not active")
        self.alive[i] = False

    def _prep(
        self, values: ArrayLike, available: ArrayLike | None
    ) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
        u = np.asarray(values, dtype=np.float64)
        if u.ndim != 2 or u.shape[0] != self.n or u.shape[1] < 1:
            raise ValueError(f"values must have shape ({self.n}, n_alternatives), got {u.shape}")
        av = _mask(available, u.shape[1], "available")
        if not av.any():
            raise ValueError("no alternative is available")
        u = np.where(self.alive[:, None], u, 0.0)  # removed agents are ignored
        return u, av

    def _post(
        self, u: NDArray[np.float64], av: NDArray[np.bool_], x: int
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        ustar = u[:, av].max(axis=1)
        k = int(self.alive.sum())
        D0 = self.D * self.gamma if self.gamma is not None else self.D
        D = np.where(self.alive, D0 + ustar / k - u[:, x], D0)
        R = np.maximum(self.R, ustar)
        return D, R

    def log_S(self, values: ArrayLike, available: ArrayLike | None = None) -> NDArray[np.float64]:
        """log S(x) for every alternative; +inf for unavailable ones."""
        u, av = self._prep(values, available)
        return np.array(
            [
                log_sum_exp(log_phi(norm(*self._post(u, av, x)), self.p)) if av[x] else math.inf
                for x in range(u.shape[1])
            ]
        )

    def minimisers(self, values: ArrayLike, available: ArrayLike | None = None) -> NDArray[np.int64]:
        return _tie_set(self.log_S(values, available))

    def tie_order(self, values: ArrayLike, available: ArrayLike | None = None) -> NDArray[np.int64]:
        u, av = self._prep(values, available)
        idx = np.flatnonzero(av)
        if self.tie_break == "index":
            return idx.astype(np.int64)
        welfare = np.array([math.fsum(u[:, x]) for x in idx])
        return idx[np.lexsort((idx, -welfare))].astype(np.int64)

    def choose(self, values: ArrayLike, available: ArrayLike | None = None) -> int:
        tied = {int(x) for x in self.minimisers(values, available)}
        for x in self.tie_order(values, available):
            if int(x) in tied:
                return int(x)
        raise AssertionError("unreachable")

    def step(self, values: ArrayLike, available: ArrayLike | None = None) -> int:
        x = self.choose(values, available)
        self.apply(values, x, available)
        return x

    def apply(self, values: ArrayLike, x: int, available: ArrayLike | None = None) -> None:
        u, av = self._prep(values, available)
        x = int(x)
        if not (0 <= x < u.shape[1]) or not av[x]:
            raise ValueError(f"alternative {x} is not available")
        self.D, self.R = self._post(u, av, x)
        self.U += u[:, x]
        self.rounds += 1
        k = int(self.alive.sum())
        self.sigma2.append((k - 1) / (k * k))

    def m(self) -> int:
        return self.n

    def deficits(self) -> NDArray[np.float64]:
        return norm(self.D, self.R)

    deficits_flat = deficits

    def max_deficit(self) -> float:
        return float(self.deficits().max())

    def bound(self) -> float:
        if self.gamma is not None:
            return extended_bound_discounted(self.p, self.m(), max(self.sigma2, default=0.0), self.gamma)
        return extended_bound(self.p, self.m(), math.fsum(self.sigma2))


AnyExtReference = Union[PropExtReference, EfExtReference, PdmExtReference]


def make_reference(notion: str, n: int, **kw: Any) -> AnyExtReference:
    """The extended reference for ``notion`` in {"prop", "ef", "pdm"}."""
    if notion == "prop":
        return PropExtReference(n, **kw)
    if notion == "ef":
        return EfExtReference(n, **kw)
    if notion == "pdm":
        return PdmExtReference(n, **kw)
    raise ValueError(f"unknown notion {notion!r}")


def replay(ref: AnyExtReference, ops: Sequence[Op]) -> list[int]:
    """Run a reference on a list of operations with its own tie-break; returns the
    decisions (one per ``"step"``)."""
    out: list[int] = []
    for op in ops:
        if op[0] == "step":
            out.append(ref.step(op[1], op[2]))
        elif op[0] == "add":
            ref.add_agent(op[1])
        elif op[0] == "remove":
            ref.remove_agent(op[1])
        else:
            raise ValueError(f"unknown op {op[0]!r}")
    return out


# ---- the independent checker -----------------------------------------------------------


def _history(
    n0: int, ops: Sequence[Op], weights: ArrayLike | None, agent_mask: bool
) -> tuple[list[NDArray[np.float64]], list[NDArray[np.bool_]], list[int], NDArray[np.float64]]:
    """Per step: values and E_t padded to the final number of indices, and m so far."""
    n = n0
    alive = [True] * n0
    w = [1.0] * n0 if weights is None else [float(x) for x in np.asarray(weights, dtype=np.float64)]
    steps: list[tuple[NDArray[np.float64], NDArray[np.bool_], int]] = []
    for op in ops:
        if op[0] == "add":
            n += 1
            alive.append(True)
            w.append(float(op[1]))
        elif op[0] == "remove":
            alive[int(op[1])] = False
        elif op[0] == "step":
            v = np.asarray(op[1], dtype=np.float64)
            e = np.array(alive)
            if agent_mask and op[2] is not None:
                e &= np.asarray(op[2], dtype=bool)
            steps.append((v, e, n))
    vals = []
    elig = []
    for v, e, k in steps:
        vv = np.zeros((n,) + v.shape[1:])
        vv[:k] = v
        ee = np.zeros(n, dtype=bool)
        ee[:k] = e
        vals.append(vv)
        elig.append(ee)
    return vals, elig, [k for _, _, k in steps], np.array(w)


def _accumulate(inc: NDArray[np.float64], gamma: float | None) -> NDArray[np.float64]:
    """Prefix sums over axis 0, or with a discount ``X_t = gamma X_{t-1} + inc_t``."""
    if gamma is None:
        return np.cumsum(inc, axis=0)
    out = np.empty_like(inc)
    acc = np.zeros(inc.shape[1:])
    for t in range(inc.shape[0]):
        acc = gamma * acc + inc[t]
        out[t] = acc
    return out


def check_guarantee(
    notion: str,
    n0: int,
    ops: Sequence[Op],
    decisions: Sequence[int],
    p: float | None = None,
    weights: ArrayLike | None = None,
    discount: float | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Recompute every round's deficits from the whole history and check the guarantee.

    ``ops`` as for :func:`replay` (for "pdm" the step mask is ``available``),
    ``decisions`` one per step. Deficits are rebuilt with cumulative sums and running
    maxima over the history (with a ``discount``, the recursion ``X_t = gamma X_{t-1} +
    increment_t``), the bound from ``m_t`` and the prefix sums (discount: the running
    maximum) of ``sigma2_t``.
    Raises ``AssertionError`` if a decision is not allowed or a round has
    ``max deficit > bound``; returns (max deficit, bound) per round.
    """
    vals, elig, ms, w = _history(n0, ops, weights, notion != "pdm")
    T = len(vals)
    a = np.asarray(decisions, dtype=np.int64)
    assert a.shape == (T,), "one decision per step"
    if T == 0:
        return np.zeros(0), np.zeros(0)
    n = vals[0].shape[0]
    El = np.array(elig)  # (T, n): E_t for allocation, active agents for pdm
    rows = np.arange(T)
    if notion == "pdm":
        U = np.array(vals) * El[:, :, None]  # (T, n, alts); removed/not-yet agents are 0
        av = np.array([np.ones(U.shape[2], bool) if op[2] is None else np.asarray(op[2], bool)
                       for op in ops if op[0] == "step"])
        assert np.all(av[rows, a]), "a chosen alternative was not available"
        ustar = np.where(av[:, None, :], U, -np.inf).max(axis=2) * El  # (T, n)
        k = El.sum(axis=1)
        got = U[rows, :, a]  # (T, n)
        D = _accumulate(ustar / k[:, None] - got, discount)
        R = np.maximum.accumulate(ustar, axis=0)
        d = norm(D, R)
        sig = (k - 1) / (k * k)
        m = np.array(ms, dtype=np.float64)
        dmax = d.max(axis=1)
    else:
        V = np.array(vals) * El  # value taken as 0 outside E_t
        assert np.all(El[rows, a]), "a recipient was not eligible"
        got = np.zeros((T, n))
        got[rows, a] = 1.0
        if notion == "prop":
            We = (El * w).sum(axis=1)
            s = El * w / We[:, None]
            D = _accumulate(V * s - V * got, discount)
            M = np.maximum.accumulate(V * (1.0 - got), axis=0)
            d = norm(D, M)
            sig = np.where(El, s * (1.0 - s), 0.0).max(axis=1)
            m = np.array(ms, dtype=np.float64)
            dmax = d.max(axis=1)
        elif notion == "ef":
            # E[t, i, j] = sum_{s<=t} v_i(s) (1[a_s = j] - 1[a_s = i])
            # a pair exists from the round both agents exist (counting only later items)
            exists = np.arange(n)[None, :] < np.array(ms)[:, None]  # (T, n)
            both = exists[:, :, None] & exists[:, None, :]
            inc = V[:, :, None] * (got[:, None, :] - got[:, :, None]) * both
            E = _accumulate(inc, discount)
            S = np.maximum.accumulate(V[:, :, None] * got[:, None, :], axis=0)
            d = norm(E, S)
            d[:, np.arange(n), np.arange(n)] = 0.0
            k = El.sum(axis=1)
            sig = np.where(k > 1, 2.0 / k, 0.0)
            m = np.array(ms, dtype=np.float64) * (np.array(ms) - 1)
            dmax = d.reshape(T, -1).max(axis=1)
        else:
            raise ValueError(f"unknown notion {notion!r}")
    pv = (default_p(n0 * (n0 - 1)) if notion == "ef" else default_p(n0)) if p is None else float(p)
    if discount is None:
        csum = np.cumsum(sig)
        bounds = np.array([extended_bound(pv, float(m[t]), float(csum[t])) for t in range(T)])
    else:
        cmax = np.maximum.accumulate(sig)
        bounds = np.array(
            [extended_bound_discounted(pv, float(m[t]), float(cmax[t]), discount) for t in range(T)]
        )
    bad = np.flatnonzero(dmax > bounds)
    assert bad.size == 0, f"round {int(bad[0]) + 1}: max deficit {dmax[bad[0]]} > bound {bounds[bad[0]]}"
    return dmax, bounds


# ---- random operation streams ----------------------------------------------------------


def random_ops(
    rng: np.random.Generator,
    n0: int,
    rounds: int,
    notion: str = "prop",
    mask_rate: float = 0.3,
    churn_rate: float = 0.02,
    weighted: bool = False,
    alts: int = 3,
    max_agents: int = 12,
) -> list[Op]:
    """A random stream of operations: items (mixed value kinds, a random eligibility
    mask on a ``mask_rate`` fraction of rounds, sometimes a single eligible agent),
    and with probability ``churn_rate`` per round an ``add`` (weight log-uniform in
    [0.1, 10] when ``weighted``; at most ``max_agents`` indices in all) or a ``remove``
    (keeping at least ``min(2, n0)`` agents active)."""
    from .online import random_stream

    ops: list[Op] = []
    alive = [True] * n0
    for _ in range(rounds):
        u = rng.random()
        can_add = len(alive) < max_agents
        can_remove = sum(alive) > min(2, n0)
        if u < churn_rate and (can_add or can_remove):
            if can_add and (not can_remove or rng.random() < 0.5):
                w = float(np.exp(rng.uniform(math.log(0.1), math.log(10.0)))) if weighted else 1.0
                ops.append(("add", w))
                alive.append(True)
            else:
                i = int(rng.choice(np.flatnonzero(alive)))
                ops.append(("remove", i))
                alive[i] = False
        n = len(alive)
        act = np.flatnonzero(alive)
        if notion == "pdm":
            vals = rng.random((n, alts)) * (rng.random((n, alts)) < 0.7)
            if rng.random() < 0.3:
                vals = np.round(vals * 2)  # many exact ties
            mask: NDArray[np.bool_] | None = None
            if rng.random() < mask_rate:
                mask = rng.random(alts) < 0.5
                if not mask.any():
                    mask[rng.integers(alts)] = True
            ops.append(("step", vals, mask))
            continue
        vals = random_stream(rng, 1, n, "mixed")[0]
        mask = None
        r = rng.random()
        if r < mask_rate:
            mask = rng.random(n) < 0.5
            if rng.random() < 0.1:  # a forced item: one eligible agent
                mask[:] = False
                mask[int(rng.choice(act))] = True
            if not (mask & np.array(alive)).any():
                mask[int(rng.choice(act))] = True
        ops.append(("step", vals, mask))
    return ops
