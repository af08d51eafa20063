"""Installed-package smoke test (no pytest needed): run by cibuildwheel's test-command
on every wheel and by tests/test_packaging.py in a fresh venv.

Exits 0 and prints one line when the compiled core and the main public calls work.
"""

from __future__ import annotations

import os
import sys
import tempfile
from importlib import metadata


def main() -> int:
    import numpy as np

    import fastfair as ff

    assert ff.__version__ == metadata.version("fastfair"), ff.__version__
    rng = np.random.default_rng(0)

    alloc = ff.OnlineAllocator(4, notion="ef")
    alloc.run(rng.random((2_000, 4)))
    assert alloc.rounds == 2_000 and alloc.max_deficit <= alloc.bound()

    pi = ff.fair_probabilities([0.3, 0.5, 0.9, 0.3], [0, 0, 0, 0], 2)
    assert abs(float(pi.sum()) - 2.0) < 1e-12
    assert int(ff.pipage_round(pi, seed=1).sum()) == 2

    pool = ff.LotteryPool("smoke")
    for _ in range(5):
        assert int(pool.run_lottery(rng.random(20) + 0.1, 3, seed=rng).sum()) == 3
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "smoke.fflottery")
        pool.save(path)
        again = ff.LotteryPool.load(path)
    assert again.verify() and np.array_equal(again.winners, pool.winners)

    print(f"fastfair {ff.__version__} smoke test passed ({ff.__file__})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
