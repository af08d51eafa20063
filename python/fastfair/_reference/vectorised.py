"""The best honest vectorised NumPy versions of fastfair's kernels: the yardsticks.

``fastfair bench`` times fastfair against these in the same run. Unlike the
from-scratch references of the tests (``online.py``, ``lottery.py``), these are written
to be fast: one Python iteration per round (or per lottery), vector operations inside,
preallocated buffers (``out=``), incremental state, the single-term swap for PROP and
PDM, the O(n^2) pair deltas with a cached potential matrix for EF. They take the same
decisions as fastfair's rule (checked by ``tests/test_vectorised.py`` against the
from-scratch references, and by the bench against fastfair before timing).

Numerical shortcuts, none of which changes a decision on the bench's streams:

* scales start at the smallest normal float64 instead of 0, so no division needs a mask
  (a deficit is positive only once its scale is, so the result is the same unless item
  values are subnormal);
* ``phi_p(x) = (1 + x^2)^(p/2)`` is evaluated directly (no log-space shift): fine while
  normalised deficits stay far below ``1e300^(1/p)``, as they do on fair streams;
  an even integer p uses multiplications only.

Lotteries: :class:`ExactPool` runs the same three steps as ``LotteryPool`` (water-filled
deserved seats, the exact projection of cumulative deserved minus wins over the
entrants, exactly k winners with those marginals) with running sums, an
O(n log n) exact projection (sort, prefix sums, binary search over the breakpoints,
then an exact solve on the linear piece) and pipage rounding vectorised over pairs
(log2 n vector rounds instead of n sequential steps: a different pairing order than
fastfair's, the same marginals and exactly k winners).
"""

from __future__ import annotations

from typing import Callable, Optional

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .online import default_p
from .sampling import pipage_round_loop

__all__ = [
    "ExactPool",
    "deserved_seats",
    "ef_loop",
    "pdm_loop",
    "pipage_pairs",
    "project_exact",
    "prop_loop",
]

_TINY = float(np.finfo(np.float64).tiny)


class _Phi:
    """``phi_p`` in place on a float64 buffer of normalised deficits (>= 0)."""

    def __init__(self, p: float) -> None:
        self.half = 0.5 * float(p)
        h = self.half
        self.int_power = int(h) if h == int(h) and 1 <= h <= 16 else 0

    def __call__(self, x: NDArray[np.float64], tmp: NDArray[np.float64]) -> None:
        np.multiply(x, x, out=x)
        x += 1.0
        e = self.int_power
        if e == 1:
            return
        if e:  # square-and-multiply: (1 + x^2)^e with multiplications only
            np.copyto(tmp, x)
            e -= 1
            while e:
                if e & 1:
                    np.multiply(x, tmp, out=x)
                e >>= 1
                if e:
                    np.multiply(tmp, tmp, out=tmp)
            return
        np.power(x, self.half, out=x)


def _pick(
    cost: NDArray[np.float64],
    total: float,
    keys: tuple[Callable[[], NDArray[np.float64]], ...],
    by_value: bool,
) -> int:
    """The engines' tie rule, with ``S(a) = total + cost[a]``. With ``by_value``, every
    candidate within a relative 1e-12 of the minimum S counts as tied and ``keys()``
    break the tie (largest first, in order), then the lowest index; else the lowest
    index among exact minima."""
    a = int(cost.argmin())
    if not by_value:
        return a
    best = float(cost[a])
    tied = cost <= best + 1e-12 * (total + best)
    if np.count_nonzero(tied) == 1:
        return a
    for key in keys:
        kk = np.where(tied, key(), -np.inf)
        tied &= kk == kk.max()
    return int(tied.argmax())


def _by_value(tie_break: str, name: str) -> bool:
    if tie_break not in (name, "index"):
        msg = f"tie_break must be {name!r} or 'index', got {tie_break!r}"
        raise ValueError(msg)
    return tie_break == name


def _forced(forced: Optional[ArrayLike], T: int) -> Optional[NDArray[np.int64]]:
    if forced is None:
        return None
    f = np.asarray(forced, dtype=np.int64)
    if f.shape != (T,):
        msg = f"forced must have shape ({T},), got {f.shape}"
        raise ValueError(msg)
    return f


def prop_loop(
    V: ArrayLike,
    p: Optional[float] = None,
    forced: Optional[ArrayLike] = None,
    gaps: Optional[NDArray[np.float64]] = None,
    tie_break: str = "value",
) -> NDArray[np.int64]:
    """PROP_c, one vectorised round per item (the single-term swap).

    Candidate a changes only agent a's term of ``S``: the rule picks the a minimising
    ``phi(recv_a) - phi(miss_a)``. State is kept scaled by n (``n D`` and ``n M``) so
    one round is a dozen NumPy calls on length-n buffers. Returns the choices; with
    ``forced`` it applies those decisions instead (to stay in step with another
    implementation) and, with ``gaps`` (a (T,) buffer), records how much worse than its
    own choice the forced one is, relative to ``S``.
    """
    V = np.ascontiguousarray(V, dtype=np.float64)
    T, n = V.shape
    phi = _Phi(default_p(n) if p is None else p)
    fo = _forced(forced, T)
    by_value = _by_value(tie_break, "value")
    Dn = np.zeros(n)  # n * raw deficit
    Mn = np.full(n, _TINY)  # n * largest missed item
    miss = np.empty(n)
    nv = np.empty(n)
    den = np.empty(n)
    buf = np.empty((2, n))
    tmp = np.empty((2, n))
    gain = np.empty(n)
    out = np.empty(T, dtype=np.int64)
    for t in range(T):
        v = V[t]
        np.add(Dn, v, out=miss)
        np.multiply(v, n, out=nv)
        np.maximum(Mn, nv, out=den)
        np.maximum(miss, 0.0, out=buf[0])
        np.divide(buf[0], den, out=buf[0])  # a misses the item
        np.subtract(miss, nv, out=buf[1])
        np.maximum(buf[1], 0.0, out=buf[1])
        np.divide(buf[1], Mn, out=buf[1])  # a receives it
        phi(buf, tmp)
        np.subtract(buf[1], buf[0], out=gain)
        total = float(buf[0].sum())
        a = _pick(gain, total, (lambda: v, lambda: Dn), by_value)
        if fo is not None:
            if gaps is not None:
                gaps[t] = (gain[fo[t]] - gain[a]) / (total + gain[a])
            a = int(fo[t])
        out[t] = a
        Dn, miss = miss, Dn
        Dn[a] -= nv[a]
        keep = Mn[a]
        np.maximum(Mn, nv, out=Mn)
        Mn[a] = keep
    return out


def ef_loop(
    V: ArrayLike,
    p: Optional[float] = None,
    forced: Optional[ArrayLike] = None,
    gaps: Optional[NDArray[np.float64]] = None,
    state: Optional[dict[str, NDArray[np.float64]]] = None,
    tie_break: str = "value",
) -> NDArray[np.int64]:
    """EF_c, one vectorised O(n^2) round per item.

    ``E[i, j] = v_i(A_j) - v_i(A_i)``, ``S[i, j]`` its scale, ``cur = phi`` of every
    pair, cached. Giving the item to a moves row a (a's own bundle grows: ``E - v_a``)
    and column a (``E + v_i``, scale ``max(S, v_i)``): the candidates' changes of ``S``
    are the row sums of one n x n matrix plus the column sums of another; after the
    decision only row a and column a of ``cur`` are recomputed. ``forced`` and ``gaps``
    as in :func:`prop_loop`. ``state`` (from a previous call, or ``{}``) carries E, S
    and cur across calls so a stream can be continued; :func:`ef_apply` fast-forwards
    it along given decisions.
    """
    V = np.ascontiguousarray(V, dtype=np.float64)
    T, n = V.shape
    phi = _Phi(default_p(n * (n - 1)) if p is None else p)
    fo = _forced(forced, T)
    by_value = _by_value(tie_break, "value")
    st = _ef_state(n, phi, state)
    E, S, cur = st["E"], st["S"], st["cur"]
    R = np.empty((n, n))
    G = np.empty((n, n))
    tmp = np.empty((n, n))
    row = np.empty(n)
    rtmp = np.empty(n)
    delta = np.empty(n)
    diag = np.arange(n) * (n + 1)
    out = np.empty(T, dtype=np.int64)
    for t in range(T):
        v = V[t]
        vc = v[:, None]
        np.subtract(E, vc, out=R)  # row i receives: pairs (i, j) fall by v_i
        np.maximum(R, 0.0, out=R)
        np.divide(R, S, out=R)
        phi(R, tmp)
        np.subtract(R, cur, out=R)
        np.add(E, vc, out=G)  # column j receives: pairs (i, j) rise by v_i
        np.maximum(G, 0.0, out=G)
        np.maximum(S, vc, out=tmp)
        np.divide(G, tmp, out=G)
        phi(G, tmp)
        np.subtract(G, cur, out=G)
        G.ravel()[diag] = 0.0
        np.add(R.sum(axis=1), G.sum(axis=0), out=delta)
        total = float(cur.sum()) - n
        a = _pick(delta, total, (lambda: v, lambda: E.sum(axis=1)), by_value)
        if fo is not None:
            if gaps is not None:
                gaps[t] = (delta[fo[t]] - delta[a]) / (total + delta[a])
            a = int(fo[t])
        out[t] = a
        _ef_move(E, S, cur, v, a, phi, row, rtmp)
    if state is not None:
        state.update(st)
    return out


def _ef_state(
    n: int, phi: _Phi, state: Optional[dict[str, NDArray[np.float64]]]
) -> dict[str, NDArray[np.float64]]:
    if state:
        return state
    E = np.zeros((n, n))
    S = np.full((n, n), _TINY)
    cur = np.ones((n, n))
    return {"E": E, "S": S, "cur": cur}


def _ef_move(
    E: NDArray[np.float64],
    S: NDArray[np.float64],
    cur: NDArray[np.float64],
    v: NDArray[np.float64],
    a: int,
    phi: _Phi,
    row: NDArray[np.float64],
    rtmp: NDArray[np.float64],
) -> None:
    """Give the item to a: update row a and column a of E, S and cur."""
    E[a, :] -= v[a]
    E[:, a] += v
    E[a, a] = 0.0
    np.maximum(S[:, a], v, out=S[:, a])
    for line, scale, dst in ((E[a, :], S[a, :], cur[a, :]), (E[:, a], S[:, a], cur[:, a])):
        np.maximum(line, 0.0, out=row)
        np.divide(row, scale, out=row)
        phi(row, rtmp)
        dst[...] = row
    cur[a, a] = 1.0


def ef_apply(
    V: ArrayLike,
    decisions: ArrayLike,
    p: Optional[float] = None,
    state: Optional[dict[str, NDArray[np.float64]]] = None,
) -> dict[str, NDArray[np.float64]]:
    """Apply given decisions to an :func:`ef_loop` state (O(n) per round, no
    candidates evaluated): to start a timed stretch late in a stream."""
    V = np.ascontiguousarray(V, dtype=np.float64)
    T, n = V.shape
    phi = _Phi(default_p(n * (n - 1)) if p is None else p)
    st = _ef_state(n, phi, {} if state is None else state)
    d = np.asarray(decisions, dtype=np.int64)
    row, rtmp = np.empty(n), np.empty(n)
    for t in range(T):
        _ef_move(st["E"], st["S"], st["cur"], V[t], int(d[t]), phi, row, rtmp)
    return st


def pdm_loop(
    U: ArrayLike,
    p: Optional[float] = None,
    forced: Optional[ArrayLike] = None,
    gaps: Optional[NDArray[np.float64]] = None,
    tie_break: str = "welfare",
) -> NDArray[np.int64]:
    """Public decisions, one vectorised round: an (n, alternatives) matrix of post-round
    deficits, ``phi``, column sums, argmin. ``forced`` and ``gaps`` as in
    :func:`prop_loop`."""
    U = np.ascontiguousarray(U, dtype=np.float64)
    T, n, k = U.shape
    phi = _Phi(default_p(n) if p is None else p)
    fo = _forced(forced, T)
    by_value = _by_value(tie_break, "welfare")
    D = np.zeros(n)
    R = np.full(n, _TINY)
    ustar = np.empty(n)
    base = np.empty(n)
    X = np.empty((n, k))
    tmp = np.empty((n, k))
    s = np.empty(k)
    out = np.empty(T, dtype=np.int64)
    for t in range(T):
        u = U[t]
        u.max(axis=1, out=ustar)
        np.maximum(R, ustar, out=R)
        np.divide(ustar, n, out=base)
        base += D
        np.subtract(base[:, None], u, out=X)
        np.maximum(X, 0.0, out=X)
        np.divide(X, R[:, None], out=X)
        phi(X, tmp)
        X.sum(axis=0, out=s)
        x = _pick(s, 0.0, (lambda: u.sum(axis=0),), by_value)
        if fo is not None:
            if gaps is not None:
                gaps[t] = (s[fo[t]] - s[x]) / float(s[x])
            x = int(fo[t])
        out[t] = x
        np.subtract(base, u[:, x], out=D)
    return out


# ------------------------------------------------------------------------- lotteries


def deserved_seats(scores: ArrayLike, k: int) -> NDArray[np.float64]:
    """Water filling by repeated capping: ``c = (k - capped) / (uncapped score mass)``,
    cap every entrant with ``c s_i >= 1``, repeat until none is added (the factor only
    grows, so the capped set is the sorted reference's; usually one or two passes)."""
    s = np.asarray(scores, dtype=np.float64)
    d = np.zeros_like(s)
    if k <= 0:
        return d
    free = s > 0
    capped = np.zeros(s.shape, dtype=bool)
    n_capped = 0
    while True:
        c = (k - n_capped) / float(s[free].sum())
        new = free & (c * s >= 1.0)
        if not new.any():
            break
        capped |= new
        free &= ~new
        n_capped = int(capped.sum())
        if not free.any():
            break
    d[capped] = 1.0
    if free.any():
        np.multiply(s, c, out=d, where=free)
    return d


def project_exact(y: ArrayLike, k: float) -> NDArray[np.float64]:
    """The exact Euclidean projection onto ``{0 <= x <= 1, sum x = k}``.

    ``f(lam) = sum clip(y - lam, 0, 1)`` is piecewise linear and decreasing with
    breakpoints ``y_i - 1`` and ``y_i``. After one sort, prefix sums evaluate f at any
    point in O(log n); two binary searches find the breakpoints around ``f = k``; on
    that linear piece the threshold is solved exactly from the sets of ones and of
    fractional entries (contiguous in sorted order), summed pairwise by NumPy.
    """
    y = np.asarray(y, dtype=np.float64)
    m = y.size
    if k <= 0:
        return np.zeros(m)
    if k >= m:
        return np.ones(m)
    ys = np.sort(y)
    P = np.concatenate(([0.0], np.cumsum(ys)))

    def f(lam: float) -> float:
        lo = int(np.searchsorted(ys, lam, "right"))
        hi = int(np.searchsorted(ys, lam + 1.0, "left"))
        return float((m - hi) + (P[hi] - P[lo]) - (hi - lo) * lam)

    def last_at_least(b: NDArray[np.float64]) -> int:
        """Largest j with f(b[j]) >= k (b ascending, f decreasing); -1 if none."""
        lo, hi = -1, m  # f(b[lo]) >= k > f(b[hi]) with virtual ends
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if f(float(b[mid])) >= k:
                lo = mid
            else:
                hi = mid
        return lo

    cands = []
    for b in (ys - 1.0, ys):
        j = last_at_least(b)
        if j >= 0:
            cands.append(float(b[j]))
    lam0 = max(cands)  # the largest breakpoint with f >= k (f(min y - 1) = m >= k)
    nxt = [float(b[j]) for b in (ys - 1.0, ys) for j in [int(np.searchsorted(b, lam0, "right"))] if j < m]
    lam1 = min(nxt) if nxt else lam0 + 1.0
    f0 = f(lam0)
    f1 = f(lam1)
    lam = lam0 if f0 == f1 else lam0 + (f0 - k) / (f0 - f1) * (lam1 - lam0)
    # exact on the piece: ones y >= lam + 1, fractional lam < y < lam + 1
    lo = int(np.searchsorted(ys, lam, "right"))
    hi = int(np.searchsorted(ys, lam + 1.0, "left"))
    if hi > lo:
        lam = (float(ys[lo:hi].sum()) + (m - hi) - k) / (hi - lo)
    x = y - lam
    np.clip(x, 0.0, 1.0, out=x)
    return x


def pipage_pairs(pi: ArrayLike, rng: np.random.Generator) -> NDArray[np.int8]:
    """Randomized pipage rounding, vectorised over pairs: each vector round pairs up
    the fractional entries and resolves every pair (one of the two becomes 0 or 1,
    their sum and both marginals preserved), so ~log2(n) rounds of O(fractional) work.
    Exactly ``round(sum pi)`` ones (the sum must be whole within 1e-9)."""
    x = np.array(pi, dtype=np.float64)
    total = float(x.sum())
    if abs(total - round(total)) > 1e-9:
        msg = f"sum(pi) = {total!r} is not a whole number"
        raise ValueError(msg)
    frac = np.flatnonzero((x > 0.0) & (x < 1.0))
    while frac.size > 1:
        held = frac[-1:] if frac.size % 2 else frac[:0]
        a, b = frac[0:-1:2] if frac.size % 2 else frac[0::2], frac[1::2]
        xa, xb = x[a], x[b]
        s = xa + xb
        u = rng.random(a.size)
        low = s < 1.0
        with np.errstate(divide="ignore", invalid="ignore"):
            to_a = np.where(low, u * s < xa, u * (2.0 - s) < 1.0 - xb)
        sm1 = s - 1.0
        na = np.where(low, np.where(to_a, s, 0.0), np.where(to_a, 1.0, sm1))
        nb = np.where(low, np.where(to_a, 0.0, s), np.where(to_a, sm1, 1.0))
        x[a], x[b] = na, nb
        fa = (na > 0.0) & (na < 1.0)
        fb = (nb > 0.0) & (nb < 1.0)
        frac = np.concatenate((a[fa], b[fb], held))
    if frac.size:  # the last fraction is a rounding residue (the sum is whole)
        x[frac] = np.round(x[frac])
    return (x > 0.5).astype(np.int8)


class ExactPool:
    """A lottery pool in NumPy with the same rule as ``LotteryPool``: running sums of
    deserved seats and wins, the exact projection, exactly k winners with those
    marginals. Keeps the same audit trail (scores, probabilities and winners of every
    lottery).

    ``pipage="pairs"`` draws with :func:`pipage_pairs` (vectorised); ``"loop"`` with the
    blog's sequential Python loop (the same pairing order as a sequential carry chain,
    one Python iteration per entrant)."""

    def __init__(self, seed: int = 0, pipage: str = "pairs") -> None:
        if pipage not in ("pairs", "loop"):
            msg = f"pipage must be 'pairs' or 'loop', got {pipage!r}"
            raise ValueError(msg)
        self.pipage = pipage
        self.rng = np.random.default_rng(seed)
        self.cumulative_deserved = np.zeros(0)
        self.wins = np.zeros(0)
        self.history: list[tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int8]]] = []

    def _grow(self, n: int) -> None:
        if n > self.wins.size:
            extra = n - self.wins.size
            self.cumulative_deserved = np.concatenate((self.cumulative_deserved, np.zeros(extra)))
            self.wins = np.concatenate((self.wins, np.zeros(extra)))

    @staticmethod
    def _project(s: NDArray[np.float64], y: NDArray[np.float64], k: int) -> NDArray[np.float64]:
        el = s > 0
        pi = np.zeros(s.size)
        pi[el] = project_exact(y[el], k)
        return pi

    def probabilities(self, scores: ArrayLike, k: int) -> NDArray[np.float64]:
        """The fair probabilities of the next lottery (nothing recorded)."""
        s = np.asarray(scores, dtype=np.float64)
        self._grow(s.size)
        y = self.cumulative_deserved[: s.size] + deserved_seats(s, k) - self.wins[: s.size]
        return self._project(s, y, k)

    def run_lottery(self, scores: ArrayLike, k: int) -> NDArray[np.int8]:
        """One lottery: record deserved seats, probabilities and winners; return the
        int8 0/1 winners."""
        s = np.array(scores, dtype=np.float64)
        self._grow(s.size)
        self.cumulative_deserved[: s.size] += deserved_seats(s, k)
        pi = self._project(s, self.cumulative_deserved[: s.size] - self.wins[: s.size], k)
        if self.pipage == "pairs":
            w = pipage_pairs(pi, self.rng)
        else:
            w = pipage_round_loop(pi, self.rng).astype(np.int8)
        self.wins[: s.size] += w
        self.history.append((s, pi, w))
        return w
