"""fastfair.plotting: heatmaps with matplotlib (optional `plot` extra)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import fastfair as ff


def test_core_never_imports_matplotlib():
    code = "import sys, fastfair; sys.exit('matplotlib' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_clear_import_error_without_matplotlib(monkeypatch):
    from fastfair import plotting

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"fastfair\[plot\]"):
        plotting.plot_winners(ff.LotteryPool())


def test_heatmaps():
    mpl = pytest.importorskip("matplotlib")
    mpl.use("Agg")
    import matplotlib.pyplot as plt

    from fastfair import plotting

    pool = ff.LotteryPool()
    for t in range(4):
        pool.run_lottery(np.ones(6), 2, seed=t)
    for fn in (plotting.plot_win_probabilities, plotting.plot_winners,
               plotting.plot_cumulative_unfairness):
        ax = fn(pool, annotate=True)
        image = ax.images[0].get_array()
        assert image.shape == (6, 4)
        assert len(ax.get_xticklabels()) == 4
    np.testing.assert_allclose(
        ax.images[0].get_array(),
        pool.winners.cumsum(axis=1) - pool.deserved.cumsum(axis=1),
    )
    plt.close("all")
