"""The ``fastfair`` command line: ``demo``, ``bench``, ``lottery``, ``plot`` and ``tickets``.

Every error is one line on stderr (never a traceback) and every command returns one of
these exit codes:

    0    success
    1    a check failed (``lottery verify`` found a mismatch)
    2    bad input: arguments, entrants CSV or pool file; nothing was changed
    3    the pool stayed locked by another command for ``--lock-timeout`` seconds
    4    a file (an output or the pool) could not be written; the pool is unchanged
    5    the pool is not in the expected state (``--expect-lottery``); nothing changed
    70   internal error: a bug in fastfair (the line says so; please report it)
    130  interrupted (Ctrl-C)
    141  standard output closed early (e.g. piped into ``head``)

Set ``FASTFAIR_DEBUG=1`` to see the traceback of an internal error (code 70).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import NoReturn, Optional, Sequence

from .errors import (
    EXIT_BROKEN_PIPE,
    EXIT_CODES_HELP,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    CliError,
)

__all__ = ["main"]


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line on stderr (exit status 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    from . import bench, demo, lottery, plot, tickets

    parser = OneLineParser(
        prog="fastfair",
        description="Fast, trustworthy fair decisions that repeat.",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    bench.add_parser(sub)
    lottery.add_parser(sub)
    plot.add_parser(sub)
    tickets.add_parser(sub)
    demo.add_parser(sub)
    return parser


def _command_name(args: argparse.Namespace) -> str:
    parts = [getattr(args, "command", None), getattr(args, "action", None),
             getattr(args, "what", None)]
    return " ".join(["fastfair", *[p for p in parts if isinstance(p, str)]])


def _one_line(text: str) -> str:
    return " ".join(str(text).split()) or "(no message)"


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit code.

    Errors are reported as one line on stderr; see the module docstring for the codes.
    """
    parser = _parser()
    args = parser.parse_args(argv)
    name = _command_name(args)
    try:
        return int(args.run(args))
    except CliError as exc:
        print(f"{name}: error: {_one_line(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:  # pragma: no cover - interactive only
        print(f"{name}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # the reader of stdout went away (``| head``): stop quietly, and keep Python
        # from reporting the failed flush of stdout at exit
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return EXIT_BROKEN_PIPE
    except MemoryError:
        print(f"{name}: error: out of memory (internal error {EXIT_INTERNAL})",
              file=sys.stderr)
        return EXIT_INTERNAL
    except Exception as exc:  # the catch-all: a bug, but still one line
        if os.environ.get("FASTFAIR_DEBUG"):
            raise
        print(
            f"{name}: internal error (this is a bug in fastfair, please report it with "
            f"the command line): {type(exc).__name__}: {_one_line(str(exc))}",
            file=sys.stderr,
        )
        return EXIT_INTERNAL
