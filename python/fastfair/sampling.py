"""Stateless sampling kernels: the capped-simplex projection and pipage rounding."""

from __future__ import annotations

import numbers
from typing import Optional

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _core
from ._seed import SeedLike, resolve_seed
from ._validate import as_float_vector, as_real

__all__ = ["pipage_round", "project_capped_simplex"]


def project_capped_simplex(y: ArrayLike, k: float) -> NDArray[np.float64]:
    """Euclidean projection of ``y`` onto ``{x : 0 <= x_i <= 1, sum(x) = k}``.

    The result is exact (the KKT threshold is found by an O(n) expected-time
    bracketing search, not by iterating to a tolerance): every entry lies in
    ``[0, 1]`` and the sum equals ``k`` to within a few ulps.

    Parameters
    ----------
    y : array_like, shape (n,)
        Finite real numbers.
    k : float
        Target sum, ``0 <= k <= n``.

    Returns
    -------
    numpy.ndarray of float64, shape (n,)

    Raises
    ------
    TypeError
        If ``y`` is not an array of real numbers (complex, datetime, string, object,
        structured or masked input) or ``k`` is not a real number.
    ValueError
        If ``y`` is not 1-D or not finite, or ``k`` lies outside ``[0, n]``.

    Notes
    -----
    Shift-invariant: the threshold is solved on ``y - pivot``, so inputs of any
    finite magnitude (up to 1.8e308) give the projection to within a few ulps of 1
    (``project_capped_simplex([1e16, 0], 0.5)`` is ``[0.5, 0]``). Equal entries of
    ``y`` get bit-identical entries of the result.

    Examples
    --------
    >>> import fastfair as ff
    >>> x = ff.project_capped_simplex([0.2, 2.0, 0.5], 2.0)
    >>> x.round(12).tolist(), float(x.sum())
    ([0.35, 1.0, 0.65], 2.0)
    """
    arr = as_float_vector(y, "y")
    kf = as_real(k, "k")
    return _core.project_capped_simplex(arr, kf)


def pipage_round(
    pi: ArrayLike, seed: SeedLike = None, size: Optional[int] = None
) -> NDArray[np.int8]:
    """Draw exactly ``K = sum(pi)`` winners whose marginals are ``pi``.

    Randomized pipage rounding (Karimi et al. 2017, Alg. 3) in one O(n) pass: the
    output is strictly 0/1, has exactly ``K`` ones on every draw, and
    ``E[out[i]] = pi[i]``. Entries equal to 0 or 1 are returned unchanged.

    Parameters
    ----------
    pi : array_like, shape (n,)
        Probabilities in ``[0, 1]`` whose sum is a whole number (within 1e-9; a
        fractional sum is an error, never silently rounded).
    seed : int, numpy.random.Generator or None
        An int in ``[0, 2**64)`` seeds fastfair's portable generator (same draws on
        every platform); a Generator or None first draws a 64-bit seed.
    size : int, optional
        Number of independent draws. ``None`` returns one draw of shape ``(n,)``;
        an int ``s >= 0`` returns shape ``(s, n)``.

    Returns
    -------
    numpy.ndarray of int8, shape (n,) or (size, n)

    Raises
    ------
    TypeError
        ``pi`` is not an array of real numbers, or ``size``/``seed`` has a wrong type.
    ValueError
        Bad shape, NaN, entries outside ``[0, 1]``, a non-integer sum, ``size < 0``,
        an output of more than 8 GiB, or a seed out of range. Every check happens
        before a seed is drawn: a failed call never advances a Generator.

    Examples
    --------
    >>> import fastfair as ff
    >>> w = ff.pipage_round([0.1, 0.3, 0.4, 0.8, 0.4], seed=7)
    >>> int(w.sum())
    2
    """
    arr = as_float_vector(pi, "pi")
    if size is None:
        n_draws = -1
    else:
        if isinstance(size, (bool, np.bool_)) or not isinstance(size, numbers.Integral):
            msg = f"size must be an int or None, got {type(size).__name__}"
            raise TypeError(msg)
        n_draws = int(size)
        if n_draws < 0:
            msg = f"size must be >= 0, got {n_draws}"
            raise ValueError(msg)
        if n_draws * max(arr.size, 1) > _MAX_OUTPUT_BYTES:
            msg = (f"size={n_draws} draws of {arr.size} entries would need "
                   f"{n_draws * arr.size} bytes, more than the limit of "
                   f"{_MAX_OUTPUT_BYTES} bytes (8 GiB)")
            raise ValueError(msg)
    # validate everything before a seed is drawn (a Generator must not advance); an
    # int seed draws nothing, and _core.pipage_round validates pi itself
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral):
        _core.pipage_check(arr, n_draws)
    return _core.pipage_round(arr, resolve_seed(seed), n_draws)


#: Largest output pipage_round allocates (int8 entries), 8 GiB.
_MAX_OUTPUT_BYTES = 8 * 1024**3

