"""One writer per pool: an exclusive lock on ``POOL.lock`` for every command that changes
a pool.

The lock is an ``fcntl.flock`` on a lock file beside the pool (beside the symlink's
target when the pool path is a symlink, so every path to one pool shares one lock). A
command waits at most ``--lock-timeout`` seconds (default :data:`DEFAULT_LOCK_TIMEOUT`)
for the lock, then fails with exit code 3 and nothing changed. The lock is held from
loading the pool until its new version and every output are in place, so no lottery is
ever lost to a concurrent draw. The kernel releases the lock when the process ends, even
after ``kill -9``: a crashed command never leaves a pool locked. The lock file itself is
left in place (deleting it while another process waits on it would break the lock); it
holds the process id of the last holder.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import stat
import time
from typing import Iterator

from .errors import CliError, NotWritableError, PoolLockedError

try:
    import fcntl
except ImportError:  # pragma: no cover - non-POSIX platforms
    fcntl = None  # type: ignore[assignment]

DEFAULT_LOCK_TIMEOUT = 30.0
"""Seconds a command waits for another command's lock on the same pool."""


def lock_timeout(text: str) -> float:
    """``argparse`` type of ``--lock-timeout``: a finite number of seconds >= 0."""
    try:
        value = float(text)
    except ValueError:
        msg = f"expected a number of seconds, got {text!r}"
        raise argparse.ArgumentTypeError(msg) from None
    if not math.isfinite(value) or value < 0:
        msg = f"expected a finite number of seconds >= 0, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return value


def add_lock_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--lock-timeout SECONDS`` to a command that changes a pool."""
    parser.add_argument(
        "--lock-timeout", type=lock_timeout, default=DEFAULT_LOCK_TIMEOUT,
        metavar="SECONDS",
        help="wait at most this long for another command on the same pool to finish "
             f"(default {DEFAULT_LOCK_TIMEOUT:g}; 0: do not wait); then exit with code 3",
    )


def lock_path(pool_path: str) -> str:
    """The lock file of a pool: ``POOL.lock`` beside the pool file (its real path)."""
    return os.path.realpath(os.fspath(pool_path)) + ".lock"


def _holder(path: str) -> str:
    try:
        with open(path, encoding="ascii", errors="replace") as fh:
            pid = fh.read(32).strip()
    except OSError:
        return ""
    return f" (held by process {pid})" if pid.isdigit() else ""


@contextlib.contextmanager
def pool_lock(pool_path: str, timeout: float = DEFAULT_LOCK_TIMEOUT) -> Iterator[str]:
    """Hold the exclusive lock of ``pool_path`` for the ``with`` block.

    Waits up to ``timeout`` seconds (polling), then raises :class:`PoolLockedError`
    (exit code 3). A lock file that cannot be created is a :class:`NotWritableError`
    (exit code 4): the pool's directory is then not writable either. Yields the lock
    file's path.
    """
    path = lock_path(pool_path)
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, 0o666)
    except OSError as exc:
        msg = f"cannot create the lock file {path}: {exc.strerror or exc}"
        raise NotWritableError(msg) from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            msg = f"the lock file {path} is not a regular file"
            raise CliError(msg)
        _acquire(fd, path, timeout)
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        yield path
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _acquire(fd: int, path: str, timeout: float) -> None:
    if fcntl is None:  # pragma: no cover - non-POSIX platforms
        _acquire_windows(fd, path, timeout)
        return
    deadline = time.monotonic() + timeout
    pause = 0.005
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass
        except OSError as exc:
            msg = f"cannot lock {path}: {exc.strerror or exc}"
            raise NotWritableError(msg) from None
        left = deadline - time.monotonic()
        if left <= 0:
            raise _locked(path, timeout)
        time.sleep(min(pause, left))
        pause = min(pause * 2, 0.1)


def _locked(path: str, timeout: float) -> PoolLockedError:
    pool = path[: -len(".lock")]
    return PoolLockedError(
        f"pool {pool} is locked by another fastfair command{_holder(path)}; waited "
        f"{timeout:g} s (--lock-timeout), nothing was changed; try again later"
    )


def _acquire_windows(fd: int, path: str, timeout: float) -> None:  # pragma: no cover
    import msvcrt

    deadline = time.monotonic() + timeout
    while True:
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined,unused-ignore]
            return
        except OSError:
            if time.monotonic() >= deadline:
                raise _locked(path, timeout) from None
            time.sleep(0.05)

