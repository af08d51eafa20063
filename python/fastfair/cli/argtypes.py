"""``argparse`` types that turn a bad number into a one-line usage error (exit code 2)."""

from __future__ import annotations

import argparse


def whole_number(text: str) -> int:
    """Any integer (range checks are left to the command)."""
    try:
        return int(text)
    except ValueError:
        msg = f"expected a whole number, got {text!r}"
        raise argparse.ArgumentTypeError(msg) from None


def positive_int(text: str) -> int:
    """An integer >= 1."""
    value = whole_number(text)
    if value < 1:
        msg = f"expected a whole number >= 1, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return value


def seed_int(text: str) -> int:
    """A seed: an integer in [0, 2**64)."""
    msg = f"must be an integer in [0, 2**64), got {text}"
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(msg) from None
    if not 0 <= value < 2**64:
        raise argparse.ArgumentTypeError(msg)
    return value
