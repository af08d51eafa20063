"""Slow, obviously-correct NumPy references for fair repeated lotteries.

* :func:`deserved_seats` water-fills by sorting (largest scores capped first);
* :func:`fair_probabilities` projects by bisection over the eligible entrants;
* :func:`history_probabilities` recomputes every lottery's probabilities from the
  full (entrants x lotteries) history matrices, with no running sums;
* :class:`BlogPool` is a NumPy port of the blog's approach (PGD with the sort-based
  simplex-clip projection, Python pipage loop) used as the benchmark baseline.
"""

from __future__ import annotations

from fractions import Fraction

from typing import Optional

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .sampling import pipage_round_loop, project_capped_simplex, project_capped_simplex_sort


def deserved_seats(scores: ArrayLike, k: int) -> NDArray[np.float64]:
    """``min(1, c * s_i)`` with ``sum = k``, found by trying 0, 1, 2, ... capped."""
    s = np.asarray(scores, dtype=np.float64)
    d = np.zeros_like(s)
    pos = np.flatnonzero(s > 0)
    if k == 0 or pos.size == 0:
        return d
    order = pos[np.argsort(-s[pos], kind="stable")]
    for j in range(k + 1):
        rest = order[j:]
        c = (k - j) / s[rest].sum() if rest.size else 0.0
        if rest.size == 0 or c * s[rest[0]] < 1.0:
            d[order[:j]] = 1.0
            d[rest] = c * s[rest]
            return d
    raise AssertionError("unreachable")  # pragma: no cover


def fair_probabilities(
    deserved: ArrayLike,
    received: ArrayLike,
    k: float,
    eligible: Optional[ArrayLike] = None,
) -> NDArray[np.float64]:
    """Projection of ``deserved - received`` over the eligible entrants (bisection)."""
    y = np.asarray(deserved, dtype=np.float64) - np.asarray(received, dtype=np.float64)
    el = np.ones(y.size, bool) if eligible is None else np.asarray(eligible, bool)
    pi = np.zeros_like(y)
    pi[el] = project_capped_simplex(y[el], k)
    return pi


def objective(pi: ArrayLike, deserved: ArrayLike, received: ArrayLike) -> float:
    """The blog's squared unfairness ``||deserved - received - pi||^2``."""
    r = np.asarray(deserved) - np.asarray(received) - np.asarray(pi)
    return float(r @ r)


def pgd(
    deserved: ArrayLike,
    received: ArrayLike,
    k: float,
    eligible: Optional[ArrayLike] = None,
    step: float = 1.0,
    tol: float = 1e-10,
    max_iter: int = 10_000,
) -> tuple[NDArray[np.float64], int, bool]:
    """The blog's projected gradient descent (squared objective, sort projection)."""
    y = np.asarray(deserved, dtype=np.float64) - np.asarray(received, dtype=np.float64)
    el = np.ones(y.size, bool) if eligible is None else np.asarray(eligible, bool)
    ye = y[el]
    m = ye.size
    x = np.full(m, k / m) if m else ye.copy()
    it, converged = 0, k in (0, m)
    if converged:
        x = np.full(m, 1.0 if k == m else 0.0)
    while not converged and it < max_iter:
        new = project_capped_simplex_sort(x - step * (x - ye), k)
        it += 1
        converged = bool(np.max(np.abs(new - x)) <= tol)
        x = new
    pi = np.zeros_like(y)
    pi[el] = x
    return pi, it, converged


def history_probabilities(
    scores: ArrayLike, ks: ArrayLike, winners: ArrayLike
) -> NDArray[np.float64]:
    """Fair probabilities of every lottery from full history matrices.

    ``scores`` and ``winners`` are (entrants, lotteries); lottery ``t`` uses the
    deserved seats of lotteries ``0..t`` and the winners of ``0..t-1``.
    """
    s = np.asarray(scores, dtype=np.float64)
    w = np.asarray(winners, dtype=np.float64)
    n, t_count = s.shape
    ks = np.asarray(ks, dtype=np.int64)
    d = np.column_stack([deserved_seats(s[:, t], int(ks[t])) for t in range(t_count)])
    d = d.reshape(n, t_count)
    out = np.zeros((n, t_count))
    for t in range(t_count):
        deserved_t = d[:, : t + 1].sum(axis=1)
        received_t = w[:, :t].sum(axis=1)
        out[:, t] = fair_probabilities(deserved_t, received_t, int(ks[t]), s[:, t] > 0)
    return out


class BlogPool:
    """NumPy port of the blog's lottery loop: per lottery, rebuild the deserved seats
    from the full score matrix, run PGD with the sort-based projection, draw with the
    Python pipage loop, and append columns to the history matrices.
    (Deserved seats use the water-filling cap so that the results are comparable.)
    """

    def __init__(self, seed: int = 0, step: float = 0.5, tol: float = 1e-10) -> None:
        self.rng = np.random.default_rng(seed)
        self.step, self.tol = step, tol
        self.scores = np.zeros((0, 0))
        self.winners = np.zeros((0, 0))
        self.ks: list[int] = []
        self.last_probabilities = np.zeros(0)
        self.last_iterations = 0

    def run_lottery(self, scores: ArrayLike, k: int) -> NDArray[np.float64]:
        s = np.asarray(scores, dtype=np.float64)
        n_old, t_count = self.scores.shape
        if s.size > n_old:
            pad = np.zeros((s.size - n_old, t_count))
            self.scores = np.vstack([self.scores, pad])
            self.winners = np.vstack([self.winners, pad])
        self.scores = np.column_stack([self.scores, s])
        self.ks.append(int(k))
        d = np.column_stack(
            [deserved_seats(self.scores[:, t], self.ks[t]) for t in range(t_count + 1)]
        )
        pi, it, _ = pgd(
            d.sum(axis=1), self.winners.sum(axis=1), k, s > 0, self.step, self.tol
        )
        w = pipage_round_loop(pi, self.rng)
        self.winners = np.column_stack([self.winners, w])
        self.last_probabilities, self.last_iterations = pi, it
        return w


def deserved_seats_exact(scores: ArrayLike, k: int) -> list[Fraction]:
    """Water-filled deserved seats of the float64 scores, in rational arithmetic.

    The largest scores are capped first: with ``j`` capped, the level is
    ``c = (k - j) / sum(rest)`` and ``j`` is right once the largest uncapped score has
    ``c * s < 1``. Exact for any magnitude (1e-320 or 1e308); slow, for tests.
    """
    s = [Fraction(float(v)) for v in np.asarray(scores, dtype=np.float64).ravel()]
    d = [Fraction(0)] * len(s)
    pos = sorted((i for i in range(len(s)) if s[i] > 0), key=lambda i: -s[i])
    if k == 0 or not pos:
        return d
    for j in range(k + 1):
        rest = pos[j:]
        if not rest:
            break
        c = Fraction(k - j) / sum((s[i] for i in rest), Fraction(0))
        if c * s[rest[0]] < 1:
            for i in pos[:j]:
                d[i] = Fraction(1)
            for i in rest:
                d[i] = c * s[i]
            return d
    for i in pos[:k]:
        d[i] = Fraction(1)
    return d
