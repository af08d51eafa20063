"""Pictures of a :class:`~fastfair.LotteryPool`'s history and of deficit traces.

Needs matplotlib (``pip install "fastfair[plot]"``); it is imported only when a plot
is drawn, so ``import fastfair`` never imports it.

Pictures that answer an organiser's questions at any pool size (fixed-size figures,
O(entrants x lotteries) NumPy work, nothing drawn per entrant):

* :func:`plot_deviation_histogram`: how far is everyone from the seats they deserved
  (wins minus deserved seats over entrants), against independent draws;
* :func:`plot_odds_by_drought`: what odds does an entrant get after years without a
  win (newcomers, returning losers, past winners);
* :func:`plot_unfairness_over_lotteries`: the largest ``|wins - deserved|`` after each
  lottery, against independent draws with the same deserved seats.

A pool drawn by division (docs/divisions.md) also gets per-division views:
:func:`plot_unfairness_by_division` (one line per division) and
:func:`plot_odds_by_division` (the odds picture once per division, one panel each).

The blog's per-entrant heatmaps (:func:`plot_win_probabilities`, :func:`plot_winners`,
:func:`plot_cumulative_unfairness`) draw one row per entrant: use them for a few
hundred entrants at most (:data:`HEATMAP_MAX_ENTRANTS` is what ``fastfair plot
lottery`` uses). :func:`lottery_figures` builds every picture at a fixed pixel size.
"""

from __future__ import annotations

import numbers
from typing import Any, Optional

import numpy as np
from numpy.typing import NDArray

from .lottery import LotteryPool

__all__ = [
    "HEATMAP_MAX_ENTRANTS",
    "MAX_DIVISION_PANELS",
    "divided_lotteries",
    "drought_lengths",
    "independent_draws",
    "lottery_figures",
    "plot_cumulative_unfairness",
    "plot_deficit_traces",
    "plot_deviation_histogram",
    "plot_odds_by_division",
    "plot_odds_by_drought",
    "plot_unfairness_by_division",
    "plot_unfairness_over_lotteries",
    "unfairness_by_division",
    "plot_win_probabilities",
    "plot_winners",
]

#: Largest pool for which :func:`lottery_figures` draws the per-entrant heatmaps.
HEATMAP_MAX_ENTRANTS = 300

_OURS = "#1f5fa8"
_BASE = "#d9822b"


def _pyplot() -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        msg = (
            "fastfair.plotting needs matplotlib; install the `plot` extra: "
            'python -m pip install "fastfair[plot]"'
        )
        raise ImportError(msg) from exc
    return plt


def _new_axes(ax: Optional[Any]) -> Any:
    if ax is not None:
        return ax
    _, ax = _pyplot().subplots(layout="constrained")
    return ax


def _title(ax: Any, text: str, share: float = 0.95) -> None:
    """Set a title that fits ``share`` of the figure's width (a title is centred over
    its axes: pass less when a colorbar or long tick labels narrow them), wrapped onto
    more lines when the picture is narrow, so it is never cut off at the edge."""
    import textwrap

    from matplotlib import rcParams
    from matplotlib.font_manager import FontProperties

    size_pt = FontProperties(size=rcParams["axes.titlesize"]).get_size_in_points()
    width_px = ax.figure.get_figwidth() * ax.figure.dpi
    # an average character is about 0.6 em wide
    chars = max(20, int(share * width_px / (0.6 * size_pt * ax.figure.dpi / 72)))
    ax.set_title("\n".join(textwrap.wrap(text, chars)) if len(text) > chars else text)


def _integer_ticks(axis: Any) -> None:
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))


def _lottery_index(pool: LotteryPool, t: int) -> int:
    n = pool.n_lotteries
    if isinstance(t, (bool, np.bool_)) or not isinstance(t, numbers.Integral):
        msg = f"t must be an int, got {type(t).__name__}"
        raise TypeError(msg)
    if not -n <= int(t) < n:
        msg = f"t must index one of the pool's {n} lotteries, got {t}"
        raise ValueError(msg)
    return int(t) % n


# ---- numbers behind the pictures ----------------------------------------------------


def drought_lengths(pool: LotteryPool) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """Years without a win, as seen by each lottery.

    Returns ``(lost, won_before)``, both of shape (entrants, lotteries): for lottery
    ``t``, ``lost[i, t]`` counts the earlier lotteries entrant ``i`` entered (score > 0)
    and lost since its last win (since joining, if it never won), and
    ``won_before[i, t]`` says whether it won any earlier lottery. A newcomer has
    ``lost == 0`` and ``won_before == False``; last lottery's winner has ``lost == 0``
    and ``won_before == True``. O(entrants x lotteries).
    """
    entered = pool.scores > 0
    won = pool.winners.astype(bool)
    n, n_lot = entered.shape
    lost = np.zeros((n, n_lot), dtype=np.int64)
    ever = np.zeros((n, n_lot), dtype=bool)
    run = np.zeros(n, dtype=np.int64)
    has = np.zeros(n, dtype=bool)
    for t in range(n_lot):
        lost[:, t] = run
        ever[:, t] = has
        e, w = entered[:, t], won[:, t]
        run[e & w] = 0
        run[e & ~w] += 1
        has |= w
    return lost, ever


def _systematic(p: NDArray[np.float64], rng: np.random.Generator) -> NDArray[np.bool_]:
    """One draw with marginals ``p`` (each in [0, 1]) and exactly ``round(sum p)``
    winners: systematic sampling over a random order, independent of the past."""
    order = rng.permutation(p.size)
    c = np.cumsum(p[order])
    total = c[-1] if c.size else 0.0
    k = round(float(total))
    if c.size and total > 0:
        c *= k / total  # absorb float rounding so exactly k thresholds are crossed
    u = rng.random()
    f = np.floor(c - u)
    prev = np.empty_like(f)
    if f.size:
        prev[0] = np.floor(-u)
        prev[1:] = f[:-1]
    out = np.zeros(p.size, dtype=bool)
    out[order] = f > prev
    return out


def independent_draws(
    pool: LotteryPool, runs: int = 10, seed: Any = 0
) -> NDArray[np.float64]:
    """The largest ``|wins - deserved|`` after each lottery if every lottery had been
    drawn independently of the past, with the same deserved seats as marginals.

    Each lottery draws exactly ``k`` winners by systematic sampling in a random order
    (marginals = that lottery's deserved seats, ``k * s_i / sum(s)`` capped at 1), with
    no memory of earlier wins: the baseline fastfair's fair probabilities improve on.
    ``runs`` independent histories from ``numpy.random.default_rng(seed)``.

    Returns
    -------
    numpy.ndarray, shape (runs, lotteries)
    """
    if isinstance(runs, (bool, np.bool_)) or not isinstance(runs, numbers.Integral):
        msg = f"runs must be an int, got {type(runs).__name__}"
        raise TypeError(msg)
    if not 1 <= int(runs) <= 1000:
        msg = f"runs must be in [1, 1000], got {runs}"
        raise ValueError(msg)
    rng = np.random.default_rng(seed)
    deserved = pool.deserved
    n, n_lot = deserved.shape
    out = np.zeros((int(runs), n_lot))
    cum_deserved = np.zeros(n)
    for r in range(int(runs)):
        wins = np.zeros(n)
        cum_deserved[:] = 0.0
        for t in range(n_lot):
            d = deserved[:, t]
            idx = np.flatnonzero(d > 0)
            wins[idx[_systematic(d[idx], rng)]] += 1.0
            cum_deserved += d
            out[r, t] = float(np.max(np.abs(wins - cum_deserved))) if n else 0.0
    return out


def _independent_deviation(
    pool: LotteryPool, seed: Any = 0
) -> NDArray[np.float64]:
    """``wins - deserved`` per entrant after one independent-draw history."""
    rng = np.random.default_rng(seed)
    deserved = pool.deserved
    wins = np.zeros(deserved.shape[0])
    for t in range(deserved.shape[1]):
        d = deserved[:, t]
        idx = np.flatnonzero(d > 0)
        wins[idx[_systematic(d[idx], rng)]] += 1.0
    out: NDArray[np.float64] = wins - deserved.sum(axis=1)
    return out


# ---- organiser's pictures -----------------------------------------------------------


def plot_deviation_histogram(
    pool: LotteryPool,
    ax: Optional[Any] = None,
    baseline: bool = True,
    seed: Any = 0,
    bins: int = 60,
) -> Any:
    """Histogram over entrants of wins minus deserved seats after the last lottery
    (negative: owed seats), for every member who entered at least once; with
    ``baseline`` also the same for one history of independent draws (outline).
    Returns the Axes."""
    ax = _new_axes(ax)
    ever = np.any(pool.scores > 0, axis=1) if pool.n_lotteries else np.zeros(0, bool)
    dev = pool.unfairness[ever]
    series = [("fastfair", dev, _OURS)]
    if baseline and pool.n_lotteries:
        series.append(("independent draws", _independent_deviation(pool, seed)[ever],
                       _BASE))
    lo = min((float(s.min()) for _, s, _ in series if s.size), default=-1.0)
    hi = max((float(s.max()) for _, s, _ in series if s.size), default=1.0)
    lo, hi = min(lo, -1.0), max(hi, 1.0)
    edges = np.linspace(lo, hi, int(bins) + 1)
    from matplotlib.ticker import StrMethodFormatter

    for j, (label, values, colour) in enumerate(series):
        counts, _ = np.histogram(values, bins=edges)
        if values.size:
            label = f"{label} (largest |.| {np.abs(values).max():.2f})"
        if j == 0:
            ax.stairs(counts, edges, fill=True, color=colour, alpha=0.55, label=label)
        else:
            ax.stairs(counts, edges, color=colour, linewidth=1.8, label=label)
    ax.axvline(0, color="k", linewidth=0.8)
    ax.set_xlabel("wins - deserved seats (< 0: owed seats)")
    ax.set_ylabel("entrants")
    _integer_ticks(ax.yaxis)
    ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    n_lot = pool.n_lotteries
    _title(
        ax,
        f"Wins minus deserved seats after {n_lot} lotter{'y' if n_lot == 1 else 'ies'} "
        f"({dev.size:,} entrants)"
    )
    ax.legend(loc="best", fontsize=9)
    return ax


def _box_stats(values: NDArray[np.float64], label: str) -> dict[str, Any]:
    q5, q25, q50, q75, q95 = np.percentile(values, [5, 25, 50, 75, 95])
    return {"med": q50, "q1": q25, "q3": q75, "whislo": q5, "whishi": q95,
            "mean": float(values.mean()), "fliers": [], "label": label}


def plot_odds_by_drought(pool: LotteryPool, t: int = -1, ax: Optional[Any] = None,
                         division: Optional[str] = None) -> Any:
    """Win probabilities of lottery ``t`` grouped by the lotteries each entrant
    entered without a win before it (:func:`drought_lengths`), separately for those
    who never won (0 = newcomers) and those who won before (0 = won the previous
    lottery they entered). Boxes: quartiles, whiskers: 5-95 %, dots: means.
    ``division``: only the entrants of that division of lottery ``t`` (a lottery
    drawn by division; see :func:`plot_odds_by_division`). Returns the Axes."""
    ax = _new_axes(ax)
    tt = _lottery_index(pool, t)
    lost, ever = drought_lengths(pool)
    entered = pool.scores[:, tt] > 0
    if division is not None:
        info = pool.lottery_info(tt)["divisions"]
        if not info or division not in info:
            msg = (f"division {division!r} is not a division of lottery {tt + 1} "
                   f"(its divisions: {sorted(info) if info else 'none, undivided'})")
            raise ValueError(msg)
        entered &= _member_labels(pool, tt) == division
    pi = pool.win_probabilities[:, tt]
    groups: list[tuple[bool, str, str]] = [(False, "never won before (0 = newcomers)", _OURS),
              (True, "won before (0 = won the last time)", _BASE)]
    x_max = int(lost[entered, tt].max()) if entered.any() else 0
    present = [g for g in groups if np.any(entered & (ever[:, tt] == g[0]))]
    handles = []
    for j, (won_before, label, colour) in enumerate(present):
        sel = entered & (ever[:, tt] == won_before)
        stats, pos, counts = [], [], []
        shift = 0.0 if len(present) == 1 else (j - 0.5) * 0.36
        for x in range(x_max + 1):
            vals = pi[sel & (lost[:, tt] == x)]
            if vals.size:
                stats.append(_box_stats(vals, str(x)))
                pos.append(x + shift)
                counts.append(vals.size)
        art = ax.bxp(stats, positions=pos, widths=0.3, showmeans=True,
                     patch_artist=True, manage_ticks=False,
                     boxprops={"facecolor": colour, "alpha": 0.6},
                     medianprops={"color": colour, "linewidth": 3.5},
                     meanprops={"marker": "o", "markerfacecolor": "white",
                                "markeredgecolor": "k", "markersize": 5})
        ax.plot(pos, [s["mean"] for s in stats], color=colour, linewidth=1,
                alpha=0.8)
        for xp, st, c in zip(pos, stats, counts):
            ax.annotate(f"{c:,}", (xp, st["whishi"]), textcoords="offset points",
                        xytext=(0, 4), ha="center", fontsize=7, color="#444")
        handles.append((art["boxes"][0], label))
    ax.set_xticks(range(x_max + 1))
    ax.set_xlim(-0.6, x_max + 0.6)
    ax.set_ylim(-0.03, 1.08)
    ax.set_xlabel("lotteries lost since the last win (or since joining)")
    ax.set_ylabel(f"win probability in lottery {tt + 1}")
    k = int(pool.lottery_sizes[tt]) if division is None else int(
        pool.lottery_info(tt)["divisions"][division]["k"])
    where = "" if division is None else f"division {division}, "
    _title(ax, f"Odds by years without a win: {where}lottery {tt + 1} "
                 f"({int(entered.sum()):,} entrants, {k:,} winners; numbers = entrants)")
    if handles:
        ax.legend([h for h, _ in handles], [lab for _, lab in handles],
                  loc="upper left", fontsize=9)
    else:
        ax.text(0.5, 0.5, f"nobody entered lottery {tt + 1}", transform=ax.transAxes,
                ha="center", va="center", fontsize=14, color="#666")
    return ax


def plot_unfairness_over_lotteries(
    pool: LotteryPool, ax: Optional[Any] = None, runs: int = 10, seed: Any = 0
) -> Any:
    """Largest ``|wins - deserved|`` over entrants after each lottery, for fastfair
    and for ``runs`` histories of independent draws (:func:`independent_draws`:
    median line, min-max band). Returns the Axes."""
    ax = _new_axes(ax)
    n_lot = pool.n_lotteries
    x = np.arange(1, n_lot + 1)
    dev = np.cumsum(pool.winners, axis=1, dtype=np.float64) - np.cumsum(
        pool.deserved, axis=1)
    ours = np.abs(dev).max(axis=0) if dev.size else np.zeros(n_lot)
    if n_lot:
        base = independent_draws(pool, runs=runs, seed=seed)
        ax.fill_between(x, base.min(axis=0), base.max(axis=0), color=_BASE,
                        alpha=0.25, linewidth=0)
        ax.plot(x, np.median(base, axis=0), color=_BASE, linewidth=1.8, marker="s",
                markersize=4,
                label=f"independent draws (median and range of {runs})")
    ax.plot(x, ours, color=_OURS, linewidth=2.4, marker="o", markersize=5,
            label="fastfair")
    ax.axhline(1.0, color="k", linewidth=0.8, linestyle="--")
    ax.set_xlabel("lottery")
    ax.set_ylabel("largest |wins - deserved seats|")
    _integer_ticks(ax.xaxis)
    ax.set_xlim(0.5, max(n_lot, 1) + 0.5)
    ax.set_ylim(bottom=0)
    _title(ax, f"Largest unfairness after each lottery ({pool.n_entrants:,} members)")
    ax.legend(loc="upper left", fontsize=9)
    return ax


# ---- pools drawn by division ---------------------------------------------------------


def _member_labels(pool: LotteryPool, t: int) -> NDArray[Any]:
    """Each member's division label at lottery ``t`` as an object array (None for
    members who did not enter it or an undivided lottery)."""
    return np.asarray(pool.division_labels(t), dtype=object)


def divided_lotteries(pool: LotteryPool) -> list[int]:
    """Indices of the lotteries drawn by division (empty for an undivided pool)."""
    return [t for t in range(pool.n_lotteries) if pool.lottery_info(t)["divisions"]]


def unfairness_by_division(pool: LotteryPool) -> dict[str, NDArray[np.float64]]:
    """Largest ``|wins - deserved|`` after each lottery over the entrants of each
    division of that lottery: ``{label: array of shape (lotteries,)}``, NaN after the
    lotteries where the label was not a division (labels in sorted order). The
    running totals are the entrant's own (docs/divisions.md), so an entrant is
    counted in the division it entered that lottery. O(entrants x lotteries)."""
    n_lot = pool.n_lotteries
    dev = np.abs(np.cumsum(pool.winners, axis=1, dtype=np.float64)
                 - np.cumsum(pool.deserved, axis=1))
    out: dict[str, NDArray[np.float64]] = {}
    for t in divided_lotteries(pool):
        labels = _member_labels(pool, t)
        for label in pool.lottery_info(t)["divisions"]:
            sel = labels == label
            row = out.setdefault(label, np.full(n_lot, np.nan))
            row[t] = float(dev[sel, t].max()) if sel.any() else 0.0
    return {label: out[label] for label in sorted(out)}


_DIVISION_COLOURS = ["#1f5fa8", "#d9822b", "#2e9e5b", "#b2334f", "#7a4fb0", "#8c6d31",
                     "#17a3b3", "#e377c2", "#555555", "#9c9e1e"]


def plot_unfairness_by_division(pool: LotteryPool, ax: Optional[Any] = None) -> Any:
    """One line per division: the largest ``|wins - deserved|`` after each lottery
    over that division's entrants (:func:`unfairness_by_division`), with the one-seat
    line dashed. Returns the Axes."""
    ax = _new_axes(ax)
    n_lot = pool.n_lotteries
    x = np.arange(1, n_lot + 1)
    per = unfairness_by_division(pool)
    for j, (label, row) in enumerate(per.items()):
        colour = _DIVISION_COLOURS[j % len(_DIVISION_COLOURS)]
        last = int(np.flatnonzero(np.isfinite(row))[-1])
        ax.plot(x, row, color=colour, linewidth=2.0, marker="o", markersize=4,
                label=f"{label} ({row[last]:.2f} after lottery {last + 1})")
    ax.axhline(1.0, color="k", linewidth=0.8, linestyle="--")
    ax.set_xlabel("lottery")
    ax.set_ylabel("largest |wins - deserved seats| in the division")
    _integer_ticks(ax.xaxis)
    ax.set_xlim(0.5, max(n_lot, 1) + 0.5)
    ax.set_ylim(bottom=0)
    top = max((float(np.nanmax(r)) for r in per.values() if np.isfinite(r).any()),
              default=1.0)
    ax.set_ylim(0, max(1.2, 1.15 * top))
    unlabelled = "; no legend above 12" if len(per) > 12 else ""
    _title(ax, f"Largest unfairness within each division after each lottery "
               f"({len(per)} division{'' if len(per) == 1 else 's'}{unlabelled})")
    if per and len(per) <= 12:
        ax.legend(loc="lower right", fontsize=9, title="division")
    return ax


#: Most division panels :func:`plot_odds_by_division` draws (the largest divisions).
MAX_DIVISION_PANELS = 12


def plot_odds_by_division(pool: LotteryPool, t: int = -1, fig: Optional[Any] = None) -> Any:
    """:func:`plot_odds_by_drought` of lottery ``t`` once per division, one panel
    each (at most :data:`MAX_DIVISION_PANELS`, the divisions with the most entrants),
    on a shared probability axis. Lottery ``t`` must have been drawn by division.
    Returns the Figure."""
    tt = _lottery_index(pool, t)
    info = pool.lottery_info(tt)["divisions"]
    if not info:
        msg = f"lottery {tt + 1} was not drawn by division"
        raise ValueError(msg)
    if fig is None:
        fig = _pyplot().figure(layout="constrained")
    shown = sorted(info, key=lambda d: (-int(info[d]["entrants"]), d))[
        :MAX_DIVISION_PANELS]
    shown.sort()  # code order
    cols = len(shown) if len(shown) <= 3 else int(np.ceil(np.sqrt(len(shown))))
    rows = int(np.ceil(len(shown) / cols))
    axes = np.atleast_1d(fig.subplots(rows, cols, sharey=True, squeeze=False)).ravel()
    for j, (ax, label) in enumerate(zip(axes, shown)):
        plot_odds_by_drought(pool, tt, ax, division=label)
        d = info[label]
        ax.set_title(f"{label}: {int(d['k']):,} seats, {int(d['entrants']):,} entrants",
                     fontsize=10)
        ax.set_xlabel("lotteries lost since the last win" if j // cols == rows - 1
                      else "")
        ax.set_ylabel("win probability" if j % cols == 0 else "")
        legend = ax.get_legend()
        if legend is not None and j:
            legend.remove()
        elif legend is not None:
            for text in legend.get_texts():
                text.set_fontsize(8)
    for ax in axes[len(shown):]:
        ax.set_visible(False)
    # a shared probability axis up to the largest odds shown (divisions' odds are
    # often far below 1: 40 seats among 6,000)
    labels = _member_labels(pool, tt)
    sel = (pool.scores[:, tt] > 0) & np.isin(labels, np.asarray(shown, dtype=object))
    top = float(pool.win_probabilities[sel, tt].max()) if sel.any() else 1.0
    axes[0].set_ylim(-0.03 * max(top, 0.05), min(1.08, 1.2 * max(top, 0.05)))
    more = ("" if len(shown) == len(info)
            else f"; the largest {len(shown)} of {len(info)} divisions")
    fig.suptitle(f"Odds by years without a win, per division: lottery {tt + 1} "
                 f"(numbers = entrants{more})")
    return fig


# ---- the blog's per-entrant heatmaps ------------------------------------------------


def _heatmap(
    data: NDArray[Any],
    pool: LotteryPool,
    title: str,
    ax: Optional[Any],
    annotate: bool,
    diverging: bool,
    colorbar_ticks: Optional[list[float]] = None,
    **imshow_kwargs: Any,
) -> Any:
    ax = _new_axes(ax)
    kwargs: dict[str, Any] = {"aspect": "auto", "interpolation": "nearest"}
    if diverging:
        lim = float(np.max(np.abs(data))) if data.size else 1.0
        kwargs.update(cmap="RdBu", vmin=-lim or -1.0, vmax=lim or 1.0)
    kwargs.update(imshow_kwargs)
    image = ax.imshow(data, **kwargs)
    bar = ax.figure.colorbar(image, ax=ax)
    if colorbar_ticks is not None:
        bar.set_ticks(colorbar_ticks)
    sizes = pool.lottery_sizes
    n_lot = data.shape[1] if data.ndim == 2 else 0
    if n_lot <= 20:
        ax.set_xticks(range(n_lot))
        ax.set_xticklabels([f"{t + 1}\n(k={int(k)})" for t, k in enumerate(sizes)])
    else:
        _integer_ticks(ax.xaxis)
    ax.set_xlabel("lottery")
    ids = pool.ids
    if ids is not None and 0 < data.shape[0] <= 40:
        ax.set_yticks(range(data.shape[0]))
        ax.set_yticklabels(ids, fontsize=8 if data.shape[0] > 20 else 9)
    else:
        _integer_ticks(ax.yaxis)
    ax.set_ylabel("entrant")
    _title(ax, title, share=0.6)
    if annotate:
        for (i, t), v in np.ndenumerate(data):
            ax.text(t, i, f"{v:.2g}", ha="center", va="center", fontsize=7)
    return ax


def plot_win_probabilities(
    pool: LotteryPool, ax: Optional[Any] = None, annotate: bool = False, **kwargs: Any
) -> Any:
    """Heatmap of the win probabilities (entrants x lotteries). Returns the Axes."""
    kwargs.setdefault("vmin", 0.0)
    kwargs.setdefault("vmax", 1.0)
    return _heatmap(pool.win_probabilities, pool, "Win probabilities", ax, annotate,
                    False, **kwargs)


def plot_winners(
    pool: LotteryPool, ax: Optional[Any] = None, annotate: bool = False, **kwargs: Any
) -> Any:
    """Heatmap of the winners (entrants x lotteries). Returns the Axes."""
    kwargs.setdefault("vmin", 0.0)
    kwargs.setdefault("vmax", 1.0)
    kwargs.setdefault("cmap", "Greens")
    return _heatmap(pool.winners.astype(np.float64), pool, "Lottery winners (1 = won)",
                    ax, annotate, False, colorbar_ticks=[0.0, 1.0], **kwargs)


def plot_cumulative_unfairness(
    pool: LotteryPool, ax: Optional[Any] = None, annotate: bool = False, **kwargs: Any
) -> Any:
    """Heatmap of cumulative wins minus cumulative deserved seats after each lottery
    (negative: the entrant is owed seats). Returns the Axes."""
    data = pool.winners.cumsum(axis=1) - pool.deserved.cumsum(axis=1)
    return _heatmap(data, pool, "Cumulative wins - deserved seats (negative: owed seats)",
                    ax,
                    annotate, True, **kwargs)


# ---- every picture at once ----------------------------------------------------------


def lottery_figures(
    pool: LotteryPool,
    size: tuple[int, int] = (1200, 800),
    dpi: int = 100,
    heatmaps: Optional[bool] = None,
    t: int = -1,
    runs: int = 10,
    seed: Any = 0,
) -> dict[str, Any]:
    """Every lottery picture as a matplotlib Figure of exactly ``size`` pixels at
    ``dpi`` (the figure size never depends on the number of entrants).

    Returns ``{name: Figure}`` with ``"unfairness"`` (:func:`plot_unfairness_over_
    lotteries`), ``"deviation"`` (:func:`plot_deviation_histogram`), ``"odds"``
    (:func:`plot_odds_by_drought` of lottery ``t``) and, when ``heatmaps`` is True (by
    default: at most :data:`HEATMAP_MAX_ENTRANTS` members), ``"probabilities"``,
    ``"winners"`` and ``"cumulative"``; for a pool with lotteries drawn by division
    also ``"division-unfairness"`` (:func:`plot_unfairness_by_division`) and, when
    lottery ``t`` was, ``"division-odds"`` (:func:`plot_odds_by_division`). Close
    them with ``matplotlib.pyplot.close``.
    """
    plt = _pyplot()
    if pool.n_lotteries == 0:
        msg = "the pool has no lotteries to plot"
        raise ValueError(msg)
    _lottery_index(pool, t)
    width, height = (int(v) for v in size)
    if heatmaps is None:
        heatmaps = pool.n_entrants <= HEATMAP_MAX_ENTRANTS
    figsize = (width / dpi, height / dpi)
    makers: list[tuple[str, Any]] = [
        ("unfairness", lambda ax: plot_unfairness_over_lotteries(pool, ax, runs, seed)),
        ("deviation", lambda ax: plot_deviation_histogram(pool, ax, seed=seed)),
        ("odds", lambda ax: plot_odds_by_drought(pool, t, ax)),
    ]
    if heatmaps:
        makers += [
            ("probabilities", lambda ax: plot_win_probabilities(pool, ax)),
            ("winners", lambda ax: plot_winners(pool, ax)),
            ("cumulative", lambda ax: plot_cumulative_unfairness(pool, ax)),
        ]
    figures: dict[str, Any] = {}
    for name, make in makers:
        fig, ax = plt.subplots(figsize=figsize, dpi=dpi, layout="constrained")
        make(ax)
        figures[name] = fig
    if divided_lotteries(pool):  # a pool drawn by division: its per-division views
        fig, ax = plt.subplots(figsize=figsize, dpi=dpi, layout="constrained")
        plot_unfairness_by_division(pool, ax)
        figures["division-unfairness"] = fig
        if pool.lottery_info(t)["divisions"]:
            fig = plt.figure(figsize=figsize, dpi=dpi, layout="constrained")
            figures["division-odds"] = plot_odds_by_division(pool, t, fig)
    return figures


def plot_deficit_traces(
    traces: dict[str, NDArray[np.float64]],
    bound: Optional[NDArray[np.float64]] = None,
    ax: Optional[Any] = None,
    title: str = "Largest normalised deficit",
) -> Any:
    """Largest normalised deficit after every round, one line per method, with the
    guarantee ``tau_p(t)`` of fastfair's rule as a dashed line. Returns the Axes.

    ``traces`` maps a method name to an array of shape (rounds,), e.g. the output of
    ``fastfair._traces.deficit_traces`` (what ``fastfair plot stream`` draws).
    """
    ax = _new_axes(ax)
    for name, trace in traces.items():
        rounds = np.arange(1, len(trace) + 1)
        ours = name == "fastfair"
        ax.plot(rounds, trace, label=name, linewidth=2.4 if ours else 1.2,
                zorder=3 if ours else 2)
    if bound is not None:
        ax.plot(np.arange(1, len(bound) + 1), bound, "k--", linewidth=1,
                label="fastfair's guarantee tau_p(t)")
    ax.set_xlabel("round t")
    ax.set_ylabel("max normalised deficit")
    ax.set_yscale("symlog", linthresh=1.0)
    ax.set_title(title)
    ax.legend(loc="upper left", fontsize=8)
    return ax
