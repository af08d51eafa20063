"""Ticket hats: exact odds (:func:`ticket_odds`) and the draw (:func:`draw_tickets`).

A ticket hat (Western States, Hardrock and many ultras) draws tickets one at a time;
a drawn entrant's other tickets are removed. That is successive sampling without
replacement with weights = tickets, and it is the order of independent exponential
clocks ``X_j ~ Exp(tickets_j)``. The method and its error bound: docs/tickets.md.
"""

from __future__ import annotations

from typing import Any, Literal, Union, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _core
from ._seed import SeedLike, resolve_seed
from ._validate import as_float_vector, as_int

__all__ = ["draw_tickets", "ticket_odds"]


def _check(tickets: ArrayLike, k: Any, waitlist: Any) -> tuple[NDArray[np.float64], int, int]:
    arr = as_float_vector(tickets, "tickets")
    k_ = as_int(k, "k", 0)
    m_ = as_int(waitlist, "waitlist", 0)
    if arr.size and not np.all(np.isfinite(arr)):
        bad = int(np.flatnonzero(~np.isfinite(arr))[0])
        msg = f"tickets must be finite, got {arr[bad]} at index {bad}"
        raise ValueError(msg)
    if arr.size and np.any(arr < 0):
        bad = int(np.flatnonzero(arr < 0)[0])
        msg = f"tickets must be >= 0 (0 = not entered), got {arr[bad]} at index {bad}"
        raise ValueError(msg)
    entered = int(np.count_nonzero(arr))
    if k_ + m_ > entered:
        msg = (f"k + waitlist must be at most the number of entrants with tickets > 0 "
               f"({entered}), got k = {k_}, waitlist = {m_}")
        raise ValueError(msg)
    return arr, k_, m_


@overload
def ticket_odds(
    tickets: ArrayLike, k: int, waitlist: int = 0, *,
    return_info: Literal[False] = False,
) -> NDArray[np.float64]: ...


@overload
def ticket_odds(
    tickets: ArrayLike, k: int, waitlist: int = 0, *, return_info: Literal[True],
) -> tuple[NDArray[np.float64], dict[str, Any]]: ...


def ticket_odds(
    tickets: ArrayLike, k: int, waitlist: int = 0, *, return_info: bool = False
) -> Union[NDArray[np.float64], tuple[NDArray[np.float64], dict[str, Any]]]:
    """Exact odds of a ticket hat: ``P(entrant i is among the first k drawn)``.

    Tickets are drawn one at a time with probability proportional to tickets; a
    drawn entrant's remaining tickets leave the hat (successive sampling without
    replacement, as ``numpy.random.Generator.choice(replace=False, p=...)``). The
    probabilities are computed, not simulated: the exponential-clock integral
    ``int_0^inf w_i e^(-w_i t) P(N_-i(t) <= k-1) dt`` by adaptive Gauss-Kronrod, with
    the distribution of ``N(t)`` by FFT at each node (docs/tickets.md derives the error
    bound; every entry is within about 1e-13 of the exact value).

    Parameters
    ----------
    tickets : array_like, shape (n,)
        Tickets per entrant: finite reals >= 0 (0 = not entered; integers or not).
        The largest positive count may be at most 1e200 times the smallest.
    k : int
        Number of entrants drawn, ``0 <= k``.
    waitlist : int, default 0
        ``m > 0`` gives ``P(drawn within the first k + m)`` (place or waitlist);
        ``k + m`` must not exceed the number of entrants.
    return_info : bool, keyword-only
        Also return a dict: ``raw_sum`` (the sum before the final rescale),
        ``error_bound`` (bound on ``|raw_sum - (k + m)|``), ``max_entry_error``,
        ``nodes``, ``intervals``, ``classes`` (distinct ticket counts).

    Returns
    -------
    numpy.ndarray of float64, shape (n,)
        Sums to ``k + waitlist`` (within 1e-12, or one ulp of it when larger); 0 for
        entrants with 0 tickets. The raw result is rescaled to that sum only when its
        deviation is within the proven error bound (otherwise RuntimeError: a bug to
        report).

    Raises
    ------
    TypeError
        Non-real dtypes (complex, string, object, masked), or non-int ``k``/``waitlist``.
    ValueError
        Not 1-D, NaN/inf or negative tickets, ``k < 0``, ``waitlist < 0``,
        ``k + waitlist`` above the number of entrants, ticket ratio above 1e200.

    Examples
    --------
    >>> import fastfair as ff
    >>> pi = ff.ticket_odds([1, 1, 2, 4], 2)
    >>> pi.round(6).tolist(), round(float(pi.sum()), 12)
    ([0.309524, 0.309524, 0.571429, 0.809524], 2.0)
    """
    arr, k_, m_ = _check(tickets, k, waitlist)
    pi, info = _core.ticket_odds(arr, k_, m_)
    if return_info:
        return pi, dict(info)
    return pi


def draw_tickets(
    tickets: ArrayLike, k: int, seed: SeedLike = None, waitlist: int = 0
) -> NDArray[np.int64]:
    """Draw a ticket hat: the ``k`` winners in draw order, then the waitlist.

    The hat by its clocks: entrant ``j`` gets ``X_j = E_j / tickets_j`` with
    ``E_j ~ Exp(1)`` from fastfair's portable generator (one 64-bit word per index
    ``0..n-1``, entrants with 0 tickets included, ``E = -log(1 - uniform01)``), and the
    ``k + waitlist`` smallest clocks in increasing order are the draw (ties: lower
    index). The law is exactly that of drawing tickets one at a time; O(n + k log k).

    Parameters
    ----------
    tickets : array_like, shape (n,)
        Tickets per entrant, finite reals >= 0 (0 = not entered).
    k : int
        Number of winners.
    seed : int, numpy.random.Generator or None
        An int in ``[0, 2**64)`` seeds fastfair's generator directly (same draw on
        every platform with the same libm ``log``); a Generator or None first draws a
        64-bit seed (same rules as everywhere in fastfair).
    waitlist : int, default 0
        Number of further entrants drawn, in order, after the winners.

    Returns
    -------
    numpy.ndarray of int64, shape (k + waitlist,)
        Entrant indices: ``out[:k]`` the winners in draw order, ``out[k:]`` the
        waitlist in order.

    Raises
    ------
    TypeError, ValueError
        As :func:`ticket_odds` (without the ratio limit: any finite positive ticket
        counts work), and a bad ``seed``.

    Examples
    --------
    >>> import fastfair as ff
    >>> order = ff.draw_tickets([1, 0, 2, 4, 8], 2, seed=3, waitlist=1)
    >>> len(order), 1 in order.tolist()
    (3, False)
    """
    arr, k_, m_ = _check(tickets, k, waitlist)
    return _core.draw_tickets(arr, k_, m_, resolve_seed(seed))
