"""The sections of ``fastfair bench``; each returns SpeedRow and FairnessRow lists.

Every section checks that fastfair and the reference agree before timing them, so a
fast wrong answer can never show up as a win.
"""

from __future__ import annotations

import numpy as np

from .bench import FairnessRow, Progress, SpeedRow, best_time

# ---------------------------------------------------------------- sampling kernels


def _sampling_sizes(quick: bool) -> list[int]:
    return [1_000, 100_000] if quick else [1_000, 10_000, 100_000, 1_000_000]


def sampling_steps(quick: bool) -> int:
    return 2 * len(_sampling_sizes(quick))


def sampling(quick: bool, progress: Progress) -> list:
    import fastfair as ff
    from fastfair._reference import sampling as ref

    rows: list = []
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


def _timed_lotteries(run_one, count: int) -> float:
    """Mean wall time of ``count`` successive lotteries of one pool."""
    import time

    t0 = time.perf_counter()
    for t in range(count):
        run_one(t)
    return (time.perf_counter() - t0) / count


def lottery(quick: bool, progress: Progress) -> list:
    import fastfair as ff
    from fastfair._reference import lottery as ref

    rows: list = []
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
