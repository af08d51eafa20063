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
