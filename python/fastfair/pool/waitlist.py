"""Waitlists and declines: ordered alternates drawn by the pool's own fairness rule.

A lottery drawn with ``waitlist=m`` also draws ``m`` ordered alternates among the
entrants who entered and did not win. Alternate ``j`` (0-based) is one seat drawn fairly
among the entrants still waiting: the fair probabilities of a one-seat lottery (the
exact projection of ``cumulative deserved - wins`` after this lottery onto
``{0 <= p <= 1, sum(p) = 1}``), rounded by pipage with the seed
:func:`alternate_seed` ``(seed, j)``. The most-owed entrants are first in line, exactly
as they are for seats; everything is re-derived by :meth:`LotteryPool.verify`.

A decline (:meth:`LotteryPool.decline`) gives the seat to the first alternate who has
not been promoted yet (with none left the decline is refused: a lottery always records
exactly ``k`` winners): the replacement is counted as a winner of that lottery (the win
enters its wins and deficits) and the decliner is counted as not having won it (its
deficit stays as if it had lost). Declines are taken for the last lottery only, until
the next lottery is drawn, because the next lottery's odds are computed from the wins.

A divided lottery (docs/divisions.md) draws each division's alternates among its own
entrants, divisions in code order, alternate ``j`` of the whole list (numbered across
divisions) with the seed ``alternate_seed(seed, j)``; a decline promotes the first
waiting alternate of the decliner's division.

See docs/waitlists.md.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence, Union

import numpy as np
from numpy.typing import NDArray

from .. import _core
from .._seed import sha256_seed

__all__ = [
    "WAITLIST_SEED_TAG",
    "alternate_seed",
    "draw_alternates",
    "draw_division_alternates",
    "original_winners",
    "check_records",
]

#: Domain-separation prefix of the alternates' seeds (documented in docs/waitlists.md).
WAITLIST_SEED_TAG = b"fastfair-waitlist-v1\x00"


def alternate_seed(seed: int, j: int) -> int:
    """The 64-bit seed of alternate ``j`` of a lottery drawn with ``seed``.

    The first 8 bytes, read little-endian, of
    ``SHA-256(WAITLIST_SEED_TAG || seed as 8 bytes LE || j as 8 bytes LE)``.
    """
    return sha256_seed(
        WAITLIST_SEED_TAG + int(seed).to_bytes(8, "little") + int(j).to_bytes(8, "little"))


def draw_alternates(
    cum_deserved: NDArray[np.float64],
    wins: NDArray[np.float64],
    waiting: NDArray[np.bool_],
    m: int,
    seed: int,
    first: int = 0,
) -> list[int]:
    """The ordered alternates (pool positions) of one lottery.

    ``cum_deserved`` and ``wins`` are the pool's running totals right after the
    lottery (its draw included, no decline applied); ``waiting`` marks who entered and
    did not win. Draws ``min(m, waiting.sum())`` alternates, numbered from ``first``
    (their seeds are ``alternate_seed(seed, first + i)``).
    """
    waiting = waiting.copy()
    out: list[int] = []
    for j in range(first, first + m):
        rows = np.flatnonzero(waiting)
        if rows.size == 0:
            break
        pi = _core.fair_probabilities(
            np.ascontiguousarray(cum_deserved[rows]), np.ascontiguousarray(wins[rows]),
            1.0, None, "exact", None, 1.0, 1e-10, 10_000,
        )[0]
        drawn = _core.pipage_round(pi, alternate_seed(seed, j), -1)
        pick = int(rows[int(np.flatnonzero(drawn)[0])])
        out.append(pick)
        waiting[pick] = False
    return out


def draw_division_alternates(core: Any, t: int,
                             counts: Union[Sequence[int], NDArray[np.int64]]) -> list[int]:
    """The ordered alternates of divided lottery ``t`` of ``core`` (its last one, no
    decline applied): ``counts[d]`` among the entrants of division ``d`` who did not
    win, divisions in code order, numbered across divisions."""
    _size, pos, scores, _pi, won = core.column(t)
    codes, _seats = core.column_divisions(t)
    cum, wins, seed = core.cumulative_deserved, core.wins, int(core.seeds[t])
    out: list[int] = []
    first = 0
    for d, m in enumerate(counts):
        if not m:
            continue
        waiting = np.zeros(int(core.n_entrants), dtype=bool)
        waiting[pos[(codes == d) & (scores > 0) & (won == 0)]] = True
        out.extend(draw_alternates(cum, wins, waiting, int(m), seed, first))
        first += int(m)
    return out


def original_winners(
    positions: NDArray[Any], won: NDArray[np.int8], declines: Sequence[tuple[int, Optional[int]]]
) -> NDArray[np.int8]:
    """The winners column as drawn, before ``declines`` (pool positions) were applied."""
    col = won.copy()
    where = {int(p): j for j, p in enumerate(positions.tolist())}
    for decliner, replacement in reversed(list(declines)):
        if replacement is not None:
            col[where[replacement]] = 0
        col[where[decliner]] = 1
    return col


def check_records(
    waitlists: Any, declines: Any, n_lotteries: int, n_entrants: int
) -> tuple[list[list[int]], list[list[tuple[int, Optional[int]]]]]:
    """Validate the saved waitlists and declines (None: a pool without any) and return
    them as lists; every failure is a ValueError naming what is wrong."""

    def positions(x: Any, what: str) -> int:
        if isinstance(x, bool) or not isinstance(x, (int, np.integer)):
            msg = f"invalid LotteryPool state: {what} must hold ints, got {type(x).__name__}"
            raise ValueError(msg)
        if not 0 <= int(x) < n_entrants:
            msg = f"invalid LotteryPool state: {what} holds position {x} outside the pool"
            raise ValueError(msg)
        return int(x)

    def per_lottery(raw: Any, what: str) -> list[Any]:
        if raw is None:
            return [[] for _ in range(n_lotteries)]
        if not isinstance(raw, (list, tuple)) or len(raw) != n_lotteries:
            msg = f"invalid LotteryPool state: {what} must be a list, one per lottery"
            raise ValueError(msg)
        if not all(isinstance(r, (list, tuple)) for r in raw):
            msg = f"invalid LotteryPool state: {what} must hold one list per lottery"
            raise ValueError(msg)
        return list(raw)

    wl = [[positions(x, "waitlists") for x in r] for r in per_lottery(waitlists, "waitlists")]
    dl: list[list[tuple[int, Optional[int]]]] = []
    for r in per_lottery(declines, "declines"):
        row = []
        for d in r:
            if not isinstance(d, (list, tuple)) or len(d) != 2:
                msg = "invalid LotteryPool state: a decline must be [decliner, replacement]"
                raise ValueError(msg)
            rep = None if d[1] is None else positions(d[1], "declines")
            row.append((positions(d[0], "declines"), rep))
        dl.append(row)
    return wl, dl


#: Audit messages of the waitlist checks.
WAITLIST_TEXT = "waitlist differs from the alternates re-derived from the history and seed"
DECLINE_TEXT = "declines are inconsistent with the winners and the waitlist"


def audit_records(core: Any, waitlists: Sequence[Sequence[int]],
                  declines: Sequence[Sequence[tuple[int, Optional[int]]]],
                  report: Any) -> Any:
    """``report`` (the core's audit) with every waitlist and decline checked.

    A lottery with declines records its winners after the declines, so the core's
    re-draw check cannot match: here the re-draw is compared with the recorded winners
    with the declines undone, and the declines are replayed against the waitlist.
    Every waitlist is re-derived from the history up to its lottery (the draw as
    drawn) and the lottery's seed.
    """
    from .audit import REDRAW_TEXT, AuditReport

    todo = [t for t in range(len(waitlists)) if waitlists[t] or declines[t]]
    if not todo:
        return report
    from .divisions import division_state_prefix

    sizes, lengths, ks, seeds, positions, scores, pi, winners = core.state()
    div_state = core.division_state()
    ends = np.cumsum(lengths)
    extra: list[tuple[int, str]] = []
    settled: set[int] = set()
    for t in todo:
        a, b = int(ends[t] - lengths[t]), int(ends[t])
        pos_t, won_t = positions[a:b], winners[a:b]
        try:
            drawn = original_winners(pos_t, won_t, declines[t])
        except KeyError:  # a decline names someone who did not enter
            extra.append((t, DECLINE_TEXT))
            continue
        codes_t, seats_t = core.column_divisions(t)
        divided = seats_t.size > 0
        if declines[t]:
            settled.add(t)
            if divided:  # re-drawn by the core's own per-division rounding
                redraw = _redraw_divided(pi[a:b], codes_t, seats_t, int(seeds[t]))
            else:
                redraw = _core.pipage_round(np.ascontiguousarray(pi[a:b]), int(seeds[t]), -1)
            if not np.array_equal(redraw, drawn):
                extra.append((t, REDRAW_TEXT))
            if not _declines_replay(pos_t, drawn, won_t, waitlists[t], declines[t],
                                    codes_t if divided else None):
                extra.append((t, DECLINE_TEXT))
        if waitlists[t]:
            w_all = winners[:b].copy()
            w_all[a:b] = drawn
            replay = _core.LotteryPoolCore()
            try:
                replay.restore(sizes[: t + 1], lengths[: t + 1], ks[: t + 1],
                               seeds[: t + 1], positions[:b], scores[:b], pi[:b], w_all,
                               *division_state_prefix(div_state, lengths, t))
            except ValueError:  # the undone declines do not give k winners
                extra.append((t, DECLINE_TEXT))
                continue
            if divided:
                code_of = {int(p): int(c) for p, c in zip(pos_t.tolist(), codes_t.tolist())}
                listed = [code_of.get(int(x), -1) for x in waitlists[t]]
                counts = np.bincount([c for c in listed if c >= 0],
                                     minlength=seats_t.size).tolist()
                again = (draw_division_alternates(replay, t, counts)
                         if min(listed) >= 0 else [])
            else:
                waiting = np.zeros(int(replay.n_entrants), dtype=bool)
                waiting[pos_t[(scores[a:b] > 0) & (drawn == 0)]] = True
                again = draw_alternates(replay.cumulative_deserved, replay.wins, waiting,
                                        len(waitlists[t]), int(seeds[t]))
            if again != list(waitlists[t]):
                extra.append((t, WAITLIST_TEXT))
    kept = [(t, msg) for t, msg in report.mismatches
            if not (t in settled and msg == REDRAW_TEXT)]
    return AuditReport(report.n_lotteries, sorted(kept + extra, key=lambda x: x[0]))


def _redraw_divided(pi: NDArray[np.float64], codes: NDArray[Any], seats: NDArray[Any],
                    seed: int) -> NDArray[np.int8]:
    """The winners of a divided column re-drawn from its probabilities and seed by the
    core's per-division rounding (the kernel of the live draw)."""
    return _core.pipage_round_divided(
        np.ascontiguousarray(pi, dtype=np.float64), np.ascontiguousarray(codes, dtype=np.uint16),
        np.ascontiguousarray(seats, dtype=np.int64), int(seed))


def _declines_replay(pos_t: NDArray[Any], drawn: NDArray[np.int8], won: NDArray[np.int8],
                     alternates: Sequence[int],
                     declines: Sequence[tuple[int, Optional[int]]],
                     codes: Optional[NDArray[Any]] = None) -> bool:
    """Whether the declines, applied in order to the draw, each remove a current winner
    and promote the first alternate still waiting (of the decliner's division, when
    ``codes`` is given), and end at the recorded winners."""
    where = {int(p): j for j, p in enumerate(pos_t.tolist())}
    col = drawn.copy()
    promoted: set[int] = set()
    for decliner, replacement in declines:
        if decliner not in where or col[where[decliner]] != 1:
            return False
        col[where[decliner]] = 0
        same = (lambda x: True) if codes is None else (
            lambda x, c=codes[where[decliner]]: codes[where[x]] == c)
        nxt = next((x for x in alternates
                    if x not in promoted and x in where and col[where[x]] == 0
                    and same(x)), None)
        if nxt != replacement:
            return False
        if nxt is not None:
            col[where[nxt]] = 1
            promoted.add(nxt)
    return bool(np.array_equal(col, won))
