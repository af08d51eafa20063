"""The sections of ``fastfair bench``; each returns SpeedRow and FairnessRow lists.

Every section checks that fastfair and the reference agree before timing them, so a
fast wrong answer can never show up as a win.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
from numpy.typing import NDArray

from .bench_common import FairnessRow, Progress, SpeedRow, best_time

# ---------------------------------------------------------------- sampling kernels


def _sampling_sizes(quick: bool) -> list[int]:
    return [1_000, 100_000] if quick else [1_000, 10_000, 100_000, 1_000_000]


def sampling_steps(quick: bool) -> int:
    return 2 * len(_sampling_sizes(quick))


def sampling(quick: bool, progress: Progress) -> list[Any]:
    import fastfair as ff
    from fastfair._reference import sampling as ref

    rows: list[Any] = []
    repeat = 3 if quick else 7
    for n in _sampling_sizes(quick):
        rng = np.random.default_rng(n)
        k = n // 10
        y = k / n + rng.normal(scale=0.5, size=n)
        x = ff.project_capped_simplex(y, k)
        np.testing.assert_allclose(x, ref.project_capped_simplex(y, k), atol=1e-9)
        rows.append(
            SpeedRow(
                "sampling",
                f"projection n={n:.0e}",
                best_time(lambda: ff.project_capped_simplex(y, k), 10 * repeat),
                {
                    "numpy-bisection": best_time(
                        lambda: ref.project_capped_simplex(y, k), repeat
                    ),
                    "blog-sort": best_time(
                        lambda: ref.project_capped_simplex_sort(y, k), repeat
                    ),
                },
            )
        )
        progress.step(f"sampling: projection n={n}")
        others = {}
        if n <= (10_000 if quick else 1_000_000):
            loop_rng = np.random.default_rng(0)
            others["blog-python-loop"] = best_time(
                lambda: ref.pipage_round_loop(x, loop_rng), 1
            )
        rows.append(
            SpeedRow(
                "sampling",
                f"pipage n={n:.0e}",
                best_time(lambda: ff.pipage_round(x, seed=1), 10 * repeat),
                others,
            )
        )
        progress.step(f"sampling: pipage n={n}")
    return rows


# ----------------------------------------------------------------------- lotteries


def _lottery_sizes(quick: bool) -> list[int]:
    return [100, 10_000] if quick else [100, 1_000, 100_000, 1_000_000]


def lottery_steps(quick: bool) -> int:
    return len(_lottery_sizes(quick)) + 1


def _timed_lotteries(run_one: Callable[[int], Any], count: int) -> float:
    """Mean wall time of ``count`` successive lotteries of one pool."""
    import time

    t0 = time.perf_counter()
    for t in range(count):
        run_one(t)
    return (time.perf_counter() - t0) / count


def lottery(quick: bool, progress: Progress) -> list[Any]:
    import fastfair as ff
    from fastfair._reference import lottery as ref

    rows: list[Any] = []
    count = 5 if quick else 10
    for n in _lottery_sizes(quick):
        k = max(1, 7 * n // 100)
        s = np.ones(n)
        pool = ff.LotteryPool("bench")
        ours = _timed_lotteries(lambda t: pool.run_lottery(s, k, seed=t), count)
        others = {}
        if n <= 1_000:
            blog = ref.BlogPool(seed=0)
            others["blog-approach-numpy"] = _timed_lotteries(
                lambda t: blog.run_lottery(s, k), count
            )
            # on fastfair's history, the blog's PGD finds fastfair's next probabilities
            deserved = pool.cumulative_deserved + ref.deserved_seats(s, k)
            pgd_pi, _, converged = ref.pgd(deserved, pool.wins, k, s > 0, step=0.5)
            if converged:
                np.testing.assert_allclose(pool.preview(s, k), pgd_pi, atol=1e-6)
        rows.append(SpeedRow("lottery", f"one lottery, n={n:.0e}, k={k}", ours, others))
        progress.step(f"lottery: n={n}")

    # Fairness: 100 entrants, 7 winners, uniform and weighted scores; the fair pool
    # against independent draws with the same per-lottery deserved seats.
    n, k, lotteries = 100, 7, 100 if quick else 300
    for kind in ("uniform", "weighted"):
        rng = np.random.default_rng(5)
        s = np.ones(n) if kind == "uniform" else rng.lognormal(0.0, 1.0, n)
        pool = ff.LotteryPool("fair")
        wins_indep = np.zeros(n)
        cum = np.zeros(n)
        worst_fair = worst_indep = 0.0
        for t in range(lotteries):
            pool.run_lottery(s, k, seed=t)
            d = ref.deserved_seats(s, k)
            cum += d
            wins_indep += ff.pipage_round(d, seed=10_000 + t)
            worst_fair = max(worst_fair, float(np.max(np.abs(pool.unfairness))))
            worst_indep = max(worst_indep, float(np.max(np.abs(wins_indep - cum))))
        rows.append(
            FairnessRow(
                "lottery",
                f"{n} entrants, k={k}, {lotteries} lotteries, {kind}",
                "max |wins - deserved|",
                worst_fair,
                {"independent-draws": worst_indep},
            )
        )
    progress.step("lottery: long-run fairness")
    return rows


# -------------------------------------------------------------- online allocation


def _check_decisions(
    engine: Any, reference: Any, V: NDArray[np.float64], log_s: Callable[[Any, Any], Any]
) -> None:
    """Decision for decision: the engine's choice attains the reference minimum of
    log S (relative 1e-12, so last-ulp ties cannot flake); the reference then applies
    the engine's choice so both stay in step."""
    for v in V:
        ls = log_s(reference, v)
        a = engine.step(v)
        best = float(np.min(ls))
        if abs(float(ls[a]) - best) > 1e-12 * max(1.0, abs(best)):
            msg = f"engine chose {a} with log S {ls[a]!r}; the minimum is {best!r}"
            raise AssertionError(msg)
        reference.apply(v, a)


def online_steps(quick: bool) -> int:  # noqa: ARG001
    return 6


def _per_round(fn: Callable[[], Any], rounds: int, repeat: int) -> float:
    return best_time(fn, repeat) / rounds


def _reference_per_round(
    step: Callable[[Any], Any], V: Any, budget_s: float
) -> float:
    """Mean time of a slow reference's step over as many rounds as fit the budget
    (at least 3): the references take milliseconds to seconds per round."""
    import time

    t0 = time.perf_counter()
    done = 0
    for v in V:
        step(v)
        done += 1
        if done >= 3 and time.perf_counter() - t0 > budget_s:
            break
    return (time.perf_counter() - t0) / done


def online(quick: bool, progress: Progress) -> list[Any]:
    import fastfair as ff
    from fastfair._reference import online as ref
    from fastfair._traces import deficit_traces

    rows: list[Any] = []
    batch_t = 20_000 if quick else 1_000_000
    ref_t = 500 if quick else 2_000
    budget = 0.5 if quick else 3.0
    repeat = 3 if quick else 5
    cases: list[tuple[str, int, int]] = [
        ("prop", 8, 0), ("prop", 128, 0), ("ef", 8, 0), ("ef", 128, 0), ("pdm", 8, 4)
    ]
    for notion, n, alts in cases:
        rng = np.random.default_rng(n)
        make: Callable[[], Any]
        reference: Any
        if notion == "pdm":
            V = rng.random((batch_t, n, alts))
            make = lambda: ff.PublicDecisionMaker(n)  # noqa: E731
            reference = ref.PdmReference
        else:
            V = rng.random((batch_t // (16 if n > 64 and notion == "ef" else 1), n))
            make = lambda: ff.OnlineAllocator(n, notion=notion)  # noqa: E731
            reference = ref.PropReference if notion == "prop" else ref.EfReference
        T = V.shape[0]
        small = V[: min(ref_t, T)]
        # the engine and the from-scratch reference agree on the prefix
        checked = 100 if n <= 32 else 10
        _check_decisions(make(), reference(n), small[:checked], lambda r, v: r.log_S(v))
        ours = _per_round(lambda: make().run(V), T, repeat)
        theirs = _reference_per_round(reference(n).step, small, budget)
        label = f"{notion} n={n}" + (f" x{alts} alternatives" if alts else "")
        rows.append(
            SpeedRow("online", f"{label}, per round (run)", ours,
                     {"numpy-reference": theirs})
        )
        progress.step(f"online: {label}")

    # per-step latency from Python, n = 8
    alloc = ff.OnlineAllocator(8)
    v = np.random.default_rng(1).random(8)
    calls = 20_000
    step = alloc.step
    per_call = best_time(lambda: [step(v) for _ in range(calls)], repeat) / calls
    ref_call = _reference_per_round(ref.PropReference(8).step, [v] * 200, budget)
    rows.append(SpeedRow("online", "prop n=8, one step() call", per_call,
                         {"numpy-reference": ref_call}))

    # fairness on streams built against each baseline, and on a heavy-tailed stream
    rounds = 1_000 if quick else 5_000
    for notion, n, name in [("prop", 2, "table1"), ("prop", 2, "round-robin"),
                            ("prop", 6, "heavy"), ("ef", 4, "heavy")]:
        traces, bound = deficit_traces(notion, n, rounds, name)
        worst = {m: float(tr.max()) for m, tr in traces.items()}
        ours_worst = worst.pop("fastfair")
        # every round within its own bound, not just the last one
        if np.any(traces["fastfair"] > bound + 1e-9):
            msg = f"fastfair exceeded its bound on {notion}/{name}"
            raise AssertionError(msg)
        rows.append(
            FairnessRow("online", f"{notion} n={n}, {name} stream, {rounds} rounds",
                        "max normalised deficit", ours_worst, worst,
                        float(bound[-1]))
        )
    progress.step("online: fairness vs baselines")
    return rows


# -------------------------------------------------------------------------- EF_k


def efk_steps(quick: bool) -> int:
    return 4 if quick else 10


def efk(quick: bool, progress: Progress) -> list[Any]:
    import fastfair as ff
    from fastfair._reference import efk as ref
    from fastfair.baselines import GreedyMaxDeficit, RoundRobin

    rows: list[Any] = []
    cases = [(4, 4), (8, 16), (16, 64)] if quick else [
        (n, L) for n in (4, 8, 16) for L in (4, 16, 64)
    ]
    rounds = 5_000 if quick else 100_000
    ref_rounds = 100 if quick else 300
    for n, L in cases:
        rng = np.random.default_rng(n * 100 + L)
        levels = np.arange(1, L + 1, dtype=np.float64)
        V = np.where(rng.random((rounds, n)) < 0.8,
                     levels[rng.integers(0, L, (rounds, n))], 0.0)
        def make() -> Any:
            return ff.OnlineAllocator(n, notion="efk", levels=levels)  # noqa: B023

        ours = best_time(lambda: make().run(V), 3) / rounds
        small = V[:ref_rounds]
        _check_decisions(make(), ref.EFkReference(n, levels), small[:50],
                         lambda r, v: r.candidate_log_s(v))
        theirs = _reference_per_round(ref.EFkReference(n, levels).step, small,
                                      0.5 if quick else 3.0)
        rows.append(SpeedRow("efk", f"efk n={n} L={L}, per round (run)", ours,
                             {"numpy-reference": theirs}))
        progress.step(f"efk: n={n} L={L}")

    # fairness: the EF_k reached on a random stream, against the baselines
    n, L, T = 4, 8, 2_000 if quick else 10_000
    rng = np.random.default_rng(7)
    levels = np.arange(1, L + 1, dtype=np.float64)
    V = levels[rng.integers(0, L, (T, n))]
    alloc = ff.OnlineAllocator(n, notion="efk", levels=levels)
    ours_rec = alloc.run(V)
    others = {}
    for name, obj in [("round-robin", RoundRobin(n)), ("greedy-max-deficit",
                                                       GreedyMaxDeficit(n))]:
        others[name] = float(ref.efk_of_allocation(V, obj.run(V)))
    ours_k = float(ref.efk_of_allocation(V, ours_rec))
    if ours_k != alloc.efk():
        msg = "EF_k read-out disagrees with the reference"
        raise AssertionError(msg)
    rows.append(FairnessRow("efk", f"efk n={n} L={L}, random stream, {T} rounds",
                            "EF_k (smallest k)", ours_k, others,
                            float(np.floor(alloc.bound()))))
    progress.step("efk: fairness vs baselines")
    return rows
