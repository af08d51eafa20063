"""A typed user script: must pass ``mypy --strict`` (checked by tests/test_typing.py).

Every ``assert_type`` pins the static type of a public result, so a return type that
degrades to ``Any`` (or changes) fails the check. Never executed.
"""

from __future__ import annotations

from typing import Any, assert_type

import numpy as np
from numpy.typing import NDArray

import fastfair as ff
from fastfair.lottery import SolverInfo

pi = ff.fair_probabilities([0.3, 0.5, 0.9, 0.1], [0, 0, 0, 0], 2)
assert_type(pi, NDArray[np.float64])
pi2, info = ff.fair_probabilities([0.3, 0.5], [0, 0], 1, solver="pgd", return_info=True)
assert_type(pi2, NDArray[np.float64])
assert_type(info, SolverInfo)
iterations: int = info.iterations
converged: bool = info.converged
flag = False
either = ff.fair_probabilities([0.3, 0.5], [0, 0], 1, return_info=flag)
assert_type(either, NDArray[np.float64] | tuple[NDArray[np.float64], SolverInfo])

alloc = ff.OnlineAllocator(4, notion="ef", p=2.0)
assert_type(alloc.step([1.0, 2.0, 3.0, 4.0]), int)
assert_type(alloc.run(np.ones((3, 4))), NDArray[np.int64])
assert_type(alloc.bound(), float)
assert_type(alloc.max_deficit, float)
again = ff.OnlineAllocator.from_state(alloc.state)
assert_type(again, ff.OnlineAllocator)
pdm = ff.PublicDecisionMaker.from_state(ff.PublicDecisionMaker(2).state)
assert_type(pdm, ff.PublicDecisionMaker)

pool = ff.LotteryPool("typed")
assert_type(pool.run_lottery([1.0, 2.0, 3.0], 1, seed=3), NDArray[np.int8])
assert_type(pool.preview([1.0, 2.0, 3.0], 1), NDArray[np.float64])
# divisions: k is a mapping label -> seats (issue 12)
seats = {"F": 1, "M": 1}
assert_type(pool.run_lottery([1.0, 2.0, 3.0], seats, seed=4, divisions=["F", "M", "M"]),
            NDArray[np.int8])
assert_type(pool.preview([1.0, 2.0, 3.0], seats, divisions=["F", "M", "M"]),
            NDArray[np.float64])
assert_type(pool.division_labels(), list[str | None])
# ticket hats
assert_type(ff.ticket_odds([1, 2, 4], 1), NDArray[np.float64])
assert_type(ff.ticket_odds([1, 2, 4], 1, waitlist=1), NDArray[np.float64])
odds, odds_info = ff.ticket_odds([1, 2, 4], 1, return_info=True)
assert_type(odds, NDArray[np.float64])
assert_type(odds_info["error_bound"], Any)
assert_type(ff.draw_tickets([1, 2, 4], 2, seed=7, waitlist=1), NDArray[np.int64])
assert_type(ff.LotteryPool.load("pool.fflottery"), ff.LotteryPool)
assert_type(ff.pipage_round([0.5, 0.5], seed=1), NDArray[np.int8])
assert_type(ff.project_capped_simplex([0.2, 2.0], 1.0), NDArray[np.float64])
