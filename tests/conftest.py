"""Shared fixtures for fastfair's tests.

The command line is driven through two fixtures, so every CLI test runs it the same way:

* ``run(*args, check=True, timeout=300, **kw)``: ``python -m fastfair ARGS`` in a
  subprocess (what an organiser's shell does); with ``check`` a non-zero exit fails the
  test and shows stdout and stderr. Returns the ``CompletedProcess``.
* ``cli(*args)``: ``fastfair.cli.main(ARGS)`` in this process (faster; same exit code,
  argparse usage errors included). Returns a :class:`CliResult`
  ``(returncode, stdout, stderr)``.

``one_line_error(proc, code)`` checks that a failed command exited with ``code`` and
printed exactly one line on stderr (no traceback), and returns that line.
"""

from __future__ import annotations

import functools
import subprocess
import sys
from typing import Any, Callable, NamedTuple

import numpy as np
import pytest

FF = [sys.executable, "-m", "fastfair"]
"""The command line as a subprocess (the same interpreter as the tests)."""


class CliResult(NamedTuple):
    """The outcome of ``fastfair ARGS`` run in this process."""

    returncode: int
    stdout: str
    stderr: str


def run_fastfair(
    *args: Any, check: bool = True, timeout: float = 300, **kw: Any
) -> subprocess.CompletedProcess[str]:
    """``python -m fastfair ARGS`` in a subprocess (``kw``: ``subprocess.run``'s)."""
    proc = subprocess.run(
        [*FF, *map(str, args)], capture_output=True, text=True, timeout=timeout, **kw
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
        )
    return proc


def main_fastfair(capsys: pytest.CaptureFixture[str], *args: Any) -> CliResult:
    """``fastfair ARGS`` in this process; output captured by ``capsys``."""
    from fastfair.cli import main

    capsys.readouterr()
    try:
        code = main([str(a) for a in args])
    except SystemExit as exc:  # argparse usage errors
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    out, err = capsys.readouterr()
    return CliResult(int(code), out, err)


def one_line_error(proc: Any, code: int) -> str:
    """The single stderr line of a command that failed with exit status ``code``."""
    assert proc.returncode == code, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return str(lines[0])


@pytest.fixture
def run() -> Callable[..., subprocess.CompletedProcess[str]]:
    """The command line in a subprocess: see :func:`run_fastfair`."""
    return run_fastfair


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """The command line in this process: see :func:`main_fastfair`."""
    return functools.partial(main_fastfair, capsys)


@pytest.fixture(name="one_line_error")
def _one_line_error() -> Callable[[Any, int], str]:
    """See :func:`one_line_error`."""
    return one_line_error


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded NumPy generator so every test is reproducible."""
    return np.random.default_rng(20261124)
