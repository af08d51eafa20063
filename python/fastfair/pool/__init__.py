"""The auditable lottery pool, one concept per module.

* :mod:`.members` -- entrant ids and pool positions;
* :mod:`.draw` -- one lottery's draw (validate, prepare, draw, commit);
* :mod:`.divisions` -- division labels and seats of divided lotteries (docs/divisions.md);
* :mod:`.waitlist` -- waitlists and declines (docs/waitlists.md);
* :mod:`.audit` -- :class:`AuditReport` and the re-derivation of every draw;
* :mod:`.fileformat` -- the saved file (docs/pool-format.md);
* :mod:`.core` -- :class:`LotteryPool`, which composes them.

The public names are re-exported by :mod:`fastfair.lottery` and :mod:`fastfair`.
"""

from __future__ import annotations

from .audit import AuditReport
from .core import LotteryPool
from .fileformat import SAVE_MAGIC, SAVE_VERSION

__all__ = ["SAVE_MAGIC", "SAVE_VERSION", "AuditReport", "LotteryPool"]
