"""Atomic file replacement: a file is either the old one or the complete new one.

:func:`atomic_write` writes to a temporary file beside the target, fsyncs it and
renames it over the target, so a crash (even ``kill -9``) leaves the old file or the
new one, never a mix. In detail:

* a symlinked path is updated *through* the link: the temporary file is made beside
  the link's final target, which is replaced, so the link stays a link;
* the replaced file keeps its permission bits, and (when run as root, who may
  ``chown``) its owner and group; a new file gets ``0o666 & ~umask``;
* temporary files are named ``.<name>.fftmp-<pid>-<random>.tmp``; a writer killed
  before its rename leaves one behind, and the next write to the same target removes
  those whose writer process no longer exists (the pid is checked with ``kill(pid, 0)``;
  temporary files of live writers, e.g. a save in progress, are kept).
"""

from __future__ import annotations

import contextlib
import os
import errno
import stat
import tempfile
from typing import IO, Any, Iterator, Optional, Union

PathLike = Union[str, "os.PathLike[str]"]

#: Marker in the name of every temporary file (``.<name>.fftmp-<pid>-<random>.tmp``).
TEMP_MARK = ".fftmp-"


def resolve_target(path: PathLike) -> str:
    """The file a write to ``path`` must replace: ``path`` itself, or the final target
    when ``path`` is a symlink (a dangling link's target is created)."""
    target = os.fspath(path)
    if os.path.islink(target):
        return os.path.realpath(target)
    return target


def _existing(target: str) -> Optional[os.stat_result]:
    try:
        return os.stat(target)
    except FileNotFoundError:
        return None


def _new_file_mode(st: Optional[os.stat_result]) -> int:
    """The permissions the replaced file keeps (or the umask default for a new one):
    mkstemp would otherwise leave every saved file readable by its owner only."""
    if st is not None:
        return stat.S_IMODE(st.st_mode)
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return True  # not ours to judge
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    except OSError:
        return True
    return True


def temp_prefix(target: str) -> str:
    """Prefix of the temporary files of writes to ``target`` (before the pid)."""
    return f".{os.path.basename(target)}{TEMP_MARK}"


def remove_stale_temps(target: str) -> list[str]:
    """Remove temporary files of earlier writes to ``target`` whose writer process is
    dead (killed before its rename). Returns the paths removed."""
    directory = os.path.dirname(os.path.abspath(target))
    prefix = temp_prefix(target)
    removed: list[str] = []
    try:
        names = os.listdir(directory)
    except OSError:
        return removed
    me = os.getpid()
    for name in names:
        if not name.startswith(prefix):
            continue
        pid_text = name[len(prefix) :].split("-", 1)[0]
        if not pid_text.isdigit():
            continue
        pid = int(pid_text)
        if pid == me or _pid_alive(pid):
            continue
        full = os.path.join(directory, name)
        with contextlib.suppress(OSError):
            if stat.S_ISREG(os.lstat(full).st_mode):
                os.unlink(full)
                removed.append(full)
    return removed


def _copy_owner(tmp: str, st: Optional[os.stat_result]) -> None:
    """Give ``tmp`` the owner and group of the replaced file (only root may chown)."""
    if st is not None and hasattr(os, "geteuid") and os.geteuid() == 0:
        os.chown(tmp, st.st_uid, st.st_gid)


def make_temp(target: str, old: Optional[os.stat_result]) -> tuple[int, str]:
    """Create the temporary file of a write to ``target`` beside it, named
    ``.<name>.fftmp-<pid>-<random>.tmp``, with the mode (and, as root, the owner) of
    the replaced file ``old`` (``None``: a new file). Returns ``(fd, path)``; on an
    error nothing is left behind."""
    directory = os.path.dirname(os.path.abspath(target))
    fd, tmp = tempfile.mkstemp(
        prefix=f"{temp_prefix(target)}{os.getpid()}-", suffix=".tmp", dir=directory
    )
    try:
        os.chmod(tmp, _new_file_mode(old))
        _copy_owner(tmp, old)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return fd, tmp


def fsync_dir(directory: str) -> None:
    """fsync ``directory`` so a rename in it survives a crash (POSIX; best effort)."""
    try:
        dfd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


@contextlib.contextmanager
def atomic_write(path: PathLike, mode: str = "wb", **open_kwargs: Any) -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path`` (beside its target, for a symlink); on
    success flush, fsync, rename it over the target and fsync the directory (so the
    rename survives a crash). On any error, including KeyboardInterrupt, the temporary
    file is removed and the target is untouched. Mode (and, as root, owner) of a
    replaced file are kept; stale temporary files of dead writers are removed.
    """
    target = resolve_target(path)
    directory = os.path.dirname(os.path.abspath(target))
    old = _existing(target)
    if old is not None and not stat.S_ISREG(old.st_mode):
        # renaming over /dev/null or a FIFO (as root) would replace the node itself
        raise IsADirectoryError(errno.EISDIR if stat.S_ISDIR(old.st_mode) else errno.EPERM,
                                "not a regular file", os.fspath(path))
    remove_stale_temps(target)
    fd, tmp = make_temp(target, old)
    try:
        with os.fdopen(fd, mode, **open_kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    fsync_dir(directory)  # make the rename durable
