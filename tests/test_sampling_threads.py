"""Large calls split across threads give bit-identical results for any thread count.

The kernels split n >= 1e6 entries into chunks fixed by n and merge them in order
(fastfair/parallel.hpp); `_core._set_max_threads` is the private switch that caps the
threads. Hostile values placed in a late chunk are still rejected with a clear error.
"""

from __future__ import annotations

import numpy as np
import pytest

import fastfair as ff
from fastfair import _core
from fastfair._reference import sampling as ref

N = 1_000_003  # above the threading threshold, not a multiple of the chunk size


@pytest.fixture
def threads():
    def use(t: int) -> None:
        _core._set_max_threads(t)

    previous = _core._set_max_threads(1)
    _core._set_max_threads(previous)
    yield use
    _core._set_max_threads(previous)


def _instances():
    rng = np.random.default_rng(99)
    yield "normal", 0.1 + rng.normal(scale=0.5, size=N), N / 10
    yield "uniform", rng.random(N) * 3, N / 3 + 0.5
    yield "ties", rng.integers(0, 5, N) * 0.25, float(N // 4)
    yield "huge", rng.normal(size=N) * 1e16, N / 10


@pytest.mark.parametrize("name,y,k", list(_instances()), ids=lambda v: v if isinstance(v, str) else "")
def test_projection_same_bits_for_any_thread_count(threads, name, y, k):
    outs = []
    for t in (1, 2, 3, 8):
        threads(t)
        outs.append(ff.project_capped_simplex(y, k))
    for x in outs[1:]:
        assert x.tobytes() == outs[0].tobytes()
    x = outs[0]
    assert x.min() >= 0.0 and x.max() <= 1.0
    assert abs(np.sum(x, dtype=np.float64) - k) <= 1e-6
    if name != "huge":  # the bisection reference loses the fractions at 1e16
        np.testing.assert_allclose(x, ref.project_capped_simplex(y, k), atol=1e-9)


def test_pipage_and_lottery_same_bits_for_any_thread_count(threads):
    rng = np.random.default_rng(3)
    pi = ff.project_capped_simplex(rng.normal(size=N), 1000.0)
    s = rng.lognormal(0.0, 1.0, N) * (rng.random(N) < 0.9)
    results = []
    for t in (1, 2, 5):
        threads(t)
        pool = ff.LotteryPool("threads")
        pool.run_lottery(s, 70_000, seed=1)
        pool.run_lottery(s, 70_000, seed=2)
        results.append(
            (ff.pipage_round(pi, seed=7).tobytes(), pool.win_probabilities.tobytes(),
             pool.winners.tobytes())
        )
    assert results[1:] == results[:1] * 2


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("where", [5, N // 2 + 17, N - 1])
def test_projection_rejects_non_finite_anywhere(threads, bad, where):
    y = np.zeros(N)
    y[where] = bad
    for t in (1, 2):
        threads(t)
        with pytest.raises(ValueError, match=rf"y must be finite.*index {where}"):
            ff.project_capped_simplex(y, 10.0)


def test_projection_huge_entries_in_a_late_chunk(threads):
    rng = np.random.default_rng(4)
    y = rng.random(N)
    y[N - 3] = 1e300  # above 2**900: solved on y - pivot
    outs = []
    for t in (1, 2):
        threads(t)
        outs.append(ff.project_capped_simplex(y, 2.5))
    assert outs[0].tobytes() == outs[1].tobytes()
    assert outs[0][N - 3] == 1.0
    assert abs(outs[0].sum() - 2.5) < 1e-9


def test_set_max_threads_rejects_zero():
    with pytest.raises(ValueError, match="threads"):
        _core._set_max_threads(0)


@pytest.mark.parametrize("bad", [np.nan, 1.5, -0.25])
@pytest.mark.parametrize("where", [0, N // 2 + 1, N - 1])
def test_pipage_validation_beside_the_draw(threads, bad, where):
    pi = np.full(N, 0.0)
    pi[: N // 4] = 0.5 + 0.0  # a whole sum apart from the bad entry
    pi[where] = bad
    for t in (1, 2):
        threads(t)
        with pytest.raises(ValueError, match=rf"pi must contain probabilities.*index {where}"):
            ff.pipage_round(pi, seed=3)


def test_pipage_fractional_sum_rejected_at_scale(threads):
    pi = np.full(N, 0.25)  # N / 4 is not whole
    for t in (1, 2):
        threads(t)
        with pytest.raises(ValueError, match="whole number"):
            ff.pipage_round(pi, seed=3)
