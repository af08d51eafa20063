"""Pictures of a pool drawn by division: the per-division unfairness lines and the
per-division odds panels, against a direct per-entrant reference; fixed sizes; bad
divisions; `fastfair plot lottery` writes them only for divided pools."""

from __future__ import annotations

import struct

import numpy as np
import pytest

import fastfair as ff

mpl = pytest.importorskip("matplotlib")
mpl.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from fastfair import plotting  # noqa: E402


def divided_pool(years=5, n=600, moves=True, labels=("F", "M", "masters"), seed=0):
    """Entrants in divisions, some moving to another division, a fifth sitting out."""
    rng = np.random.default_rng(seed)
    pool = ff.LotteryPool("divided")
    div = rng.choice(list(labels), n)
    for y in range(years):
        if moves:
            div = np.where(rng.random(n) < 0.1, rng.choice(list(labels), n), div)
        scores = rng.lognormal(0.0, 0.5, n) * (rng.random(n) < 0.8)
        seats = {d: max(1, int(0.08 * np.count_nonzero((div == d) & (scores > 0))))
                 for d in labels if np.any((div == d) & (scores > 0))}
        pool.run_lottery(scores, seats, seed=y, divisions=div.tolist())
    return pool


def reference_unfairness(pool):
    """{label: [max |wins - deserved| over the label's entrants after lottery t]}."""
    wins = np.zeros(pool.n_entrants)
    deserved = np.zeros(pool.n_entrants)
    out = {}
    for t in range(pool.n_lotteries):
        wins += pool.winners[:, t]
        deserved += pool.deserved[:, t]
        labels = pool.division_labels(t)
        info = pool.lottery_info(t)["divisions"] or {}
        for d in info:
            members = [i for i, x in enumerate(labels) if x == d]
            out.setdefault(d, [float("nan")] * pool.n_lotteries)[t] = max(
                abs(wins[i] - deserved[i]) for i in members)
    return out


def test_unfairness_by_division_matches_a_per_entrant_reference():
    pool = divided_pool()
    got = plotting.unfairness_by_division(pool)
    ref = reference_unfairness(pool)
    assert list(got) == sorted(ref)
    for d, row in got.items():
        np.testing.assert_allclose(row, ref[d], rtol=0, atol=1e-12)
    # entrants who stay in their division: within one seat, as undivided (uniform-ish)
    assert max(np.nanmax(r) for r in got.values()) < 2.0


def test_division_figures_fixed_size_and_panels():
    pool = divided_pool()
    figs = plotting.lottery_figures(pool, size=(1000, 700), heatmaps=False)
    assert set(figs) == {"unfairness", "deviation", "odds", "division-unfairness",
                         "division-odds"}
    for name, fig in figs.items():
        assert tuple(fig.get_size_inches() * fig.dpi) == (1000, 700), name
    panels = [ax for ax in figs["division-odds"].axes if ax.get_visible()]
    info = pool.lottery_info()["divisions"]
    assert [ax.get_title().split(":")[0] for ax in panels] == list(info)
    for ax, (d, v) in zip(panels, info.items()):
        assert f"{v['k']:,} seats, {v['entrants']:,} entrants" in ax.get_title()
        # the panel's boxes hold exactly that division's entrants (annotated counts)
        counts = sum(int(t.get_text().replace(",", "")) for t in ax.texts)
        assert counts == v["entrants"], d
    lines = figs["division-unfairness"].axes[0].get_lines()
    per = plotting.unfairness_by_division(pool)
    data = [ln for ln in lines if len(ln.get_xdata()) == pool.n_lotteries]
    assert len(data) == len(per)
    for ln, row in zip(data, per.values()):
        np.testing.assert_array_equal(ln.get_ydata(), row)
    plt.close("all")


def test_odds_panel_of_one_division_only_counts_its_entrants():
    pool = divided_pool(moves=False)
    labels = np.asarray(pool.division_labels(), dtype=object)
    fig, ax = plt.subplots()
    plotting.plot_odds_by_drought(pool, -1, ax, division="masters")
    entrants = int(np.count_nonzero(labels == "masters"))
    assert sum(int(t.get_text().replace(",", "")) for t in ax.texts) == entrants
    assert "division masters" in ax.get_title()
    with pytest.raises(ValueError, match="not a division"):
        plotting.plot_odds_by_drought(pool, -1, ax, division="juniors")
    plt.close("all")


def test_many_divisions_show_the_largest_and_mixed_pools():
    labels = tuple(f"d{j:02d}" for j in range(15))
    pool = divided_pool(years=2, n=1500, labels=labels)
    fig = plotting.plot_odds_by_division(pool)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == plotting.MAX_DIVISION_PANELS
    assert "largest 12 of 15" in fig.get_suptitle()
    plt.close("all")
    # an undivided lottery after divided ones: per-division lines, no odds panels
    pool.run_lottery(np.ones(pool.n_entrants), 10, seed=9)
    figs = plotting.lottery_figures(pool, heatmaps=False)
    assert "division-unfairness" in figs and "division-odds" not in figs
    with pytest.raises(ValueError, match="not drawn by division"):
        plotting.plot_odds_by_division(pool)
    plt.close("all")
    undivided = ff.LotteryPool()
    undivided.run_lottery(np.ones(10), 3, seed=1)
    assert plotting.divided_lotteries(undivided) == []
    assert "division-unfairness" not in plotting.lottery_figures(undivided)
    plt.close("all")


def test_cli_plot_lottery_writes_the_division_pictures(cli, tmp_path):
    path = tmp_path / "pool.ffl"
    divided_pool(years=3, n=400).save(path)
    code, out, err = cli("plot", "lottery", path, "--out", tmp_path / "p", "--size",
                         "900x600")
    assert code == 0, err
    names = {o.rsplit("/", 1)[-1] for o in out.split()}
    assert {"p-division-unfairness.png", "p-division-odds.png"} <= names
    for name in names:
        data = (tmp_path / name).read_bytes()[:24]
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        assert struct.unpack(">II", data[16:24]) == (900, 600), name
