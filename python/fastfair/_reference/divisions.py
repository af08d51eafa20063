"""Slow, obviously-correct NumPy reference for divided lotteries.

A divided lottery is the undivided lottery run separately on each division (its
entrants, its seats), with running totals that belong to the entrants: lottery ``t``
uses, for each entrant, the deserved seats of every lottery so far (each computed in
the division the entrant was in at that lottery) minus the wins before ``t``. This
module only re-slices the history and calls :mod:`._reference.lottery` per division.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .lottery import deserved_seats, fair_probabilities


def divided_deserved_seats(
    scores: ArrayLike, codes: ArrayLike, ks: Sequence[int]
) -> NDArray[np.float64]:
    """Deserved seats of one divided lottery: water-filled within each division."""
    s = np.asarray(scores, dtype=np.float64)
    c = np.asarray(codes, dtype=np.int64)
    d = np.zeros_like(s)
    for q, kq in enumerate(ks):
        rows = np.flatnonzero(c == q)
        d[rows] = deserved_seats(s[rows], int(kq))
    return d


def history_probabilities(
    scores: ArrayLike,
    winners: ArrayLike,
    codes: Sequence[Optional[ArrayLike]],
    ks: Sequence[Sequence[int]],
) -> NDArray[np.float64]:
    """Fair probabilities of every lottery from full (entrants, lotteries) matrices.

    ``codes[t]`` is the division code of every entrant at lottery ``t`` (entries of
    non-entrants are ignored) and ``ks[t]`` the seats of each division; a lottery with
    ``codes[t] is None`` is undivided with ``ks[t] == [k]``.
    """
    s = np.asarray(scores, dtype=np.float64)
    w = np.asarray(winners, dtype=np.float64)
    n, t_count = s.shape
    code_cols = [np.zeros(n, np.int64) if c is None else np.asarray(c, np.int64)
                 for c in codes]
    d = np.zeros((n, t_count))
    for t in range(t_count):
        d[:, t] = divided_deserved_seats(s[:, t], code_cols[t], ks[t])
    out = np.zeros((n, t_count))
    for t in range(t_count):
        target = d[:, : t + 1].sum(axis=1)
        received = w[:, :t].sum(axis=1)
        for q, kq in enumerate(ks[t]):
            rows = np.flatnonzero(code_cols[t] == q)
            out[rows, t] = fair_probabilities(target[rows], received[rows], int(kq),
                                              s[rows, t] > 0)
    return out
