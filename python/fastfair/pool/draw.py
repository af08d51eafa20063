"""One lottery's draw: validate ``k``, prepare the fair probabilities, draw, commit."""

from __future__ import annotations

import numbers
from typing import Any, Callable, Optional

import numpy as np
from numpy.typing import NDArray

from .._seed import StrSeedLike, resolve_seed, seed_from_string
from .divisions import DivisionPlan
from .members import Entries


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


def _prepare(core: Any, entries: Entries, k: int, preview: bool = False,
             divisions: Optional[DivisionPlan] = None) -> Any:
    extra: tuple[Any, ...] = ()
    if divisions is not None:  # codes per row of the dense scores, or per entry
        codes = divisions.codes if entries.dense is not None else divisions.codes[entries.rows]
        extra = (np.ascontiguousarray(codes, dtype=np.uint16), divisions.seats)
    if entries.dense is not None:
        return (core.preview if preview else core.prepare)(entries.dense, k, *extra)
    fn = core.preview_sparse if preview else core.prepare_sparse
    return fn(entries.positions, entries.scores, entries.n_total, k, *extra)


def preview(core: Any, entries: Entries, k: Any,
            divisions: Optional[DivisionPlan] = None) -> NDArray[np.float64]:
    """The fair probabilities of a lottery (in the caller's row order); no draw.
    With ``divisions``, ``k`` is ignored (the plan holds the seats)."""
    kk = divisions.k if divisions is not None else as_count(k)
    return entries.to_rows(_prepare(core, entries, kk, preview=True, divisions=divisions))


def draw(
    core: Any,
    entries: Entries,
    k: Any,
    seed: StrSeedLike,
    before_commit: Callable[[], None],
    divisions: Optional[DivisionPlan] = None,
) -> tuple[NDArray[np.int8], Optional[str]]:
    """Prepare, draw and commit one lottery on ``core``.

    Everything is validated (``k``, scores, seed) before the state changes;
    ``before_commit`` runs after the draw and before the commit (e.g. to warn).
    Returns the winners (in the caller's row order) and the seed string (None
    unless ``seed`` was a str). With ``divisions`` (a checked plan), ``k`` is ignored.
    """
    kk = divisions.k if divisions is not None else as_count(k)
    seed_string = seed if isinstance(seed, str) else None
    if seed_string is not None:
        seed_value = seed_from_string(seed_string)
    _prepare(core, entries, kk, divisions=divisions)  # validates; the state is untouched until commit
    if seed_string is None:  # a Generator is advanced only once the input is valid
        seed_value = resolve_seed(seed)  # type: ignore[arg-type]
    winners = core.draw(seed_value)
    before_commit()
    core.commit()
    return entries.to_rows(winners), seed_string
