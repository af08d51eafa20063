"""What ``fastfair bench`` and its sections share: result rows, progress, timing.

Kept apart from ``bench.py`` (which imports the sections) so that the sections never
import ``bench.py`` back: no import cycle.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

__all__ = ["FairnessRow", "Progress", "SpeedRow", "best_time"]


@dataclass
class SpeedRow:
    """One timed case: fastfair against one or more other implementations."""

    section: str
    case: str
    fastfair_s: float
    others_s: dict[str, float] = field(default_factory=dict)

    def speedups(self) -> dict[str, float]:
        return {k: v / self.fastfair_s for k, v in self.others_s.items()}


@dataclass
class FairnessRow:
    """One fairness measure on one instance: fastfair and the alternatives."""

    section: str
    case: str
    metric: str
    fastfair: float
    others: dict[str, float] = field(default_factory=dict)
    bound: Optional[float] = None


class Progress:
    """A one-line progress bar on stderr (no dependency)."""

    def __init__(self, total: int, enabled: bool = True) -> None:
        self.total, self.done, self.enabled = total, 0, enabled

    def step(self, label: str) -> None:
        self.done += 1
        if not self.enabled:
            return
        width = 30
        filled = int(width * self.done / max(self.total, 1))
        bar = "#" * filled + "." * (width - filled)
        sys.stderr.write(f"\r[{bar}] {self.done}/{self.total} {label[:60]:<60}")
        if self.done >= self.total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def best_time(fn: Callable[[], Any], repeat: int, budget_s: float = 2.0) -> float:
    """Minimum wall time of ``fn()`` over up to ``repeat`` runs (stops at the budget)."""
    best = float("inf")
    start = time.perf_counter()
    for _ in range(max(repeat, 1)):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
        if time.perf_counter() - start > budget_s:
            break
    return best
