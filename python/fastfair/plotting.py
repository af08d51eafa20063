"""Optional heatmaps of a :class:`~fastfair.LotteryPool`'s history (as in the blog).

Needs matplotlib (``pip install "fastfair[plot]"``); it is imported only when a plot
is drawn, so ``import fastfair`` never imports it.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
from numpy.typing import NDArray

from .lottery import LotteryPool

__all__ = [
    "plot_cumulative_unfairness",
    "plot_deficit_traces",
    "plot_win_probabilities",
    "plot_winners",
]


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


def _heatmap(
    data: NDArray[Any],
    pool: LotteryPool,
    title: str,
    ax: Optional[Any],
    annotate: bool,
    diverging: bool,
    **imshow_kwargs: Any,
) -> Any:
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots()
    kwargs: dict[str, Any] = {"aspect": "auto", "interpolation": "nearest"}
    if diverging:
        lim = float(np.max(np.abs(data))) if data.size else 1.0
        kwargs.update(cmap="RdBu", vmin=-lim or -1.0, vmax=lim or 1.0)
    kwargs.update(imshow_kwargs)
    image = ax.imshow(data, **kwargs)
    ax.figure.colorbar(image, ax=ax)
    sizes = pool.lottery_sizes
    ax.set_xticks(range(data.shape[1]))
    ax.set_xticklabels([f"Lot. {t + 1}\n({int(k)})" for t, k in enumerate(sizes)])
    ax.set_ylabel("Entrant")
    ax.set_title(title)
    if annotate:
        for (i, t), v in np.ndenumerate(data):
            ax.text(t, i, f"{v:.2g}", ha="center", va="center", fontsize=7)
    return ax


def plot_win_probabilities(
    pool: LotteryPool, ax: Optional[Any] = None, annotate: bool = False, **kwargs: Any
) -> Any:
    """Heatmap of the win probabilities (entrants x lotteries). Returns the Axes."""
    return _heatmap(pool.win_probabilities, pool, "Win probabilities", ax, annotate,
                    False, **kwargs)


def plot_winners(
    pool: LotteryPool, ax: Optional[Any] = None, annotate: bool = False, **kwargs: Any
) -> Any:
    """Heatmap of the winners (entrants x lotteries). Returns the Axes."""
    return _heatmap(pool.winners.astype(np.float64), pool, "Lottery winners", ax,
                    annotate, False, **kwargs)


def plot_cumulative_unfairness(
    pool: LotteryPool, ax: Optional[Any] = None, annotate: bool = False, **kwargs: Any
) -> Any:
    """Heatmap of cumulative wins minus cumulative deserved seats after each lottery
    (negative: the entrant is owed seats). Returns the Axes."""
    data = pool.winners.cumsum(axis=1) - pool.deserved.cumsum(axis=1)
    return _heatmap(data, pool, "Cumulative unfairness (wins - deserved)", ax,
                    annotate, True, **kwargs)


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
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots()
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
