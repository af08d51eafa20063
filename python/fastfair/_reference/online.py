"""Slow, obviously-correct NumPy references of the online rules, and instance generators.

Each reference recomputes, for every candidate action, the whole post-round deficit
vector and the raw sum ``S = sum_q phi_p(d_q)`` from scratch (docs/formulas.md
sections 2-6 and 8), in log space so nothing overflows. ``log_S(values)`` returns
``log S(a)`` for every candidate; ``apply(values, a)`` applies a decision (tests keep
the reference in step by applying the engine's decision); ``step`` does both with the
lowest-index tie rule.

Instance generators: the Table 1 instance against max-deficit greedy, the round-robin
instance, the Benade Appendix B instance, and the adaptive adversary of section 6.
"""

from __future__ import annotations

import math
from typing import Callable, Optional

import numpy as np
from numpy.typing import NDArray


def default_p(m: float) -> float:
    """``max(2, ln m)`` (SPEC decision)."""
    return max(2.0, math.log(m)) if m > 1 else 2.0


def log_phi(x: NDArray[np.float64], p: float) -> NDArray[np.float64]:
    """``log phi_p(x) = (p/2) log1p(max(x, 0)^2)``, finite for huge x."""
    x = np.maximum(np.asarray(x, dtype=np.float64), 0.0)
    out = np.zeros_like(x)
    small = (x > 0) & (x < 1e150)
    big = x >= 1e150
    out[small] = 0.5 * p * np.log1p(x[small] ** 2)
    out[big] = p * np.log(x[big]) + 0.5 * p * np.log1p(1.0 / x[big] ** 2)
    return out


def log_sum_exp(logs: NDArray[np.float64]) -> float:
    logs = np.asarray(logs, dtype=np.float64).ravel()
    if logs.size == 0:
        return -math.inf
    mx = float(logs.max())
    return mx + math.log(math.fsum(np.exp(logs - mx)))


def norm(raw: NDArray[np.float64], scale: NDArray[np.float64]) -> NDArray[np.float64]:
    """``1[scale > 0] * max(raw, 0) / scale``."""
    raw = np.asarray(raw, dtype=np.float64)
    scale = np.asarray(scale, dtype=np.float64)
    out = np.zeros(np.broadcast(raw, scale).shape)
    ok = (raw > 0) & (scale > 0)
    out[ok] = (np.broadcast_to(raw, out.shape)[ok]) / np.broadcast_to(scale, out.shape)[ok]
    return out


def tau_bound(p: float, m: float, C: float, K: float, t: float) -> float:
    """tau_p(t) of docs/formulas.md section 3."""
    if m <= 0:
        return 0.0
    if p == 2.0:
        return math.sqrt(C * m * t / K)
    v = m ** (2.0 / p) * (p * p + math.e * C * (p - 1.0) * t / K) - 1.0
    return math.sqrt(max(v, 0.0))


def tau_bound_discounted(p: float, m: float, C: float, K: float, gamma: float) -> float:
    """Time-uniform discounted bound of docs/formulas.md section 8."""
    if m <= 0:
        return 0.0
    if p == 2.0:
        return math.sqrt(C * m / (K * (1.0 - gamma * gamma)))
    m2p = m ** (2.0 / p)
    a = math.e * C * (p - 1.0) * m2p / K
    r = max(math.sqrt(p * p * m2p + a), m ** (1.0 / p) + math.sqrt(a / (1.0 - gamma**2)))
    return math.sqrt(max(r * r - 1.0, 0.0))


class _Base:
    p: float

    def log_S(self, values: NDArray[np.float64]) -> NDArray[np.float64]:
        raise NotImplementedError

    def apply(self, values: NDArray[np.float64], a: int) -> None:
        raise NotImplementedError

    def step(self, values: NDArray[np.float64]) -> int:
        ls = self.log_S(values)
        a = int(np.argmin(ls))  # first minimum: lowest index
        self.apply(values, a)
        return a

    def potential(self) -> float:
        return math.exp(log_sum_exp(log_phi(self.deficits_flat(), self.p)) / self.p)

    def deficits_flat(self) -> NDArray[np.float64]:
        raise NotImplementedError


def _prop_bound(p: float, n: int, gamma: Optional[float], rounds: int) -> float:
    """tau for PROP_c and PDM: m = n, K = n, C = (n-1)/n (time-uniform with gamma)."""
    if gamma is not None:
        return tau_bound_discounted(p, n, (n - 1) / n, n, gamma)
    return tau_bound(p, n, (n - 1) / n, n, rounds)


class PropReference(_Base):
    """PROP_c (section 4) with optional discount (section 8)."""

    def __init__(self, n: int, p: Optional[float] = None, discount: Optional[float] = None):
        self.n = n
        self.p = default_p(n) if p is None else float(p)
        self.gamma = discount
        self.D = np.zeros(n)  # raw deficit (discounted when gamma is set)
        self.M = np.zeros(n)  # largest missed item (undiscounted)
        self.own = np.zeros(n)
        self.rounds = 0

    def _post(self, values: NDArray[np.float64], a: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        v = np.asarray(values, dtype=np.float64)
        D = self.D * self.gamma if self.gamma is not None else self.D.copy()
        D = D + v / self.n
        D[a] = D[a] - v[a]
        M = np.maximum(self.M, v)
        M[a] = self.M[a]
        return D, M

    def log_S(self, values: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.array(
            [log_sum_exp(log_phi(norm(*self._post(values, a)), self.p)) for a in range(self.n)]
        )

    def apply(self, values: NDArray[np.float64], a: int) -> None:
        self.D, self.M = self._post(values, a)
        self.own[a] += values[a]
        self.rounds += 1

    def deficits(self) -> NDArray[np.float64]:
        return norm(self.D, self.M)

    deficits_flat = deficits

    def bound(self) -> float:
        return _prop_bound(self.p, self.n, self.gamma, self.rounds)


class EfReference(_Base):
    """EF_c (section 6) with optional discount (section 8)."""

    def __init__(self, n: int, p: Optional[float] = None, discount: Optional[float] = None):
        self.n = n
        self.p = default_p(n * (n - 1)) if p is None else float(p)
        self.gamma = discount
        self.E = np.zeros((n, n))  # E[i, j] = v_i(A_j) - v_i(A_i) (discounted recursion)
        self.S = np.zeros((n, n))  # S[i, j] = max value for i of an item in A_j
        self.own = np.zeros(n)
        self.rounds = 0
        self.off = ~np.eye(n, dtype=bool)

    def _post(self, values: NDArray[np.float64], a: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        v = np.asarray(values, dtype=np.float64)
        E = self.E * self.gamma if self.gamma is not None else self.E.copy()
        S = self.S.copy()
        others = np.arange(self.n) != a
        E[a, others] = E[a, others] - v[a]  # pairs (a, j): a's own bundle grows
        E[others, a] = E[others, a] + v[others]  # pairs (i, a): a's bundle grows
        S[others, a] = np.maximum(S[others, a], v[others])
        return E, S

    def log_S(self, values: NDArray[np.float64]) -> NDArray[np.float64]:
        out = []
        for a in range(self.n):
            E, S = self._post(values, a)
            out.append(log_sum_exp(log_phi(norm(E, S)[self.off], self.p)))
        return np.array(out)

    def apply(self, values: NDArray[np.float64], a: int) -> None:
        self.E, self.S = self._post(values, a)
        self.own[a] += values[a]
        self.rounds += 1

    def deficits(self) -> NDArray[np.float64]:
        d = norm(self.E, self.S)
        d[~self.off] = 0.0
        return d

    def deficits_flat(self) -> NDArray[np.float64]:
        return self.deficits()[self.off]

    def bound(self) -> float:
        n = self.n
        m = n * (n - 1)
        if self.gamma is not None:
            return tau_bound_discounted(self.p, m, 2.0, n, self.gamma)
        return tau_bound(self.p, m, 2.0, n, self.rounds)


class PdmReference(_Base):
    """Public decisions, PROP_c (section 5) with optional discount."""

    def __init__(self, n: int, p: Optional[float] = None, discount: Optional[float] = None):
        self.n = n
        self.p = default_p(n) if p is None else float(p)
        self.gamma = discount
        self.D = np.zeros(n)
        self.R = np.zeros(n)
        self.U = np.zeros(n)
        self.rounds = 0

    def _post(self, values: NDArray[np.float64], x: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        u = np.asarray(values, dtype=np.float64)
        ustar = u.max(axis=1)
        D = self.D * self.gamma if self.gamma is not None else self.D.copy()
        D = (D + ustar / self.n) - u[:, x]
        R = np.maximum(self.R, ustar)
        return D, R

    def log_S(self, values: NDArray[np.float64]) -> NDArray[np.float64]:
        alts = np.asarray(values).shape[1]
        return np.array(
            [log_sum_exp(log_phi(norm(*self._post(values, x)), self.p)) for x in range(alts)]
        )

    def apply(self, values: NDArray[np.float64], x: int) -> None:
        self.D, self.R = self._post(values, x)
        self.U += np.asarray(values, dtype=np.float64)[:, x]
        self.rounds += 1

    def deficits(self) -> NDArray[np.float64]:
        return norm(self.D, self.R)

    deficits_flat = deficits

    def bound(self) -> float:
        return _prop_bound(self.p, self.n, self.gamma, self.rounds)


class BenadeReference:
    """Benade et al. (2018): argmin_a sum_{i != j} exp(lam x_ij(a)) from scratch."""

    def __init__(self, n: int, horizon: float, lam: Optional[float] = None):
        self.n = n
        self.lam = math.sqrt(2 * math.log(n * (n - 1)) / horizon) if lam is None else lam
        self.VA = np.zeros((n, n))  # VA[i, j] = v_i(A_j)
        self.off = ~np.eye(n, dtype=bool)

    def log_S(self, values: NDArray[np.float64]) -> NDArray[np.float64]:
        out = []
        for a in range(self.n):
            VA = self.VA.copy()
            VA[:, a] += values
            x = VA - np.diag(VA)[:, None]
            out.append(log_sum_exp(self.lam * x[self.off]))
        return np.array(out)

    def apply(self, values: NDArray[np.float64], a: int) -> None:
        self.VA[:, a] += values


# ---- instance generators ---------------------------------------------------------------


def table1_instance(rounds: int, eps: float = 0.1) -> NDArray[np.float64]:
    """Table 1 (docs/formulas.md section 9): (1,1), (1,e), then (1,e), (e,1) alternating."""
    V = np.empty((rounds, 2))
    for t in range(rounds):
        if t == 0:
            V[t] = (1.0, 1.0)
        elif t == 1 or t % 2 == 0:
            V[t] = (1.0, eps)
        else:
            V[t] = (eps, 1.0)
    return V


def round_robin_instance(rounds: int, n: int = 2, eps: float = 0.0) -> NDArray[np.float64]:
    """Against round-robin (10.1): items worth 1 to everyone in rounds that go to agent 0
    under round-robin, eps otherwise."""
    V = np.full((rounds, n), eps)
    V[::n] = 1.0
    return V


def benade_instance(rounds: int, eps: float) -> NDArray[np.float64]:
    """Proposition B.1: every item worth (1, eps)."""
    V = np.empty((rounds, 2))
    V[:, 0] = 1.0
    V[:, 1] = eps
    return V


def benade_first_deviation(lam: float, eps: float, limit: int = 10**8) -> int:
    """First round t at which, all earlier items having gone to agent 1, item t does not:
    the first t with exp(-lam t) + exp(lam eps t) > exp(-lam (t-2)) + exp(lam eps (t-2))
    (evaluated with a common shift so it never overflows)."""
    for t in range(1, limit):
        a = np.array([-lam * t, lam * eps * t])
        b = np.array([-lam * (t - 2), lam * eps * (t - 2)])
        if log_sum_exp(a) > log_sum_exp(b):
            return t
    return limit


def section6_adversary(
    choose: Callable[[NDArray[np.float64]], int], n: int, tau: float, max_rounds: int
) -> tuple[int, NDArray[np.float64]]:
    """The adaptive adversary of docs/formulas.md section 14 against ``choose``.

    Reveals v_i = w (s_i + sigma) with sigma = (n-1) tau and w = 1/max_j(s_j + sigma)
    while every slack s_i = tau - D_i stays >= 0. Returns (rounds played, values), where
    rounds played stops at the first violation (some s_i < 0) or at max_rounds.
    """
    s = np.full(n, float(tau))
    sigma = (n - 1) * tau
    out = []
    for t in range(max_rounds):
        w = 1.0 / float(np.max(s + sigma))
        v = np.clip(w * (s + sigma), 0.0, 1.0)
        out.append(v)
        a = choose(v)
        gain = v / n
        s = s - gain
        s[a] += v[a]
        if np.any(s < 0):
            return t + 1, np.array(out)
    return max_rounds, np.array(out)


def theorem62_max_rounds(n: int, tau: float) -> float:
    """T_max = 4 e^2 n^3 ln(n/(n-1)) tau^2 of Theorem 6.2 (our constants)."""
    return 4 * math.e**2 * n**3 * math.log(n / (n - 1)) * tau**2


def random_stream(rng: np.random.Generator, rounds: int, n: int, kind: str = "mixed") -> NDArray[np.float64]:
    """Random item values of shape (rounds, n).

    kind: "uniform", "heavy" (Pareto, tail index 1.5), "ties" (small integers, many
    zeros), "single" (each item valued by one agent only), or "mixed" (a per-round mix
    of all of these plus all-zero items).
    """
    if kind == "uniform":
        return rng.random((rounds, n))
    if kind == "heavy":
        return rng.pareto(1.5, (rounds, n))
    if kind == "ties":
        return rng.integers(0, 3, (rounds, n)).astype(np.float64)
    if kind == "single":
        V = np.zeros((rounds, n))
        V[np.arange(rounds), rng.integers(0, n, rounds)] = rng.random(rounds) + 0.01
        return V
    if kind == "mixed":
        parts = [random_stream(rng, rounds, n, k) for k in ("uniform", "heavy", "ties", "single")]
        pick = rng.integers(0, 5, rounds)
        V = np.zeros((rounds, n))
        for k, part in enumerate(parts):
            V[pick == k] = part[pick == k]
        return V  # pick == 4: an all-zero item
    msg = f"unknown kind {kind!r}"
    raise ValueError(msg)


# The benchmark's vectorised NumPy loops (the yardsticks) live in vectorised.py.


def reference_run(
    R: type, V: NDArray[np.float64], forced: Optional[NDArray[np.int64]] = None, **kw: object
) -> NDArray[np.float64]:
    """Run a from-scratch reference class on a stream; returns log S of every candidate
    per round, shape (T, candidates). With ``forced`` it applies those decisions,
    otherwise its own argmin."""
    r = R(V.shape[1], **kw)
    out = []
    for t, v in enumerate(V):
        ls = r.log_S(v)
        out.append(ls)
        r.apply(v, int(np.argmin(ls)) if forced is None else int(forced[t]))
    return np.array(out)


def chosen_gap(log_s: NDArray[np.float64], choices: NDArray[np.int64]) -> float:
    """Largest log S(choice) - min log S over the rounds (relative potential gap)."""
    return float(np.max(log_s[np.arange(len(choices)), choices] - log_s.min(axis=1)))
