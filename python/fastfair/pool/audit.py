"""The audit of a pool: re-derive every recorded lottery, report mismatches."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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


def audit(core: Any) -> AuditReport:
    """Re-derive every lottery recorded in ``core`` (a ``LotteryPoolCore``)."""
    flags = core.verify()
    mismatches = [
        (t, text) for t, f in enumerate(flags) for bit, text in FLAG_TEXT if f & bit
    ]
    return AuditReport(len(flags), mismatches)
