"""A typed user script with mistakes ``mypy --strict`` must catch.

Each line ending in ``# expect: <code>`` must be reported with that error code, and no
other line may be (checked by tests/test_typing.py). Never executed.
"""

from __future__ import annotations

import fastfair as ff

pi = ff.fair_probabilities([0.3, 0.5], [0, 0], 1)
pi.iterations  # expect: attr-defined
pi2, info = ff.fair_probabilities([0.3, 0.5], [0, 0], 1, return_info=True)
info.iteration  # expect: attr-defined
pi2.converged  # expect: attr-defined
ff.fair_probabilities([0.3], [0], 1, solver="newton")  # expect: call-overload
ff.LotteryPool("x").run_lottery([1.0, 2.0], "1")  # expect: arg-type
