"""One lottery's draw: validate ``k``, prepare the fair probabilities, draw, commit."""

from __future__ import annotations

import numbers
from typing import Any, Callable

import numpy as np
from numpy.typing import NDArray

from .._seed import SeedLike, resolve_seed


def as_count(k: Any, name: str = "k") -> int:
    """A whole number of winners: an int, or a float with an integral value."""
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, numbers.Real):
        msg = f"{name} must be an int, got {type(k).__name__}"
        raise TypeError(msg)
    if isinstance(k, numbers.Integral):
        value = int(k)
    else:
        kf = float(k)
        if not np.isfinite(kf) or kf != int(kf):
            msg = f"{name} must be a whole number of winners, got {kf}"
            raise ValueError(msg)
        value = int(kf)
    if not 0 <= value < 2**62:
        msg = f"{name} must be >= 0 (and a sane number of winners), got {value}"
        raise ValueError(msg)
    return value


def preview(core: Any, full: NDArray[np.float64], k: Any) -> NDArray[np.float64]:
    """The fair probabilities of a lottery with scores ``full`` (pool order); no draw."""
    return core.preview(full, as_count(k))


def draw(
    core: Any,
    full: NDArray[np.float64],
    k: Any,
    seed: SeedLike,
    before_commit: Callable[[], None],
) -> NDArray[np.int8]:
    """Prepare, draw and commit one lottery on ``core``; returns the winners.

    Everything is validated (``k``, scores, seed) before the state changes;
    ``before_commit`` runs after the draw and before the commit (e.g. to warn).
    """
    kk = as_count(k)
    core.prepare(full, kk)  # validates; the state is untouched until commit
    seed_value = resolve_seed(seed)
    winners = core.draw(seed_value)
    before_commit()
    core.commit()
    return winners
