"""The ``fastfair`` command line: ``bench``, ``lottery`` and ``plot``.

Every command returns an exit status: 0 on success, 1 when a check fails (``lottery
verify``), 2 on bad input (a clear message on stderr, never a traceback).
"""

from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence

from .errors import CliError

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    from . import bench, demo, lottery, plot

    parser = argparse.ArgumentParser(
        prog="fastfair",
        description="Fast, trustworthy fair decisions that repeat.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    bench.add_parser(sub)
    lottery.add_parser(sub)
    plot.add_parser(sub)
    demo.add_parser(sub)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``)."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except CliError as exc:
        print(f"fastfair {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # pragma: no cover - interactive only
        print(f"fastfair {args.command}: interrupted", file=sys.stderr)
        return 130
