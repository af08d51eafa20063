"""The exceptions the command line turns into one clean line on stderr and an exit code.

Exit codes (the table in ``fastfair --help`` and the README "Exit codes" section):

    0    success
    1    a check failed (``lottery verify`` found a mismatch)
    2    bad input: arguments, entrants CSV, pool file (nothing was changed)
    3    the pool is locked by another command and stayed locked for --lock-timeout
    4    a file could not be written (an output or the pool); the pool is unchanged
    5    the pool is not in the expected state (``--expect-lottery``); nothing changed
    70   internal error: a bug in fastfair (please report it with the command line)
    130  interrupted (Ctrl-C)
    141  standard output was closed early (e.g. piped into ``head``)
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_LOCKED = 3
EXIT_NOT_WRITABLE = 4
EXIT_UNEXPECTED_STATE = 5
EXIT_INTERNAL = 70
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141

EXIT_CODES_HELP = """\
exit codes:
  0    success
  1    a check failed (lottery verify found a mismatch)
  2    bad input: arguments, entrants CSV or pool file; nothing was changed
  3    the pool stayed locked by another command for --lock-timeout seconds
  4    a file (an output or the pool) could not be written; the pool is unchanged
  5    the pool is not in the expected state (--expect-lottery); nothing changed
  70   internal error: a bug in fastfair, please report it
  130  interrupted (Ctrl-C)
  141  standard output closed early (e.g. piped into head)
"""


class CliError(Exception):
    """Bad input to a command: one line on stderr, exit status 2 (or ``exit_code``)."""

    exit_code: int = EXIT_BAD_INPUT


class PoolLockedError(CliError):
    """Another command held the pool's lock for longer than ``--lock-timeout``."""

    exit_code = EXIT_LOCKED


class NotWritableError(CliError):
    """An output file or the pool could not be written; nothing was published."""

    exit_code = EXIT_NOT_WRITABLE


class UnexpectedStateError(CliError):
    """The pool does not hold the number of lotteries the caller expected."""

    exit_code = EXIT_UNEXPECTED_STATE
