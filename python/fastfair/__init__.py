"""fastfair: fast, trustworthy fair decisions that repeat.

Online fair allocation that stays fair at every round of an endless stream, and
repeated lotteries that stay fair across draws, on a C++17 core.
"""

from __future__ import annotations

from importlib import metadata as _metadata

try:
    from . import _core
except ImportError as _exc:  # pragma: no cover - only on a broken install
    _msg = (
        "fastfair's compiled extension (fastfair._core) could not be imported: "
        "install the package with `python -m pip install .` rather than running it "
        "from the source tree."
    )
    raise ImportError(_msg) from _exc

from .lottery import LotteryPool, fair_probabilities
from . import baselines
from .allocation import OnlineAllocator, PublicDecisionMaker
from .sampling import pipage_round, project_capped_simplex
from .tickets import draw_tickets, ticket_odds
from . import interop

try:
    __version__: str = _metadata.version("fastfair")
except _metadata.PackageNotFoundError:  # pragma: no cover
    __version__ = _core.__version__

__all__ = [
    "OnlineAllocator",
    "PublicDecisionMaker",
    "__version__",
    "LotteryPool",
    "fair_probabilities",
    "baselines",
    "interop",
    "pipage_round",
    "project_capped_simplex",
    "ticket_odds",
    "draw_tickets",
]


def __dir__() -> list[str]:
    return list(__all__)
