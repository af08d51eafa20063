"""Classical EF_k engine factory (used by ``OnlineAllocator(notion="efk")``).

The engine implements docs/formulas.md section 7: quality variables ``(i, j, theta)``
over a value set of ``L`` positive levels known up front, threshold deficits
``d_ijl = (c_ij^l - c_ii^l)_+`` and the p-potential rule. Whenever every deficit is
``<= tau`` the allocation is EF_floor(tau) (Lemma 5.10); ``bound()`` is tau_p(t) with
``C = 2``, ``K = n`` and ``m = n (n - 1) L``.

Item values must be 0 or one of the levels. A value matches a level when
``|v - level| <= 1e-12 * level``; it is then treated as exactly that level (for the
deficits and for ``utilities()``). Any other value is a ``ValueError``: silently adding a
new threshold mid-stream would start a quality variable at a non-zero deficit, which
breaks the guarantee (docs/formulas.md section 7).

Engines are not thread-safe; ``run`` releases the GIL, so separate engines may run in
separate threads.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from . import _core
from ._validate import as_float_vector, as_int, as_real

__all__ = ["make_efk_engine", "normalize_levels"]

_LEVEL_REL_TOL = 1e-12
#: Largest level: utilities (counts below 2**63 times levels) can never overflow.
MAX_LEVEL = 2.0**960
#: Largest ratio of the largest to the smallest level (the exact EF_k read-out).
MAX_LEVEL_SPAN = 2.0**900
#: Largest memory an engine may allocate (its per-pair arrays), 8 GiB.
MAX_ENGINE_BYTES = 8 * 1024**3


def engine_bytes(n_agents: int, n_levels: int) -> int:
    """Bytes the EF_k engine allocates for ``n_agents`` agents and ``n_levels`` levels."""
    nb = -(-n_levels // 16)
    return n_agents * n_agents * (8 * n_levels + 16 * (n_levels + 1) + 24 * nb + 17) + 64 * n_agents


def normalize_levels(levels: ArrayLike) -> np.ndarray:
    """Validates the value set and returns it sorted with exact duplicates removed.

    Parameters
    ----------
    levels : array_like, shape (L,)
        Finite, positive item values (any order; exact duplicates are dropped).

    Returns
    -------
    numpy.ndarray of float64, shape (L',), strictly increasing.

    Raises
    ------
    TypeError
        If ``levels`` is not an array of real numbers.
    ValueError
        If it is not 1-D, empty, not finite, not positive, above ``2**960`` (about
        9.7e288, so that utilities cannot overflow), spanning more than a factor
        ``2**900`` (the exact EF_k read-out), or two distinct levels are within the
        matching tolerance of each other (relative 2e-12: ambiguous).
    """
    if levels is None:
        msg = "levels must be given for notion='efk' (the positive value set)"
        raise ValueError(msg)
    arr = as_float_vector(levels, "levels")
    if arr.size == 0:
        msg = "levels must not be empty"
        raise ValueError(msg)
    if not np.all(np.isfinite(arr)):
        msg = "levels must be finite"
        raise ValueError(msg)
    if not np.all(arr > 0.0):
        msg = f"levels must be > 0 (0 is always allowed as an item value), got {arr.min()}"
        raise ValueError(msg)
    out = np.unique(arr)
    if out[-1] > MAX_LEVEL:
        msg = (f"levels must be <= 2**960 (about 9.7e288) so that utilities cannot "
               f"overflow, got {out[-1]!r}")
        raise ValueError(msg)
    if float(out[-1]) > MAX_LEVEL_SPAN * float(out[0]):  # Python floats: inf, no warning
        msg = (f"levels must span at most a factor 2**900 (about 8.5e270), got "
               f"{out[0]!r} to {out[-1]!r}")
        raise ValueError(msg)
    gaps = np.diff(out)
    close = gaps <= 2.0 * _LEVEL_REL_TOL * out[1:]
    if np.any(close):
        k = int(np.argmax(close))
        msg = (
            f"levels {out[k]!r} and {out[k + 1]!r} are closer than the matching "
            "tolerance (relative 2e-12) and would be ambiguous"
        )
        raise ValueError(msg)
    return out


def make_efk_engine(
    n_agents: int, levels: ArrayLike, p: float | None = None
) -> _core.EFkAllocator:
    """Creates the compiled EF_k engine after validating its arguments.

    Parameters
    ----------
    n_agents : int
        Number of agents, ``>= 2`` (with one agent there is nothing to envy).
    levels : array_like, shape (L,)
        The positive value set, given up front; sorted and deduplicated here.
    p : float, optional
        Potential exponent, finite and ``>= 2`` (the paper's analysis needs ``p >= 2``).
        Default ``max(2, ln(n_agents (n_agents - 1) L))``.

    Returns
    -------
    fastfair._core.EFkAllocator

    Raises
    ------
    TypeError
        If ``n_agents`` is not an integer or ``p`` is not a real number.
    ValueError
        If ``n_agents < 2``, ``levels`` is invalid (see :func:`normalize_levels`),
        ``p`` is not finite or ``< 2``, or the engine would need more than 8 GiB.
    """
    n_agents = as_int(n_agents, "n_agents", 1)
    if n_agents < 2:
        msg = f"n_agents must be >= 2 for notion='efk', got {n_agents}"
        raise ValueError(msg)
    lv = normalize_levels(levels)
    need = engine_bytes(n_agents, lv.size)
    if need > MAX_ENGINE_BYTES:
        msg = (f"an EF_k engine of {n_agents} agents and {lv.size} levels would need "
               f"{need} bytes, more than the limit of {MAX_ENGINE_BYTES} bytes (8 GiB)")
        raise ValueError(msg)
    if p is not None:
        pf = as_real(p, "p")
        if not math.isfinite(pf) or pf < 2.0:
            msg = f"p must be finite and >= 2, got {p}"
            raise ValueError(msg)
        p = pf
    return _core.EFkAllocator(int(n_agents), lv, p)
