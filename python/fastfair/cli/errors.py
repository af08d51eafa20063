"""The one exception type the command line turns into a clean error message."""

from __future__ import annotations


class CliError(Exception):
    """Bad input to a command: reported on stderr with exit status 2."""
