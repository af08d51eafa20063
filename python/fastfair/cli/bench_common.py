"""What ``fastfair bench`` and its sections share: result rows, progress, timing.

Kept apart from ``bench.py`` (which imports the sections) so that the sections never
import ``bench.py`` back: no import cycle.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

__all__ = [
    "FairnessRow", "MemoryRow", "Progress", "SpeedRow", "best_time", "race",
]


@dataclass
class SpeedRow:
    """One timed case: fastfair against one or more other implementations.

    ``others_s``: other implementations of the same job (ratio = other / fastfair, a
    speed-up). ``floors_s``: yardsticks that only move the same memory (ratio =
    fastfair / floor: how far above the floor fastfair is). ``goal``: the target of
    issue 14 for this row, with ``goal_met`` evaluated on this run.
    """

    section: str
    case: str
    fastfair_s: float
    others_s: dict[str, float] = field(default_factory=dict)
    floors_s: dict[str, float] = field(default_factory=dict)
    goal: Optional[str] = None
    goal_met: Optional[bool] = None

    def speedups(self) -> dict[str, float]:
        return {k: v / self.fastfair_s for k, v in self.others_s.items()}

    def floor_ratios(self) -> dict[str, float]:
        return {k: self.fastfair_s / v for k, v in self.floors_s.items()}

    def speedup_goal(self, other: str, at_least: float) -> SpeedRow:
        """Goal: at least ``at_least`` times faster than ``other`` (same run)."""
        self.goal = f">= {at_least:,.0f}x {other}"
        self.goal_met = self.speedups()[other] >= at_least
        return self

    def floor_goal(self, floor: str, within: float) -> SpeedRow:
        """Goal: within ``within`` times the ``floor`` measured in the same run."""
        self.goal = f"<= {within:g}x {floor}"
        self.goal_met = self.floor_ratios()[floor] <= within
        return self

    def time_goal(self, under_s: float) -> SpeedRow:
        """Goal: an absolute time (the one goal of issue 14 that is not a ratio)."""
        self.goal = f"< {under_s * 1e6:g} us"
        self.goal_met = self.fastfair_s < under_s
        return self


@dataclass
class MemoryRow:
    """Memory a workload retains, measured in a fresh subprocess (RSS growth)."""

    section: str
    case: str
    bytes_per_unit: Optional[float]
    unit: str
    detail: dict[str, Any] = field(default_factory=dict)


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


def race(
    contenders: dict[str, Callable[..., Any]],
    repeat: int,
    budget_s: float = 4.0,
    setups: Optional[dict[str, Callable[[], Any]]] = None,
) -> dict[str, float]:
    """Minimum wall time of each contender, timed in turn (A, B, C, A, B, C, ...) so
    that all of them see the same load of a shared machine; stops after ``repeat``
    turns or once the budget is spent (at least one turn). A contender with a setup
    in ``setups`` is called as ``fn(setup())``, the setup untimed."""
    setups = setups or {}
    best = dict.fromkeys(contenders, float("inf"))
    start = time.perf_counter()
    for _ in range(max(repeat, 1)):
        for name, fn in contenders.items():
            setup = setups.get(name)
            arg = setup() if setup is not None else None
            t0 = time.perf_counter()
            if setup is not None:
                fn(arg)
            else:
                fn()
            best[name] = min(best[name], time.perf_counter() - t0)
        if time.perf_counter() - start > budget_s:
            break
    return best
