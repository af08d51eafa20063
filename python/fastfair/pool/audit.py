"""The audit of a pool: re-derive every recorded lottery, report mismatches."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence

import numpy as np

from .._seed import seed_from_string

__all__ = ["AuditReport", "audit"]


@dataclass(frozen=True)
class AuditReport:
    """Result of :meth:`LotteryPool.verify`.

    Attributes
    ----------
    n_lotteries : int
        Number of lotteries checked.
    mismatches : list of (int, str)
        ``(lottery index, what differs)`` for every inconsistency found; empty when
        every recorded draw re-derives exactly. ``bool(report)`` is True when empty.
    """

    n_lotteries: int
    mismatches: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every recorded lottery re-derives exactly."""
        return not self.mismatches

    def __bool__(self) -> bool:
        return self.ok


#: The C++ verify flags, in the order they are reported.
FLAG_TEXT = (
    (8, "recorded scores or k are invalid"),
    (2, "probabilities differ from those re-derived from the history"),
    (4, "winners differ from a re-draw with the recorded probabilities and seed"),
)

#: The message of a failed re-draw (flag 4), also used by the waitlist audit.
REDRAW_TEXT = FLAG_TEXT[2][1]


SEED_STRING_TEXT = "seed differs from the SHA-256 rule applied to the recorded seed string"


RETIRED_TEXT = "a retired member entered after retiring"


def _entered_after_retiring(core: Any, retired_at: Mapping[int, int]) -> set[int]:
    """Lotteries in which a retired member has an entry with a score > 0."""
    if not retired_at:
        return set()
    _sizes, lengths, _k, _seeds, positions, scores, _pi, _w = core.state()
    n = int(core.n_entrants)
    since = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    for pos, t in retired_at.items():
        since[pos] = t
    lottery = np.repeat(np.arange(lengths.size, dtype=np.int64), lengths)
    bad = (lottery >= since[positions]) & (scores > 0)
    return set(np.unique(lottery[bad]).tolist())


def audit(core: Any, seed_strings: Sequence[Optional[str]] = (),
          retired_at: Mapping[int, int] = {}) -> AuditReport:  # noqa: B006 (read only)
    """Re-derive every lottery recorded in ``core`` (a ``LotteryPoolCore``), check that
    every recorded seed string hashes to its lottery's seed and that no retired member
    (``{position: lotteries before retiring}``) entered after retiring."""
    flags = core.verify()
    seeds = core.seeds
    late = _entered_after_retiring(core, retired_at)
    mismatches = []
    for t, f in enumerate(flags):
        text = seed_strings[t] if t < len(seed_strings) else None
        if text is not None and seed_from_string(text) != int(seeds[t]):
            mismatches.append((t, SEED_STRING_TEXT))
        if t in late:
            mismatches.append((t, RETIRED_TEXT))
        mismatches.extend((t, msg) for bit, msg in FLAG_TEXT if f & bit)
    return AuditReport(len(flags), mismatches)
