"""Fair repeated lotteries: fair win probabilities and an auditable lottery pool.

The fairness objective is the one of the fair-repeated-lotteries blog (after Bailey
Flanigan): before lottery ``T`` choose the win probabilities ``pi`` minimising

    || (cumulative deserved seats, lottery T included) - (wins so far) - pi ||_2

over ``{0 <= pi_i <= 1, sum pi = k}``, restricted to the entrants of lottery ``T``
(score > 0; everyone else gets exactly 0). The minimiser is one exact Euclidean
projection onto the capped simplex, computed in O(n) by the C++ core; the winners are
then drawn by randomized pipage rounding (exactly ``k`` winners, marginals ``pi``).
"""

from __future__ import annotations

import numbers
import warnings
from dataclasses import dataclass
from typing import Any, Literal, Optional, Union, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _core, _pandas
from ._validate import as_float_vector
from .pool import SAVE_MAGIC, SAVE_VERSION, AuditReport, LotteryPool

__all__ = ["AuditReport", "LotteryPool", "SolverInfo", "fair_probabilities"]

# The pool itself lives in :mod:`fastfair.pool`; re-exported here unchanged.
_REEXPORTED = (SAVE_MAGIC, SAVE_VERSION, AuditReport, LotteryPool)


@dataclass(frozen=True)
class SolverInfo:
    """How :func:`fair_probabilities` solved the problem.

    Attributes
    ----------
    solver : str
        ``"exact"`` or ``"pgd"``.
    iterations : int
        Projected-gradient iterations (0 for the exact solver).
    converged : bool
        Whether the stopping rule was met (always True for the exact solver).
    last_change : float
        Largest change of a probability in the last iteration (0 for ``"exact"``).

    Items are also readable as ``info["converged"]``.
    """

    solver: str
    iterations: int
    converged: bool
    last_change: float

    def __getitem__(self, key: str) -> Any:
        return getattr(self, key)


Solver = Literal["exact", "pgd"]


@overload
def fair_probabilities(
    deserved: ArrayLike,
    received: ArrayLike,
    k: float,
    eligible: Optional[ArrayLike] = ...,
    solver: Solver = ...,
    *,
    return_info: Literal[False] = ...,
    start: Optional[ArrayLike] = ...,
    step: float = ...,
    tol: float = ...,
    max_iter: int = ...,
) -> NDArray[np.float64]: ...
@overload
def fair_probabilities(
    deserved: ArrayLike,
    received: ArrayLike,
    k: float,
    eligible: Optional[ArrayLike] = ...,
    solver: Solver = ...,
    *,
    return_info: Literal[True],
    start: Optional[ArrayLike] = ...,
    step: float = ...,
    tol: float = ...,
    max_iter: int = ...,
) -> tuple[NDArray[np.float64], SolverInfo]: ...
@overload
def fair_probabilities(
    deserved: ArrayLike,
    received: ArrayLike,
    k: float,
    eligible: Optional[ArrayLike] = ...,
    solver: Solver = ...,
    *,
    return_info: bool,
    start: Optional[ArrayLike] = ...,
    step: float = ...,
    tol: float = ...,
    max_iter: int = ...,
) -> Union[NDArray[np.float64], tuple[NDArray[np.float64], SolverInfo]]: ...
def fair_probabilities(
    deserved: ArrayLike,
    received: ArrayLike,
    k: float,
    eligible: Optional[ArrayLike] = None,
    solver: Solver = "exact",
    *,
    return_info: bool = False,
    start: Optional[ArrayLike] = None,
    step: float = 1.0,
    tol: float = 1e-10,
    max_iter: int = 10_000,
) -> Union[NDArray[np.float64], tuple[NDArray[np.float64], SolverInfo]]:
    """Win probabilities that minimise the blog's unfairness objective.

    Minimises ``|| deserved - received - pi ||_2`` over ``0 <= pi <= 1``,
    ``sum(pi) = k``, with ``pi_i = 0`` exactly for every non-eligible entrant.

    Parameters
    ----------
    deserved : array_like, shape (n,)
        Cumulative deserved seats, the coming lottery included (finite, >= 0).
    received : array_like, shape (n,)
        Seats received (wins) so far (finite, >= 0).
    k : float
        Number of seats of the coming lottery, ``0 <= k <= number of eligible``.
    eligible : array_like of bool, shape (n,), optional
        Who entered this lottery (default: everyone). Others get probability 0.
    solver : {"exact", "pgd"}
        ``"exact"``: one exact projection onto the capped simplex (O(n)).
        ``"pgd"``: the blog's projected gradient descent on the squared objective
        (gradient ``pi - target``, L = 1) with its sort-based simplex-clip projection,
        in C++; a cross-check and baseline.
    return_info : bool
        Also return a :class:`SolverInfo` (iterations, converged).
    start : array_like, shape (n,), optional
        PGD start (default: ``k / #eligible`` for every eligible entrant).
    step : float
        PGD step size in ``(0, 1]``; 1 (= 1/L) converges in one step, smaller steps
        contract the error by ``1 - step`` per iteration.
    tol : float
        PGD stops once no probability changes by more than ``tol``.
    max_iter : int
        PGD iteration limit. Without ``return_info`` a PGD run that hits it emits a
        :class:`RuntimeWarning`.

    Returns
    -------
    pi : numpy.ndarray of float64, shape (n,)
        A pandas Series with the same index instead, when ``deserved`` or
        ``received`` is one (Series arguments must share one index).
    info : SolverInfo
        Only with ``return_info=True``.

    Raises
    ------
    ValueError
        Wrong shapes, NaN/inf or negative values, ``k`` outside
        ``[0, #eligible]``, unknown ``solver``, bad PGD parameters.

    Examples
    --------
    >>> import fastfair as ff
    >>> ff.fair_probabilities([0.3, 0.5, 0.9, 0.1], [0, 0, 0, 0], 2).round(3).tolist()
    [0.35, 0.55, 0.95, 0.15]
    """
    series = _pandas.common_series(deserved, received, eligible, start)
    d = as_float_vector(_pandas.unwrap(deserved)[0], "deserved")
    r = as_float_vector(_pandas.unwrap(received)[0], "received")
    eligible = _pandas.unwrap(eligible)[0]
    start = _pandas.unwrap(start)[0]
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, numbers.Real):
        msg = f"k must be a real number, got {type(k).__name__}"
        raise TypeError(msg)
    if not isinstance(solver, str):
        msg = f"solver must be 'exact' or 'pgd', got {solver!r}"
        raise TypeError(msg)
    el = None
    if eligible is not None:
        el_arr = np.asarray(eligible)
        if el_arr.ndim != 1:
            msg = f"eligible must be a 1-dimensional array, got shape {el_arr.shape}"
            raise ValueError(msg)
        if el_arr.dtype != np.bool_ and not (
            el_arr.dtype.kind in "iuf" and np.isin(el_arr, (0, 1)).all()
        ):
            msg = "eligible must be a boolean mask (True/False or 1/0)"
            raise ValueError(msg)
        el = el_arr.astype(np.uint8)
    start_arr = None if start is None else as_float_vector(start, "start")
    if isinstance(max_iter, (bool, np.bool_)) or not isinstance(max_iter, numbers.Integral):
        msg = f"max_iter must be an int, got {type(max_iter).__name__}"
        raise TypeError(msg)
    pi, iterations, converged, last_change = _core.fair_probabilities(
        d, r, float(k), el, solver, start_arr, float(step), float(tol), int(max_iter)
    )
    info = SolverInfo(solver, int(iterations), bool(converged), float(last_change))
    pi = _pandas.rewrap(pi, series)
    if return_info:
        return pi, info
    if not converged:
        msg = (
            f"solver='pgd' stopped at max_iter={max_iter} before converging "
            f"(last change {last_change:.3g} > tol {tol:.3g}); use solver='exact'"
        )
        warnings.warn(msg, RuntimeWarning, stacklevel=2)
    return pi
