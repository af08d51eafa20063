"""``seed`` follows NumPy's conventions: Generator, BitGenerator and SeedSequence."""

from __future__ import annotations

import numpy as np
import pytest

import fastfair as ff
from fastfair._seed import resolve_seed


def test_seed_sequence_is_deterministic_and_not_consumed():
    ss = np.random.SeedSequence(12345)
    first = resolve_seed(ss)
    assert first == resolve_seed(np.random.SeedSequence(12345)) == resolve_seed(ss)
    assert first == int(np.random.SeedSequence(12345).generate_state(1, np.uint64)[0])
    assert first != resolve_seed(np.random.SeedSequence(12346))


def test_bit_generator_is_advanced_like_a_generator():
    a = np.random.PCG64(7)
    g = np.random.Generator(np.random.PCG64(7))
    draws = [resolve_seed(a) for _ in range(3)]
    assert draws == [resolve_seed(g) for _ in range(3)]
    assert len(set(draws)) == 3  # the bit generator advanced
    assert resolve_seed(np.random.Philox(3)) == resolve_seed(
        np.random.Generator(np.random.Philox(3)))


@pytest.mark.parametrize("make", [lambda: np.random.SeedSequence(9),
                                  lambda: np.random.PCG64(9),
                                  lambda: np.random.default_rng(9)])
def test_public_calls_accept_them_and_replay(make):
    pi = [0.2, 0.5, 0.8, 0.5]
    assert np.array_equal(ff.pipage_round(pi, seed=make()), ff.pipage_round(pi, seed=make()))
    pool_a, pool_b = ff.LotteryPool("a"), ff.LotteryPool("b")
    wa = pool_a.run_lottery([1.0, 2.0, 3.0, 4.0], 2, seed=make())
    wb = pool_b.run_lottery([1.0, 2.0, 3.0, 4.0], 2, seed=make())
    assert np.array_equal(wa, wb) and pool_a.seeds.tolist() == pool_b.seeds.tolist()
    assert pool_a.verify()


@pytest.mark.parametrize("bad", [np.random.RandomState(1), 1.5, "x", object()])
def test_other_seeds_are_a_type_error_naming_the_types(bad):
    with pytest.raises(TypeError, match="SeedSequence"):
        ff.pipage_round([0.5, 0.5], seed=bad)
