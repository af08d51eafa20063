"""The fast potential of the online engines (docs/numerics.md "The fast potential").

The engines decide with a branch-free polynomial evaluation of ``phi_p - 1`` that carries
a proven error bound, and hand a round to the exact log-space path whenever the bound
cannot separate the best candidate from the others. So:

(PROP uses it only in the hidden mode 2, "everywhere"; these tests run in that mode.)

* the kernel must satisfy its bound against the exact evaluation, on every SIMD target,
  with bit-identical results across targets;
* every decision must equal the exact path's (the fast path switched off), on every
  target, for random streams, near-ties, huge and tiny values, masks and any p;
* and those decisions minimise the NumPy reference's potential (within the documented
  relative 1e-12 tie tolerance).
"""

from __future__ import annotations

import contextlib
import math
from typing import Iterator, Optional

import numpy as np
import pytest

import fastfair as ff
from fastfair import _core
from fastfair._reference import online as ref

REL, ABS, FAST_MAX = _core._fast_bounds()
LEVELS = list(range(_core._online_simd_supported() + 1))  # 0 portable, 1 AVX2, 2 AVX-512
PS: list[Optional[float]] = [2.0, 2.5, None, 7.0, 40.0]


@contextlib.contextmanager
def simd(level: int) -> Iterator[None]:
    prev = _core._set_simd_level(level)
    try:
        yield
    finally:
        _core._set_simd_level(prev)


@contextlib.contextmanager
def fast_mode(mode: int) -> Iterator[None]:
    prev = _core._set_fast_potential(mode)
    try:
        yield
    finally:
        _core._set_fast_potential(prev)


def exact_only() -> contextlib.AbstractContextManager[None]:
    return fast_mode(0)


@pytest.fixture(autouse=True)
def _fast_everywhere() -> Iterator[None]:
    """PROP uses the fast potential only in mode 2 (everywhere); test it there."""
    with fast_mode(2):
        yield


def _points(rng: np.random.Generator) -> np.ndarray:
    return np.concatenate([
        10.0 ** rng.uniform(-170, 140, 60_000),  # subnormal squares ... overflow
        rng.random(40_000) * 4.0,                # typical normalised deficits
        [0.0, 5e-324, 1e-162, 1e-160, 1e-154, 1e-150, 1.0, 1e135, 1e154, 1e200, math.inf],
    ])


@pytest.mark.parametrize("p", [2.0, 2.0794415416798357, 2.5, 4.0, 6.0, 7.0, 9.696, 10.0,
                               16.0, 17.5, 40.0])
def test_kernel_within_its_bound_on_every_target(rng: np.random.Generator, p: float) -> None:
    x = _points(rng)
    exact = _core._exact_phi_m1(x, p)
    outs = [_core._fast_phi_m1(x, p, level) for level in LEVELS]
    for out in outs[1:]:
        np.testing.assert_array_equal(out, outs[0])  # bit-identical on every target
    f = outs[0]
    fin = np.isfinite(f)
    # inside the fast range the bound holds ...
    assert np.all(np.abs(f[fin] - exact[fin]) <= REL * f[fin] + ABS)
    assert np.all(f[fin] < FAST_MAX)
    # ... zero exactly when the exact path is zero (x^2 == 0) ...
    with np.errstate(over="ignore"):
        np.testing.assert_array_equal(f == 0.0, x * x == 0.0)
    # ... and out of it only where the exact value is near the range limit or beyond
    assert np.all(np.isinf(f[~fin]))
    assert np.all(exact[~fin] > 0.9 * FAST_MAX)
    # the measured error is far inside the bound (the bound has a wide margin)
    rel = np.abs(f[fin] - exact[fin]) / np.maximum(f[fin], 1e-300)
    assert rel[f[fin] > 1e-290].max() < REL / 50


def _stream(kind: str, T: int, n: int, rng: np.random.Generator) -> np.ndarray:
    if kind == "random":
        return rng.random((T, n))
    if kind == "ties":  # small integers: many exactly tied candidates
        return rng.integers(0, 3, (T, n)).astype(float)
    if kind == "equal":  # everyone values every item the same
        return np.ones((T, n))
    if kind == "sparse":  # mostly zeros (rows that change nothing)
        return rng.random((T, n)) * (rng.random((T, n)) < 0.3)
    if kind == "huge":  # envies far beyond the fast range: the exact (shifted) path
        return rng.random((T, n)) * 10.0 ** rng.uniform(-300, 280, (T, 1))
    if kind == "tiny":
        return rng.random((T, n)) * 1e-300
    raise AssertionError(kind)


def _decide(notion: str, n: int, p: Optional[float], tie: str, V: np.ndarray,
            eligible: Optional[np.ndarray] = None) -> np.ndarray:
    a = ff.OnlineAllocator(n, notion, p=p, tie_break=tie)
    if eligible is None:
        return a.run(V)
    return a.run(V, eligible=eligible)


CASES = [("prop", n) for n in (2, 3, 8, 64, 1024)] + [("ef", n) for n in (2, 3, 8, 64, 128)]


@pytest.mark.parametrize("notion,n", CASES)
@pytest.mark.parametrize("tie", ["index", "value"])
def test_fast_decisions_equal_the_exact_path(notion: str, n: int, tie: str) -> None:
    rng = np.random.default_rng(n * 7 + (tie == "value"))
    T = {2: 300, 3: 300, 8: 300, 64: 120, 128: 40, 1024: 60}[n]
    for kind in ["random", "ties", "equal", "sparse", "huge", "tiny"]:
        V = _stream(kind, T, n, rng)
        for p in (PS + [80.0] if n <= 64 else [2.0, None, 40.0]):  # 80: EF divides
            with exact_only():
                want = _decide(notion, n, p, tie, V)
            for level in (LEVELS if kind in ("random", "ties") else LEVELS[-1:]):
                with simd(level):
                    got = _decide(notion, n, p, tie, V)
                np.testing.assert_array_equal(got, want, err_msg=f"{kind} p={p} level={level}")


@pytest.mark.parametrize("notion,n", [("prop", 8), ("prop", 64), ("ef", 8), ("ef", 64)])
def test_fast_decisions_with_masks_equal_the_exact_path(notion: str, n: int) -> None:
    rng = np.random.default_rng(n)
    T = 200
    V = rng.random((T, n))
    mask = rng.random((T, n)) < 0.6
    mask[np.arange(T), rng.integers(0, n, T)] = True
    for tie in ["index", "value"]:
        for p in [2.0, None]:
            with exact_only():
                want = _decide(notion, n, p, tie, V, mask)
            got = _decide(notion, n, p, tie, V, mask)
            np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("notion,n", [("prop", 8), ("prop", 1024), ("ef", 8), ("ef", 128)])
def test_fast_path_decides_most_random_rounds(notion: str, n: int) -> None:
    """The fast path is really used (not always handed to the exact path)."""
    T = 400 if notion == "prop" else 200
    V = np.random.default_rng(1).random((T, n))
    for p in [2.0, math.nan, 7.0]:
        for by_value in [False, True]:
            dec, fast, exact = _core._online_fast_stats(notion, V, p, by_value)
            assert fast + exact <= T
            assert fast >= 0.5 * T, (p, by_value, fast, exact)
            with exact_only():
                want, f0, e0 = _core._online_fast_stats(notion, V, p, by_value)
            assert f0 == 0 and e0 == 0
            np.testing.assert_array_equal(dec, want)


@pytest.mark.parametrize("notion,n", [("prop", 3), ("prop", 8), ("ef", 3), ("ef", 8)])
@pytest.mark.parametrize("p", PS)
def test_fast_decisions_minimise_the_reference_potential(notion: str, n: int,
                                                         p: Optional[float]) -> None:
    V = np.random.default_rng(n).random((40, n))
    R = ref.PropReference if notion == "prop" else ref.EfReference
    mine = ff.OnlineAllocator(n, notion, p=p, tie_break="index").run(V)
    log_s = ref.reference_run(R, V, forced=mine, p=p)
    assert ref.chosen_gap(log_s, mine) <= 1e-12


def test_default_mode_uses_the_fast_potential_for_large_ef_only() -> None:
    """Auto mode: PROP never, EF from kFastMinAgents (40) agents on, where it is faster."""
    small = np.random.default_rng(3).random((100, 8))
    large = np.random.default_rng(3).random((100, 64))
    with fast_mode(1):
        _, fast_prop, exact_prop = _core._online_fast_stats("prop", small, math.nan, True)
        _, fast_small, _ = _core._online_fast_stats("ef", small, math.nan, True)
        _, fast_large, _ = _core._online_fast_stats("ef", large, math.nan, True)
    assert fast_prop == 0 and exact_prop == 0
    assert fast_small == 0
    assert fast_large > 50
    with fast_mode(2):
        _, fast_forced, _ = _core._online_fast_stats("ef", small, math.nan, True)
    assert fast_forced > 50


@pytest.mark.parametrize("n", [64, 128])
def test_ef_two_threads_decide_like_one(n: int) -> None:
    """run() splits the fast pass over two threads from 64 agents on: the same decisions
    as one thread and as the exact path, whatever the stream."""
    rng = np.random.default_rng(n)
    for kind in ["random", "ties", "sparse"]:
        V = _stream(kind, 60, n, rng)
        for tie in ["index", "value"]:
            with exact_only():
                want = _decide("ef", n, None, tie, V)
            prev = _core._set_online_threads(1)
            try:
                one = _decide("ef", n, None, tie, V)
            finally:
                _core._set_online_threads(prev)
            prev = _core._set_online_threads(2)
            try:
                two = _decide("ef", n, None, tie, V)
            finally:
                _core._set_online_threads(prev)
            np.testing.assert_array_equal(one, want)
            np.testing.assert_array_equal(two, want)


@pytest.mark.parametrize("p", [2.5, 9.696, 10.0])
def test_compacted_kernel_equals_the_dense_one(rng: np.random.Generator, p: float) -> None:
    """The EF rows send only their nonzero deficits through the general kernel."""
    for n in [1, 7, 8, 31, 32, 33, 100, 256, 257]:
        for zero_share in [0.0, 0.5, 0.9, 1.0]:
            x = rng.random(n) * 3.0
            x[rng.random(n) < zero_share] = 0.0
            dense = _core._fast_phi_m1(x, p, 0)
            for level in LEVELS:
                np.testing.assert_array_equal(_core._fast_phi_m1_sparse(x, p, level), dense)
