"""The sections of ``fastfair bench``; each returns SpeedRow and FairnessRow lists.

Every section checks that fastfair and the reference agree before timing them, so a
fast wrong answer can never show up as a win.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np
from numpy.typing import NDArray

from .bench_common import FairnessRow, MemoryRow, Progress, SpeedRow, best_time, race

# ---------------------------------------------------------------- sampling kernels


def _sampling_sizes(quick: bool) -> list[int]:
    return [1_000, 100_000] if quick else [1_000, 10_000, 100_000, 1_000_000, 10_000_000]


def sampling_steps(quick: bool) -> int:
    return 2 * len(_sampling_sizes(quick))


#: issue 14's goals, as multiples of the floor measured in the same run
PROJECTION_GOAL = {1_000_000: 4.0, 10_000_000: 4.0}
PIPAGE_GOAL = {1_000_000: 10.0, 10_000_000: 4.0}


def copy_floor(y: NDArray[np.float64]) -> Callable[[], Any]:
    """Memory-copy floor of a pass over y: ``np.copyto`` of n float64 (a memcpy)."""
    dst = np.empty_like(y)
    return lambda: np.copyto(dst, y)


def pipage_floor(pi: NDArray[np.float64]) -> Callable[[], Any]:
    """Pipage floor: read n float64, write n bytes (``np.less(pi, 0.5, out=bool)``)."""
    out = np.empty(pi.shape, dtype=np.bool_)
    return lambda: np.less(pi, 0.5, out=out)


def sampling(quick: bool, progress: Progress) -> list[Any]:
    import fastfair as ff
    from fastfair._reference import sampling as ref
    from fastfair._reference import vectorised as vec

    rows: list[Any] = []
    repeat = 3 if quick else 7
    for n in _sampling_sizes(quick):
        rng = np.random.default_rng(n)
        k = n // 10
        y = k / n + rng.normal(scale=0.5, size=n)
        x = ff.project_capped_simplex(y, k)
        exact = vec.project_exact(y, k)
        np.testing.assert_allclose(x, exact, rtol=0, atol=1e-9 + 4 * n * 2.3e-16 * np.abs(y).max())
        if n <= 1_000_000:
            np.testing.assert_allclose(x, ref.project_capped_simplex(y, k), atol=1e-9)
        few = max(1, repeat // 2) if n >= 1_000_000 else repeat
        turns = repeat if n >= 1_000_000 else 10 * repeat
        # fastfair, its floor and the fast NumPy version in turns (same load)
        t = race({"fastfair": lambda: ff.project_capped_simplex(y, k),
                  "copy-floor": copy_floor(y),
                  "numpy-exact": lambda: vec.project_exact(y, k)}, turns)
        others = {"numpy-exact": t["numpy-exact"]}
        if n <= 1_000_000:  # ~60 passes over y: seconds at 1e7
            others["numpy-bisection"] = best_time(lambda: ref.project_capped_simplex(y, k), few)
        others["blog-sort"] = best_time(lambda: ref.project_capped_simplex_sort(y, k), few)
        row = SpeedRow("sampling", f"projection n={n:.0e}", t["fastfair"], others,
                       {"copy-floor": t["copy-floor"]})
        if n in PROJECTION_GOAL:
            row.floor_goal("copy-floor", PROJECTION_GOAL[n])
        rows.append(row)
        progress.step(f"sampling: projection n={n}")
        loop_rng = np.random.default_rng(0)
        w = vec.pipage_pairs(x, loop_rng)
        if int(w.sum(dtype=np.int64)) != k:
            msg = "the NumPy pipage drew the wrong number of winners"
            raise AssertionError(msg)
        t = race({"fastfair": lambda: ff.pipage_round(x, seed=1),
                  "pipage-floor": pipage_floor(x),
                  "numpy-pairs": lambda: vec.pipage_pairs(x, loop_rng)}, turns)
        others = {"numpy-pairs": t["numpy-pairs"]}
        if n <= (10_000 if quick else 1_000_000):
            others["blog-python-loop"] = best_time(
                lambda: ref.pipage_round_loop(x, loop_rng), 1
            )
        row = SpeedRow("sampling", f"pipage n={n:.0e}", t["fastfair"], others,
                       {"pipage-floor": t["pipage-floor"]})
        if n in PIPAGE_GOAL:
            row.floor_goal("pipage-floor", PIPAGE_GOAL[n])
        rows.append(row)
        progress.step(f"sampling: pipage n={n}")
    return rows


# ----------------------------------------------------------------------- lotteries


def _lottery_sizes(quick: bool) -> list[int]:
    return [100, 10_000] if quick else [100, 1_000, 100_000, 1_000_000]


def lottery_steps(quick: bool) -> int:
    return len(_lottery_sizes(quick)) + 2


#: issue 14: one lottery of 1e6 entrants at least 200x the NumPy exact pool ("today
#: 55x": a pool whose draw is a Python pipage loop; the vectorised pool is far faster)
LOTTERY_GOAL = {1_000_000: 200.0}

_MEMORY_SCRIPT = r"""
import gc, json, os, sys
import numpy as np
import fastfair as ff

def rss():
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return None

n, lotteries, k = (int(a) for a in sys.argv[1:4])
s = np.ones(n)
warm = ff.LotteryPool("warm-up")  # first-touch of code and temporaries, then freed
warm.run_lottery(s, k, seed=0)
del warm
gc.collect()
pool = ff.LotteryPool("memory")
r0 = rss()
pool.run_lottery(s, k, seed=1)
gc.collect()
r1 = rss()
for t in range(1, lotteries):
    pool.run_lottery(s, k, seed=t + 1)
gc.collect()
r2 = rss()
print(json.dumps({"r0": r0, "r1": r1, "r2": r2}))
"""


def pool_memory(n: int, lotteries: int, k: int) -> MemoryRow:
    """RSS growth of one pool of n entrants over ``lotteries`` lotteries, in a fresh
    subprocess (Linux ``/proc/self/statm``; elsewhere not measured): bytes per entrant
    and lottery over the whole run, and over lotteries 2.. alone (the history; the
    first lottery also allocates the per-entrant running sums)."""
    import json
    import subprocess
    import sys

    case = f"pool of {n:.0e} entrants x {lotteries} lotteries, k={k}"
    proc = subprocess.run(
        [sys.executable, "-c", _MEMORY_SCRIPT, str(n), str(lotteries), str(k)],
        capture_output=True, text=True, timeout=600, check=False,
    )
    if proc.returncode != 0:
        msg = f"the memory subprocess failed: {proc.stderr.strip()[-300:]}"
        raise RuntimeError(msg)
    r = json.loads(proc.stdout)
    if r["r0"] is None:
        return MemoryRow("lottery", case, None, "B per entrant and lottery",
                         {"note": "RSS not available on this platform"})
    total = (r["r2"] - r["r0"]) / (n * lotteries)
    later = (r["r2"] - r["r1"]) / (n * (lotteries - 1)) if lotteries > 1 else None
    return MemoryRow("lottery", case, total, "B per entrant and lottery",
                     {"rss_growth_bytes": r["r2"] - r["r0"],
                      "first_lottery_bytes": r["r1"] - r["r0"],
                      "later_lotteries_b_per_entrant_and_lottery": later})


def _side_by_side_lotteries(pools: dict[str, Callable[[int], Any]], count: int) -> dict[str, float]:
    """Mean wall time per lottery of each pool over ``count`` successive lotteries,
    the pools taking turns lottery by lottery (same load), after one untimed lottery
    each."""
    import time

    for run_one in pools.values():
        run_one(count)
    total = dict.fromkeys(pools, 0.0)
    for t in range(count):
        for name, run_one in pools.items():
            t0 = time.perf_counter()
            run_one(t)
            total[name] += time.perf_counter() - t0
    return {name: v / count for name, v in total.items()}


def _timed_lotteries(run_one: Callable[[int], Any], count: int) -> float:
    """Mean wall time of ``count`` successive lotteries of one pool, after one untimed
    lottery (first-call costs: imports, first touch of memory)."""
    import time

    run_one(count)
    t0 = time.perf_counter()
    for t in range(count):
        run_one(t)
    return (time.perf_counter() - t0) / count


def lottery(quick: bool, progress: Progress) -> list[Any]:
    import fastfair as ff
    from fastfair._reference import lottery as ref
    from fastfair._reference import vectorised as vec

    rows: list[Any] = []
    count = 5 if quick else 10
    for n in _lottery_sizes(quick):
        k = max(1, 7 * n // 100)
        s = np.ones(n)
        pool = ff.LotteryPool("bench")
        npool = vec.ExactPool(seed=0)
        times = _side_by_side_lotteries(
            {"fastfair": lambda t: pool.run_lottery(s, k, seed=t),
             "numpy-exact-pool": lambda t: npool.run_lottery(s, k)}, count)
        ours = times["fastfair"]
        others = {"numpy-exact-pool": times["numpy-exact-pool"]}
        if n <= 1_000_000:  # one Python iteration per entrant: ~1 s a lottery at 1e6
            lpool = vec.ExactPool(seed=0, pipage="loop")
            others["numpy-exact-pool-loop"] = _timed_lotteries(
                lambda t: lpool.run_lottery(s, k), count if n < 1_000_000 else 1)
        # the same rule: on fastfair's history, the NumPy pool's next probabilities
        check = vec.ExactPool()
        check.cumulative_deserved = pool.cumulative_deserved.copy()
        check.wins = pool.wins.astype(np.float64)
        np.testing.assert_allclose(check.probabilities(s, k), pool.preview(s, k),
                                   rtol=0, atol=1e-9)
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
        row = SpeedRow("lottery", f"one lottery, n={n:.0e}, k={k}", ours, others)
        if n in LOTTERY_GOAL:
            row.speedup_goal("numpy-exact-pool-loop", LOTTERY_GOAL[n])
        rows.append(row)
        progress.step(f"lottery: n={n}")

    mem_n = 100_000 if quick else 1_000_000
    rows.append(pool_memory(mem_n, 20, 7 * mem_n // 100))
    progress.step("lottery: memory of a pool")

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
    return 9


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


def _check_loop(label: str, theirs: Any, ours: Any, forced_run: Callable[[Any, Any], Any]) -> None:
    """The vectorised loop takes fastfair's decisions: equal, or (after a near-tie
    broken the other way) fastfair's choice is within 1e-9 of the loop's own minimum
    of S at every round of a run kept in step with fastfair's decisions."""
    if np.array_equal(theirs, ours):
        return
    gaps = np.zeros(len(ours))
    forced_run(ours, gaps)
    if float(gaps.max()) > 1e-9:
        msg = f"{label}: the NumPy loop and fastfair disagree beyond a tie (gap {gaps.max():.3g})"
        raise AssertionError(msg)


#: issue 14's goals for the online rows (x a vectorised NumPy loop, same run)
ONLINE_GOALS = {"prop n=8": 1_000.0, "ef n=128 rounds 1-1000": 100.0}


def online(quick: bool, progress: Progress) -> list[Any]:
    import pickle

    import fastfair as ff
    from fastfair._reference import online as ref
    from fastfair._reference import vectorised as vec
    from fastfair._traces import deficit_traces

    rows: list[Any] = []
    batch_t = 20_000 if quick else 1_000_000
    ref_t = 500 if quick else 2_000
    budget = 0.5 if quick else 3.0
    repeat = 3 if quick else 5
    loop_t = 300 if quick else 3_000
    # (notion, n, alternatives, rounds timed, rounds before the timed stretch)
    late = 2_000 if quick else 20_000
    cases: list[tuple[str, int, int, int, int]] = [
        ("prop", 8, 0, batch_t, 0), ("prop", 128, 0, batch_t, 0),
        ("prop", 1024, 0, batch_t // 20, 0), ("ef", 8, 0, batch_t, 0),
        ("ef", 128, 0, 1_000, 0), ("ef", 128, 0, 1_000, late), ("pdm", 8, 4, batch_t, 0),
    ]
    for notion, n, alts, T, skip in cases:
        rng = np.random.default_rng(n)
        make: Callable[[], Any]
        reference: Any
        if notion == "pdm":
            V = rng.random((T, n, alts))
            make = lambda: ff.PublicDecisionMaker(n)  # noqa: E731
            reference = ref.PdmReference
        else:
            V = rng.random((skip + T, n))
            make = lambda: ff.OnlineAllocator(n, notion=notion)  # type: ignore[arg-type]  # noqa: E731
            reference = ref.PropReference if notion == "prop" else ref.EfReference
        label = f"{notion} n={n}" + (f" x{alts} alternatives" if alts else "")
        if notion == "ef" and n >= 64:
            label += f" rounds {skip + 1}-{skip + T}"
        start = make()
        Vpre, V = V[:skip], V[skip:]
        prefix = start.run(Vpre) if skip else np.zeros(0, np.int64)
        frozen = pickle.dumps(start)
        p = start.p
        if not skip:
            # the engine and the from-scratch reference agree on the first rounds
            checked = 100 if n <= 32 else 10
            _check_decisions(make(), reference(n), V[:checked], lambda r, v: r.log_S(v))
        decisions = pickle.loads(frozen).run(V)
        others: dict[str, float] = {}
        if not skip:
            others["numpy-reference"] = _reference_per_round(
                reference(n).step, V[: min(ref_t, T)], budget)
        # the vectorised NumPy loop of the same rule, from the same state
        Tl = min(T, loop_t)
        if notion == "prop":
            def loop(f: Any = None, g: Any = None) -> Any:
                return vec.prop_loop(V[:Tl], p=p, forced=f, gaps=g)  # noqa: B023
        elif notion == "pdm":
            def loop(f: Any = None, g: Any = None) -> Any:
                return vec.pdm_loop(V[:Tl], p=p, forced=f, gaps=g)  # noqa: B023
        else:
            base = vec.ef_apply(Vpre, prefix, p=p) if skip else {}

            def loop(f: Any = None, g: Any = None) -> Any:
                st = {key: arr.copy() for key, arr in base.items()}  # noqa: B023
                return vec.ef_loop(V[:Tl], p=p, forced=f, gaps=g, state=st)  # noqa: B023
        theirs = loop()
        _check_loop(label, theirs, decisions[:Tl], lambda f, g: loop(f, g))
        # fastfair and the loop in turns, so both see the same load
        contenders: dict[str, Callable[..., Any]] = {
            "fastfair": lambda a: a.run(V), "numpy-vectorised": loop}
        setups: dict[str, Callable[[], Any]] = {"fastfair": lambda: pickle.loads(frozen)}  # noqa: B023
        if (notion, n) == ("prop", 8):
            # issue 14's yardstick for this row: the same engine at p = 2, where
            # phi = 1 + x^2 is a polynomial (its decisions differ: another p)
            contenders["engine-at-p=2"] = lambda a: a.run(V)  # noqa: B023
            setups["engine-at-p=2"] = lambda: ff.OnlineAllocator(n, notion="prop", p=2.0)  # noqa: B023
        mode = _fast_potential_switch()
        if mode is not None and notion in ("prop", "ef"):
            # the same engine with its fast potential switched off (the exact log-space
            # path; same decisions): what the fast potential buys on this row
            default = mode(-1)
            contenders["exact-path"] = lambda a: a.run(V)  # noqa: B023
            setups["exact-path"] = lambda: (mode(0), pickle.loads(frozen))[1]  # noqa: B023
            setups["fastfair"] = lambda: (mode(default), pickle.loads(frozen))[1]  # noqa: B023
            try:
                t = race(contenders, repeat, budget_s=6.0, setups=setups)
            finally:
                mode(default)
            others["exact-path"] = t["exact-path"] / T
        else:
            t = race(contenders, repeat, budget_s=6.0, setups=setups)
        ours = t["fastfair"] / T
        others["numpy-vectorised"] = t["numpy-vectorised"] / Tl
        floors = {"engine-at-p=2": t["engine-at-p=2"] / T} if "engine-at-p=2" in t else {}
        row = SpeedRow("online", f"{label}, per round (run)", ours, others, floors)
        if label in ONLINE_GOALS:
            row.speedup_goal("numpy-vectorised", ONLINE_GOALS[label])
        rows.append(row)
        progress.step(f"online: {label}")

    # per-step latency from Python, n = 8, against a bare pybind11 call
    alloc = ff.OnlineAllocator(8)
    v = np.random.default_rng(1).random(8)
    calls = 20_000
    step = alloc.step
    bare_name, bare, with_values = _bare_call()
    t = race({"step": lambda: [step(v) for _ in range(calls)],
              bare_name: (lambda: [bare(v) for _ in range(calls)]) if with_values
              else (lambda: [bare() for _ in range(calls)])}, 2 * repeat)
    ref_call = _reference_per_round(ref.PropReference(8).step, [v] * 200, budget)
    rows.append(SpeedRow("online", "prop n=8, one step() call", t["step"] / calls,
                         {"numpy-reference": ref_call},
                         {bare_name: t[bare_name] / calls}).time_goal(0.5e-6))
    progress.step("online: step() call")

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


def _fast_potential_switch() -> Optional[Callable[[int], int]]:
    """``set(mode) -> previous mode`` for the online engines' fast potential (private
    ``_core._set_fast_potential``: 0 exact only, 1 auto, 2 everywhere; -1 only reads
    it), or None when the build has no such switch."""
    from fastfair import _core

    setter = getattr(_core, "_set_fast_potential", None)
    if not callable(setter):
        return None

    def switch(mode: int) -> int:
        if mode < 0:
            previous = int(setter(1))
            setter(previous)
            return previous
        return int(setter(mode))

    return switch


def _bare_call() -> tuple[str, Callable[..., Any], bool]:
    """The cheapest call into fastfair._core with step's arguments: ``_core._noop(values)``
    when the build has it (it does nothing), else a method that only reads a counter
    (``PropEngine(8).rounds()``, no argument). Returns (name, function, takes values)."""
    from fastfair import _core

    noop = getattr(_core, "_noop", None)
    if callable(noop):
        return "bare-pybind11-call", noop, True
    return "pybind11-method-call", _core.PropEngine(8).rounds, False


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
