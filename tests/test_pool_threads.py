"""One pool used from two threads at once: RuntimeError (a busy flag), never a crash or
a silently lost lottery. Real threads on a pool big enough for the calls to overlap
(the C++ work runs without the GIL); every loop is bounded in time."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

import fastfair as ff
from fastfair import _core

N = 100_000
SECONDS = 0.5


def big_pool(lotteries: int = 2) -> ff.LotteryPool:
    pool = ff.LotteryPool("threads")
    for t in range(lotteries):
        pool.run_lottery(np.ones(N), N // 3, seed=t)
    return pool


def hammer(*workers):
    """Run each worker(stop) in its own thread until SECONDS pass; collect outcomes."""
    stop = time.monotonic() + SECONDS
    results: list[list[str]] = [[] for _ in workers]
    errors: list[BaseException] = []

    def run(j, fn):
        try:
            while time.monotonic() < stop:
                try:
                    fn()
                    results[j].append("ok")
                except RuntimeError as exc:
                    assert "another thread" in str(exc)
                    results[j].append("busy")
        except BaseException as exc:  # anything else is a failure of the test
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(j, fn)) for j, fn in enumerate(workers)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=60)
        assert not th.is_alive()
    assert not errors, errors
    return results


def test_verify_during_run_lottery():
    pool = big_pool()
    scores = np.ones(N)
    res = hammer(lambda: pool.run_lottery(scores, N // 3, seed=5), pool.verify)
    ran = res[0].count("ok")
    busy = sum(r.count("busy") for r in res)
    assert ran >= 1
    assert busy >= 1 or (ran >= 1 and res[1].count("ok") >= 1)
    assert pool.n_lotteries == 2 + ran  # no lottery lost, none recorded twice
    assert pool.verify()
    assert pool.wins.sum() == pool.lottery_sizes.sum()


def test_two_run_lotteries():
    pool = big_pool(1)
    scores = np.ones(N)
    res = hammer(lambda: pool.run_lottery(scores, N // 3, seed=1),
                 lambda: pool.run_lottery(scores, N // 3, seed=2))
    ran = res[0].count("ok") + res[1].count("ok")
    assert pool.n_lotteries == 1 + ran
    assert pool.verify()
    assert pool.wins.sum() == pool.lottery_sizes.sum()


def test_readers_during_run_lottery_and_save(tmp_path):
    pool = big_pool(1)
    scores = np.ones(N)
    path = tmp_path / "p.ffl"
    res = hammer(lambda: pool.run_lottery(scores, N // 3, seed=3),
                 lambda: pool.wins.sum(),
                 lambda: pool.save(path))
    assert pool.verify()
    assert pool.n_lotteries == 1 + res[0].count("ok")
    if res[2].count("ok"):
        assert ff.LotteryPool.load(path).verify()


def test_core_object_from_two_threads():
    """The C++ core's own busy flag, without the Python pool's lock."""
    core = _core.LotteryPoolCore()
    scores = np.ones(N)
    core.run(scores, N // 3, 0)
    n_runs = [0]

    def run():
        core.run(scores, N // 3, 1)
        n_runs[0] += 1

    res = hammer(run, core.verify)
    assert core.n_lotteries == 1 + res[0].count("ok")
    assert not any(core.verify())


def test_separate_pools_still_run_in_parallel():
    pools = [big_pool(1), big_pool(1)]
    scores = np.ones(N)
    res = hammer(lambda: pools[0].run_lottery(scores, 10, seed=1),
                 lambda: pools[1].run_lottery(scores, 10, seed=1))
    assert all(r and set(r) == {"ok"} for r in res)
    assert pools[0].verify() and pools[1].verify()


def test_busy_error_leaves_state_unchanged():
    pool = big_pool(1)
    before = pool.seeds.tolist()
    assert pool._busy.acquire(blocking=False)  # as if another thread were inside
    try:
        with pytest.raises(RuntimeError, match="another thread"):
            pool.run_lottery(np.ones(N), 3, seed=0)
        with pytest.raises(RuntimeError, match="another thread"):
            pool.verify()
    finally:
        pool._busy.release()
    assert pool.seeds.tolist() == before
    pool.run_lottery(np.ones(N), 3, seed=0)
    assert pool.n_lotteries == 2
