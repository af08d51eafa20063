"""fastfair.plotting: heatmaps with matplotlib (optional `plot` extra)."""

from __future__ import annotations

import subprocess
import sys
import warnings

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


# ------------------------------------------------------- organiser's pictures (scale)


def churn_pool(n=60, lotteries=6, k=9, seed=0, weighted=True):
    """Entrants come and go (some sit a year out), weighted or uniform scores."""
    rng = np.random.default_rng(seed)
    pool = ff.LotteryPool("churn")
    ids = [f"e{i}" for i in range(n)]
    for t in range(lotteries):
        s = rng.lognormal(0, 1, n) if weighted else np.ones(n)
        s[rng.random(n) < 0.3] = 0.0
        members = ids[: n // 2 + t * n // (2 * lotteries)]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pool.run_lottery(s[: len(members)], min(k, int((s[: len(members)] > 0).sum())),
                             seed=t, ids=members)
    return pool


def drought_reference(pool):
    """Per entrant and lottery, by walking the history one entrant at a time."""
    scores, won = pool.scores, pool.winners
    n, n_lot = scores.shape
    lost = np.zeros((n, n_lot), dtype=np.int64)
    ever = np.zeros((n, n_lot), dtype=bool)
    for i in range(n):
        for t in range(n_lot):
            entered_lost = [u for u in range(t) if scores[i, u] > 0]
            wins = [u for u in entered_lost if won[i, u]]
            ever[i, t] = bool(wins)
            since = wins[-1] + 1 if wins else 0
            lost[i, t] = sum(1 for u in entered_lost if u >= since and not won[i, u])
    return lost, ever


@pytest.mark.parametrize("seed", range(5))
def test_drought_lengths_match_a_reference(seed):
    from fastfair import plotting

    pool = churn_pool(seed=seed, weighted=seed % 2 == 0)
    lost, ever = plotting.drought_lengths(pool)
    ref_lost, ref_ever = drought_reference(pool)
    np.testing.assert_array_equal(lost, ref_lost)
    np.testing.assert_array_equal(ever, ref_ever)


def test_systematic_baseline_has_exact_k_and_the_right_marginals():
    """The independent-draw baseline: exactly k winners per draw, marginals p
    (z-test where draws * p * (1 - p) >= 25; p in {0, 1} checked exactly)."""
    from fastfair.plotting import _systematic

    rng = np.random.default_rng(42)
    p = np.array([0.0, 1.0, 0.5, 0.25, 0.75, 0.1, 0.9, 0.3, 0.2, 1.0])
    assert p.sum() == 5.0
    draws = 20_000
    hits = np.zeros(p.size)
    for _ in range(draws):
        w = _systematic(p, rng)
        assert w.sum() == 5
        hits += w
    freq = hits / draws
    assert freq[0] == 0.0 and freq[1] == 1.0 and freq[-1] == 1.0
    ok = draws * p * (1 - p) >= 25
    z = (freq[ok] - p[ok]) / np.sqrt(p[ok] * (1 - p[ok]) / draws)
    assert np.all(np.abs(z) < 4.5), z


def test_independent_draws_baseline():
    from fastfair import plotting

    pool = churn_pool(n=200, lotteries=8, k=20, weighted=False)
    a = plotting.independent_draws(pool, runs=6, seed=3)
    assert a.shape == (6, 8)
    np.testing.assert_array_equal(a, plotting.independent_draws(pool, runs=6, seed=3))
    assert not np.array_equal(a, plotting.independent_draws(pool, runs=6, seed=4))
    ours = np.abs(np.cumsum(pool.winners, axis=1) - np.cumsum(pool.deserved, axis=1)).max(0)
    # memoryless draws drift; the fair pool stays within one seat (uniform scores)
    assert ours.max() < 1.0
    assert np.median(a[:, -1]) > ours[-1]
    with pytest.raises(ValueError, match="runs"):
        plotting.independent_draws(pool, runs=0)


def _inside(fig, artist):
    fig.canvas.draw()
    box = artist.get_window_extent(renderer=fig.canvas.get_renderer())
    frame = fig.bbox
    return (box.x0 >= frame.x0 - 0.5 and box.x1 <= frame.x1 + 0.5
            and box.y0 >= frame.y0 - 0.5 and box.y1 <= frame.y1 + 0.5)


def test_readme_pool_figures_fit_and_have_whole_ticks():
    """The README's 20-entrant pool: titles inside the picture, entrant and lottery
    axes with whole-number ticks only, fixed size."""
    mpl = pytest.importorskip("matplotlib")
    mpl.use("Agg")
    import matplotlib.pyplot as plt

    from fastfair import plotting

    pool = ff.LotteryPool("marathon")
    for t in range(5):
        pool.run_lottery(np.ones(20), 13, seed=t + 1)
    figs = plotting.lottery_figures(pool)
    assert set(figs) == {"unfairness", "deviation", "odds", "probabilities", "winners",
                         "cumulative"}
    for name, fig in figs.items():
        assert tuple(fig.get_size_inches() * fig.dpi) == (1200, 800), name
        ax = fig.axes[0]
        assert _inside(fig, ax.title), name
        assert _inside(fig, ax.xaxis.label) and _inside(fig, ax.yaxis.label), name
        if name in ("probabilities", "winners", "cumulative"):
            yt = [v for v in ax.get_yticks() if -0.5 <= v <= 19.5]
            assert yt and all(float(v).is_integer() for v in yt), (name, yt)
            assert [t.get_text().split("\n")[0] for t in ax.get_xticklabels()] == [
                "1", "2", "3", "4", "5"]
        if name == "unfairness":
            xt = [v for v in ax.get_xticks() if 0.5 <= v <= 5.5]
            assert all(float(v).is_integer() for v in xt), xt
        if name == "deviation":
            assert all(float(v).is_integer() for v in ax.get_yticks())
    winners_bar = figs["winners"].axes[1]
    assert list(winners_bar.get_yticks()) == [0.0, 1.0]
    plt.close("all")
    with pytest.raises(ValueError, match="no lotteries"):
        plotting.lottery_figures(ff.LotteryPool())
    with pytest.raises(ValueError, match="t must index"):
        plotting.lottery_figures(pool, t=5)


def test_readme_what_entrants_will_see_table_is_measured():
    """The README's "What entrants will see" table is what this scenario gives
    (re-measured here, so a change of the draws cannot leave the README stale)."""
    import re
    from pathlib import Path

    from fastfair.plotting import drought_lengths

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text("utf-8")
    section = readme.split("### What entrants will see", 1)[1].split("\n### ", 1)[0]
    table = dict(
        (label.strip(), (int(n.replace(",", "")), float(p)))
        for label, n, p in re.findall(r"^\| ([^|]+) \| ([\d,]+) \| ([\d.]+) \|$",
                                      section, re.M)
    )
    rng = np.random.default_rng(2026)
    pool = ff.LotteryPool("marathon")
    field = np.arange(30_000)
    next_id = field.size
    for year in range(1, 7):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pool.run_lottery(np.ones(field.size), 5000, seed=year,
                             ids=[f"r{i}" for i in field])
        keep = rng.random(field.size) >= 0.2
        fresh = np.arange(next_id, next_id + int((~keep).sum()))
        next_id += fresh.size
        field = np.concatenate([field[keep], fresh])
    lost, ever = drought_lengths(pool)
    entered = pool.scores[:, 5] > 0
    pi = pool.win_probabilities[:, 5]
    groups = {"newcomer": entered & ~ever[:, 5] & (lost[:, 5] == 0),
              "won before (any year)": entered & ever[:, 5]}
    for n_lost in range(1, 6):
        label = f"lost {n_lost}, never won" if n_lost < 5 else (
            "lost 5 (every year), never won")
        groups[label] = entered & ~ever[:, 5] & (lost[:, 5] == n_lost)
    assert set(table) == set(groups)
    for label, sel in groups.items():
        n, p = table[label]
        assert int(sel.sum()) == n, label
        assert np.ptp(pi[sel]) == 0.0  # identical within the group
        assert round(float(pi[sel][0]), 4) == p, label


def test_titles_wrap_instead_of_being_cut_in_narrow_pictures():
    mpl = pytest.importorskip("matplotlib")
    mpl.use("Agg")
    import matplotlib.pyplot as plt

    from fastfair import plotting

    pool = ff.LotteryPool("narrow")
    ids = [f"a-rather-long-entrant-name-{i}" for i in range(30)]
    for t in range(3):
        pool.run_lottery(np.ones(30), 7, seed=t, ids=ids)
    figs = plotting.lottery_figures(pool, size=(600, 400))
    for name, fig in figs.items():
        assert _inside(fig, fig.axes[0].title), name
    assert "\n" in figs["odds"].axes[0].get_title()  # wrapped, not cut
    plt.close("all")
