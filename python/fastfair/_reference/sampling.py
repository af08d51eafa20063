"""References for the sampling kernels."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from numpy.typing import ArrayLike, NDArray


def project_capped_simplex(y: ArrayLike, k: float, iters: int = 200) -> NDArray[np.float64]:
    """Projection onto {0 <= x <= 1, sum x = k} by bisection on the threshold."""
    y = np.asarray(y, dtype=np.float64)
    n = y.size
    if k <= 0:
        return np.zeros(n)
    if k >= n:
        return np.ones(n)
    lo, hi = float(y.min()) - 1.0, float(y.max())
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        if np.clip(y - mid, 0.0, 1.0).sum() > k:
            lo = mid
        else:
            hi = mid
    return np.clip(y - 0.5 * (lo + hi), 0.0, 1.0)


def project_capped_simplex_sort(y: ArrayLike, k: float) -> NDArray[np.float64]:
    """The blog's sort-based projection (O(n log n)) without its final rescale."""
    r = np.asarray(y, dtype=np.float64)
    lambdas = np.append(-r, 1 - r)
    idx = np.argsort(lambdas)
    lambdas = lambdas[idx]
    active = np.cumsum((idx < r.size) * 2 - 1)[:-1]
    diffs = np.diff(lambdas, n=1)
    totals = np.cumsum(active * diffs)
    i = int(np.searchsorted(totals, k))
    lam = (k - totals[i]) / active[i] + lambdas[i + 1]
    return np.asarray(np.clip(r + lam, 0, 1), dtype=np.float64)


def pipage_round_loop(x: ArrayLike, rng: np.random.Generator) -> NDArray[np.float64]:
    """A straight Python port of the blog's randomized pipage rounding loop."""
    x = np.array(x, dtype=np.float64)
    i, j = 0, 1
    for _ in range(len(x) - 1):
        if x[i] == 0 and x[j] == 0:
            i = max(i, j) + 1
        elif x[i] + x[j] < 1:
            if rng.random() < x[i] / (x[i] + x[j]):
                x[i] = x[i] + x[j]
                x[j] = 0
                j = max(i, j) + 1
            else:
                x[j] = x[i] + x[j]
                x[i] = 0
                i = max(i, j) + 1
        elif rng.random() < (1 - x[j]) / (2 - x[i] - x[j]):
            x[j] = x[i] + x[j] - 1
            x[i] = 1
            i = max(i, j) + 1
        else:
            x[i] = x[i] + x[j] - 1
            x[j] = 1
            j = max(i, j) + 1
    return np.round(x)


def project_capped_simplex_exact(y: ArrayLike, k: float) -> list[Fraction]:
    """The exact projection of the float64 input, in rational arithmetic.

    Every float is an exact rational, so this is the true projection of what the
    caller passed (no rounding anywhere): the threshold is found on the sorted
    breakpoints ``y_i - 1`` and ``y_i`` of ``f(lam) = sum clip(y_i - lam, 0, 1)``, which is
    linear between them. Slow (O(n log n) evaluations of O(n)); for tests.
    """
    ys = [Fraction(float(v)) for v in np.asarray(y, dtype=np.float64).ravel()]
    kk = Fraction(float(k))
    n = len(ys)
    if kk <= 0:
        return [Fraction(0)] * n
    if kk >= n:
        return [Fraction(1)] * n

    def f(lam: Fraction) -> Fraction:
        return sum((min(max(v - lam, Fraction(0)), Fraction(1)) for v in ys), Fraction(0))

    b = sorted(set(ys) | {v - 1 for v in ys})
    # f(b[0]) = n >= k > 0 = f(b[-1]): find the last breakpoint with f >= k
    lo, hi = 0, len(b) - 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if f(b[mid]) >= kk:
            lo = mid
        else:
            hi = mid
    f_lo, f_hi = f(b[lo]), f(b[hi])
    lam = b[lo] + (f_lo - kk) / (f_lo - f_hi) * (b[hi] - b[lo])
    return [min(max(v - lam, Fraction(0)), Fraction(1)) for v in ys]
