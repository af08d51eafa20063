"""All-or-nothing outputs: write every output to a temporary file beside it first, then
save the pool, then rename the outputs into place.

A draw stages its outputs (``StagedOutputs.add``): each is written in full to a
temporary file in its target directory, flushed and fsynced. Any failure there (missing
directory, no permission, disk full, file-size limit) raises
:class:`~fastfair.cli.errors.NotWritableError` before the pool is touched, and the
temporary files are removed. Only then is the pool saved; renames in one directory do
not fail for lack of space, so once the pool is saved the outputs appear.

Temporary files are made by :mod:`fastfair._atomic` (``.<name>.fftmp-<pid>-<random>.tmp``,
mode and, as root, owner of the replaced file); those of killed commands are removed by
the next write to the same output, as for pool files.
"""

from __future__ import annotations

import contextlib
import glob
import os
import stat
import time
from typing import Iterator, Optional

from .._atomic import _existing, fsync_dir, make_temp, remove_stale_temps, resolve_target
from .errors import CliError, NotWritableError

_TMP_SUFFIX = ".fastfair-tmp"
"""Suffix of the temporary output files of earlier versions (``.<name>.<random>`` +
this); still removed when stale."""
STALE_SECONDS = 600.0
"""A temporary output file of the earlier naming older than this was left by a killed
command: removed."""


def same_file(a: str, b: str) -> bool:
    """Whether two paths name one file: equal real paths (symlinks, ``..``, relative
    paths) or, for existing files, the same inode (hard links)."""
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def check_output_path(out: str, what: str, *, pool: str, protected: dict[str, str]) -> None:
    """Refuse an output path that would replace the pool, its lock file or an input
    (``protected`` maps a description to a path), or that is a directory."""
    from .locking import lock_path

    guarded = {"the pool file": pool, "the pool's lock file": lock_path(pool), **protected}
    for name, path in guarded.items():
        if same_file(out, path):
            msg = f"{what} {out} is {name} ({path}); choose another output file"
            raise CliError(msg)
    if os.path.isdir(out):
        msg = f"{what} {out} is a directory; give a file name"
        raise CliError(msg)
    refuse_special_file(out, what)


def refuse_special_file(out: str, what: str = "output") -> None:
    """Refuse an existing output that is not a regular file (a device such as
    ``/dev/full``, a FIFO, a socket): renaming over it would replace it."""
    try:
        st = os.stat(out)
    except OSError:
        return
    if not stat.S_ISREG(st.st_mode):
        msg = (
            f"{what} {out} is not a regular file (a device, FIFO or socket); "
            "leave out --out to write to standard output"
        )
        raise CliError(msg)


class StagedOutputs:
    """Outputs written to temporary files now and renamed into place by :meth:`commit`.

    Use as a context manager: leaving the block without :meth:`commit` (an error, an
    interrupt) removes every temporary file, so the targets are never touched.
    """

    def __init__(self) -> None:
        self._staged: list[tuple[str, str]] = []  # (temporary, target)

    def __enter__(self) -> StagedOutputs:
        return self

    def __exit__(self, *exc: object) -> None:
        self.discard()

    def add(self, target: str, text: str, what: str = "output") -> None:
        """Write ``text`` (UTF-8, ``\\n`` line endings) to a temporary file beside
        ``target``; :class:`NotWritableError` (exit code 4) if that fails."""
        target = resolve_target(target)  # a symlinked output is written through the link
        refuse_special_file(target, what)
        remove_stale_temps(target)
        remove_stale_temporaries(target)
        tmp: Optional[str] = None
        try:
            fd, tmp = make_temp(target, _existing(target))
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as exc:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
            msg = (
                f"cannot write the {what} {target}: {exc.strerror or exc}; "
                "nothing was recorded"
            )
            raise NotWritableError(msg) from None
        except BaseException:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
            raise
        self._staged.append((tmp, target))

    def commit(self) -> None:
        """Rename every staged file over its target (and make the renames durable)."""
        while self._staged:
            tmp, target = self._staged[0]
            os.replace(tmp, target)
            self._staged.pop(0)
            fsync_dir(os.path.dirname(os.path.abspath(target)))

    def discard(self) -> None:
        """Remove every staged file that was not committed."""
        for tmp, _ in self._staged:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        self._staged.clear()

    def __iter__(self) -> Iterator[str]:
        return iter(target for _, target in self._staged)


def remove_stale_temporaries(target: str, older_than: float = STALE_SECONDS) -> int:
    """Remove the temporary files of ``target`` in the naming of earlier versions
    (``.<name>.<random>.fastfair-tmp``) that a killed command left behind (older than
    ``older_than`` seconds); return how many were removed. Temporary files of the
    current naming are removed by :func:`fastfair._atomic.remove_stale_temps`."""
    directory = os.path.dirname(os.path.abspath(target))
    pattern = os.path.join(
        glob.escape(directory), glob.escape(f".{os.path.basename(target)}.") + "*" + _TMP_SUFFIX
    )
    now, removed = time.time(), 0
    for path in glob.glob(pattern):
        with contextlib.suppress(OSError):
            if now - os.lstat(path).st_mtime > older_than:
                os.unlink(path)
                removed += 1
    return removed

