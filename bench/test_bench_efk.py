"""Classical EF_k engine vs its NumPy reference: batch rounds per second.

Default (part of the normal pytest run, untimed): two small sizes. Full grid
(n = 4, 8, 16 agents x L = 4, 16, 64 levels), timed:

    FASTFAIR_BENCH_FULL=1 python -m pytest bench/test_bench_efk.py --benchmark-enable \
        --benchmark-columns=min,median,mean,rounds

Rounds per second = ``extra_info["rounds"]`` / time per call.
"""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
from fastfair._efk import make_efk_engine
from fastfair._reference.efk import EFkReference

FULL = os.environ.get("FASTFAIR_BENCH_FULL") == "1"
_GRID = [(n, L) for n in (4, 8, 16) for L in (4, 16, 64)] if FULL else [(4, 4), (8, 16)]
SIZES = [
    pytest.param(n, L, marks=pytest.mark.benchmark(group=f"efk batch n={n} L={L}"))
    for n, L in _GRID
]
T_ENGINE = 20_000 if FULL else 500
T_REF = 200 if FULL else 10


def make_stream(n: int, L: int, T: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    levels = np.sort(rng.uniform(0.1, 10.0, size=L))
    values = levels[rng.integers(0, L, size=(T, n))]
    values = np.where(rng.random((T, n)) < 0.3, 0.0, values)
    return levels, values


def check_agreement(n: int, levels: np.ndarray, values: np.ndarray) -> None:
    """The engine's choice minimises the reference's S every round (rel. 1e-12)."""
    eng = make_efk_engine(n, levels)
    ref = EFkReference(n, levels)
    for v in values:
        log_s = ref.candidate_log_s(v)
        a = eng.step(v)
        assert math.expm1(log_s[a] - log_s.min()) <= 1e-12
        ref.apply(v, a)
    np.testing.assert_array_equal(eng.deficits(), ref.deficits())


@pytest.mark.parametrize(("n", "L"), SIZES)
def test_bench_efk_fastfair(benchmark, n: int, L: int) -> None:
    levels, values = make_stream(n, L, T_ENGINE, seed=n * 1000 + L)
    benchmark.extra_info["rounds"] = T_ENGINE
    out = benchmark.pedantic(
        lambda eng: eng.run(values),
        setup=lambda: ((make_efk_engine(n, levels),), {}),
        rounds=5 if FULL else 1,
        iterations=1,
    )
    assert out.shape == (T_ENGINE,)
    # same decisions as T single steps, and the reference agrees on the prefix
    eng = make_efk_engine(n, levels)
    np.testing.assert_array_equal([eng.step(v) for v in values[:T_REF]], out[:T_REF])
    check_agreement(n, levels, values[: min(T_REF, 50)])


@pytest.mark.parametrize(("n", "L"), SIZES)
def test_bench_efk_reference(benchmark, n: int, L: int) -> None:
    levels, values = make_stream(n, L, T_ENGINE, seed=n * 1000 + L)
    ref_values = values[:T_REF]
    benchmark.extra_info["rounds"] = T_REF
    out = benchmark.pedantic(
        lambda ref: ref.run(ref_values),
        setup=lambda: ((EFkReference(n, levels),), {}),
        rounds=3 if FULL else 1,
        iterations=1,
    )
    assert out.shape == (T_REF,)
    check_agreement(n, levels, ref_values[:50])


@pytest.mark.benchmark(group="efk step latency")
@pytest.mark.parametrize(("n", "L"), _GRID)
def test_bench_efk_step(benchmark, n: int, L: int) -> None:
    levels, values = make_stream(n, L, 1, seed=7)
    eng = make_efk_engine(n, levels)
    r = benchmark(eng.step, values[0])
    assert 0 <= r < n
