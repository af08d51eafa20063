"""Slow, obviously-correct NumPy reference for classical EF_k (docs/formulas.md sec. 7).

* :class:`EFkReference` runs the p-potential rule on threshold deficits by recomputing
  the whole potential ``S`` from scratch for every candidate recipient.
* :func:`efk_matrix` / :func:`efk_of_allocation` compute the exact EF_k of any
  allocation from its item list (used for every allocator by the benchmarks).
* :func:`threshold_deficits` gives the deficits ``d_ijl`` of any allocation.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "EFkReference",
    "efk_matrix",
    "efk_of_allocation",
    "log_phi",
    "match_levels",
    "tau_bound",
    "threshold_deficits",
]


def log_phi(d: NDArray[np.float64], p: float) -> NDArray[np.float64]:
    """``log phi_p(d) = (p/2) log1p(max(d, 0)^2)`` elementwise."""
    x = np.maximum(np.asarray(d, dtype=np.float64), 0.0)
    out: NDArray[np.float64] = 0.5 * p * np.log1p(x * x)
    return out


def _logsumexp(a: NDArray[np.float64], axis: int) -> NDArray[np.float64]:
    mx = np.max(a, axis=axis, keepdims=True)
    out: NDArray[np.float64] = np.squeeze(mx, axis=axis) + np.log(
        np.sum(np.exp(a - mx), axis=axis)
    )
    return out


def tau_bound(p: float, m: float, C: float, K: float, t: float) -> float:
    """tau_p(t) of docs/formulas.md section 3."""
    if p == 2.0:
        return math.sqrt(C * m * t / K)
    v = m ** (2.0 / p) * (p * p + math.e * C * (p - 1.0) * t / K) - 1.0
    return math.sqrt(max(v, 0.0))


def match_levels(values: ArrayLike, levels: ArrayLike) -> NDArray[np.int64]:
    """Level index of every value: -1 for 0, l for levels[l] (relative 1e-12)."""
    v = np.asarray(values, dtype=np.float64)
    lv = np.asarray(levels, dtype=np.float64)
    out = np.full(v.shape, -1, dtype=np.int64)
    nz = v != 0.0
    close = np.abs(v[..., None] - lv) <= 1e-12 * lv
    if not np.all(close.any(axis=-1) | ~nz):
        msg = "values must be 0 or one of the levels"
        raise ValueError(msg)
    out[nz] = np.argmax(close, axis=-1)[nz]
    return out


def threshold_deficits(
    values: ArrayLike, recipients: ArrayLike, levels: ArrayLike
) -> NDArray[np.float64]:
    """Deficits ``d_ijl = (c_ij^l - c_ii^l)_+`` of an allocation, shape (n, n, L).

    ``c_ij^l`` counts the items of ``A_j`` that agent ``i`` values ``>= levels[l]``.
    """
    v = np.asarray(values, dtype=np.float64)
    r = np.asarray(recipients, dtype=np.int64)
    lv = np.sort(np.asarray(levels, dtype=np.float64))
    n = v.shape[1]
    # ge[t, i, l] = 1 if v_i(g_t) >= theta_l (with the matching tolerance)
    ge = (v[:, :, None] >= lv * (1.0 - 1e-12)).astype(np.int64)
    onehot = np.zeros((v.shape[0], n), dtype=np.int64)
    onehot[np.arange(v.shape[0]), r] = 1
    c = np.einsum("til,tj->ijl", ge, onehot)  # c[i, j, l]
    own = c[np.arange(n), np.arange(n)]  # (n, L)
    d: NDArray[np.float64] = np.maximum(c - own[:, None, :], 0).astype(np.float64)
    d[np.arange(n), np.arange(n)] = 0.0
    return d


def _still_envious(rest: list[float], own: list[float]) -> bool:
    # exact sign of sum(rest) - sum(own): fsum is correctly rounded, so its sign is exact
    return math.fsum(rest + [-x for x in own]) > 0.0


def efk_matrix(values: ArrayLike, recipients: ArrayLike) -> NDArray[np.int64]:
    """Exact smallest ``k_ij`` with ``v_i(A_i) >= v_i(A_j minus its k best items for i)``.

    Parameters
    ----------
    values : array_like, shape (T, n)
        ``values[t, i]`` is agent i's (non-negative) value of item t.
    recipients : array_like, shape (T,)
        Recipient of item t.

    Returns
    -------
    numpy.ndarray of int64, shape (n, n), zero diagonal.
    """
    v = np.asarray(values, dtype=np.float64)
    r = np.asarray(recipients, dtype=np.int64)
    if v.ndim != 2 or r.shape != (v.shape[0],):
        msg = "values must be (T, n) and recipients (T,)"
        raise ValueError(msg)
    n = v.shape[1]
    k = np.zeros((n, n), dtype=np.int64)
    for i in range(n):
        own = v[r == i, i].tolist()
        for j in range(n):
            if j == i:
                continue
            b = np.sort(v[r == j, i])[::-1].tolist()  # descending, i's view
            if not _still_envious(b, own):
                continue
            lo, hi = 0, len(b)  # envious after removing lo items, not after hi
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if _still_envious(b[mid:], own):
                    lo = mid
                else:
                    hi = mid
            k[i, j] = hi
    return k


def efk_of_allocation(values: ArrayLike, recipients: ArrayLike) -> int:
    """Exact smallest k such that the allocation is EF_k (0 for envy-free).

    Works for any non-negative item values (not only level sets); sums are compared
    exactly (``math.fsum``), so ties are decided correctly.
    """
    km = efk_matrix(values, recipients)
    return int(km.max()) if km.size else 0


class EFkReference:
    """The EF_k threshold-deficit p-potential rule, recomputing S for every candidate.

    Parameters
    ----------
    n_agents : int
    levels : array_like
        Positive distinct levels (sorted here).
    p : float, optional
        Default ``max(2, ln(n (n-1) L))``.
    """

    def __init__(
        self, n_agents: int, levels: ArrayLike, p: float | None = None
    ) -> None:
        self.n = int(n_agents)
        self.levels = np.unique(np.asarray(levels, dtype=np.float64))
        self.L = self.levels.size
        self.m = self.n * (self.n - 1) * self.L
        self.p = float(max(2.0, math.log(self.m))) if p is None else float(p)
        # thr[i, j, l] = c_ij^l: items of A_j that i values >= theta_l
        self.thr = np.zeros((self.n, self.n, self.L), dtype=np.int64)
        self.values: list[NDArray[np.float64]] = []
        self.recipients: list[int] = []
        off = ~np.eye(self.n, dtype=bool)
        self._offdiag = np.broadcast_to(off[:, :, None], (self.n, self.n, self.L))

    def _chi(self, values: ArrayLike) -> NDArray[np.int64]:
        lev = match_levels(values, self.levels)  # (n,)
        return (np.arange(self.L)[None, :] <= lev[:, None]).astype(np.int64)  # (n, L)

    def deficits_if(self, values: ArrayLike) -> NDArray[np.float64]:
        """Hypothetical deficits for every candidate, shape (n_cand, n, n, L)."""
        chi = self._chi(values)
        n = self.n
        eye = np.eye(n, dtype=np.int64)
        # c_ij(a) = c_ij + [a = j] chi_i ;  c_ii(a) = c_ii + [a = i] chi_i
        cij = self.thr[None] + eye[:, None, :, None] * chi[None, :, None, :]
        cii = np.einsum("iil->il", self.thr)[None] + eye[:, :, None] * chi[None]
        d = np.maximum(cij - cii[:, :, None, :], 0).astype(np.float64)
        return np.where(self._offdiag[None], d, 0.0)

    def candidate_log_s(self, values: ArrayLike) -> NDArray[np.float64]:
        """log S for every candidate recipient (S recomputed from scratch)."""
        d = self.deficits_if(values)
        lp = log_phi(d, self.p)
        lp = np.where(self._offdiag[None], lp, -np.inf)
        return _logsumexp(lp.reshape(self.n, -1), axis=1)

    def apply(self, values: ArrayLike, a: int) -> None:
        """Gives the item to agent ``a``."""
        chi = self._chi(values)
        self.thr[:, a, :] += chi
        self.values.append(np.asarray(values, dtype=np.float64).copy())
        self.recipients.append(int(a))

    def step(self, values: ArrayLike) -> int:
        """Chooses the recipient minimising S (ties: lowest index) and applies it."""
        a = int(np.argmin(self.candidate_log_s(values)))
        self.apply(values, a)
        return a

    def run(self, values: ArrayLike) -> NDArray[np.int64]:
        """``step`` for every row of a (T, n) matrix."""
        v = np.asarray(values, dtype=np.float64)
        return np.array([self.step(row) for row in v], dtype=np.int64)

    def deficits(self) -> NDArray[np.float64]:
        own = np.einsum("iil->il", self.thr)
        d = np.maximum(self.thr - own[:, None, :], 0).astype(np.float64)
        return np.where(self._offdiag, d, 0.0)

    def log_s(self) -> float:
        lp = np.where(self._offdiag, log_phi(self.deficits(), self.p), -np.inf)
        return float(_logsumexp(lp.reshape(1, -1), axis=1)[0])

    def potential(self) -> float:
        return math.exp(self.log_s() / self.p)

    def utilities(self) -> NDArray[np.float64]:
        out = np.zeros(self.n)
        for v, a in zip(self.values, self.recipients):
            out[a] += v[a]
        return out

    def bound(self) -> float:
        return tau_bound(self.p, self.m, 2.0, self.n, len(self.recipients))

    def efk(self) -> int:
        if not self.recipients:
            return 0
        return efk_of_allocation(np.array(self.values), np.array(self.recipients))
