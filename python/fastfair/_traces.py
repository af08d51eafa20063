"""Streams and per-round deficit traces, shared by ``fastfair bench`` and the plots.

A trace is the largest normalised deficit (PROP_c or EF_c) after every round, for
fastfair's p-potential rule and for each baseline fed the same stream, plus the
guarantee ``tau_p(t)`` of fastfair's rule at every round.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

STREAMS = ("random", "heavy", "table1", "round-robin")


def stream(name: str, n_agents: int, rounds: int, seed: int = 0) -> NDArray[np.float64]:
    """Item values, shape (rounds, n_agents).

    ``random``: uniform [0, 1); ``heavy``: Pareto(1.5) values scaled into [0, 1] (a
    few items dwarf the rest; normalised deficits do not depend on the scale, and the
    Benade et al. baseline needs values in [0, 1]); ``table1``: the paper's Table 1 stream that defeats the max-deficit greedy
    rule (2 agents); ``round-robin``: items worth 1 in the rounds round-robin gives to
    agent 0 and 0 otherwise (2 agents), which defeats round-robin.
    """
    from ._reference.online import round_robin_instance, table1_instance

    rng = np.random.default_rng(seed)
    if name == "random":
        return np.asarray(rng.random((rounds, n_agents)), dtype=np.float64)
    if name == "heavy":
        v = rng.pareto(1.5, (rounds, n_agents))
        return np.asarray(v / v.max(), dtype=np.float64)
    if name == "table1":
        return table1_instance(rounds)
    if name == "round-robin":
        return round_robin_instance(rounds, n_agents)
    msg = f"stream must be one of {STREAMS}, got {name!r}"
    raise ValueError(msg)


def deficit_traces(
    notion: str, n_agents: int, rounds: int, name: str, seed: int = 0
) -> tuple[dict[str, NDArray[np.float64]], NDArray[np.float64]]:
    """Per-round largest deficit of fastfair and the baselines, and fastfair's bound.

    Returns ``(traces, bound)``: ``traces`` maps a method name to an array of shape
    (rounds,), ``bound`` is ``tau_p(t)`` after each round for fastfair's rule.
    """
    from . import OnlineAllocator
    from .baselines import Benade2018, GreedyMaxDeficit, RoundRobin

    if notion not in ("prop", "ef"):
        msg = f"notion must be 'prop' or 'ef', got {notion!r}"
        raise ValueError(msg)
    values = stream(name, n_agents, rounds, seed)
    ours = OnlineAllocator(n_agents, notion=notion)  # type: ignore[arg-type]  # checked above
    methods: dict[str, Any] = {
        "fastfair": ours,
        "round-robin": RoundRobin(n_agents),
        "greedy-max-deficit": GreedyMaxDeficit(n_agents),
        "benade2018": Benade2018(n_agents, horizon=rounds),
    }
    traces = {m: np.empty(rounds) for m in methods}
    bound = np.empty(rounds)
    for t in range(rounds):
        v = values[t]
        for m, obj in methods.items():
            obj.step(v)
            if m == "fastfair":
                traces[m][t] = obj.max_deficit
            else:
                traces[m][t] = obj.max_deficit if notion == "prop" else obj.max_ef_deficit
        bound[t] = ours.bound()
    return traces, bound
