"""atomic_write never replaces a device, FIFO or directory (as root a rename would)."""

from __future__ import annotations

import os

import pytest

from fastfair._atomic import atomic_write


@pytest.mark.parametrize("kind", ["fifo", "dir"])
def test_atomic_write_refuses_non_regular_targets(tmp_path, kind):
    target = tmp_path / "node"
    if kind == "fifo":
        os.mkfifo(target)
    else:
        target.mkdir()
    with pytest.raises(OSError, match="not a regular file"):
        with atomic_write(target, "w") as fh:
            fh.write("x")
    assert (target.is_dir() if kind == "dir" else not target.is_file())
    assert [p.name for p in tmp_path.iterdir()] == ["node"]


def test_atomic_write_refuses_dev_null_through_a_symlink(tmp_path):
    link = tmp_path / "out.csv"
    link.symlink_to(os.devnull)
    with pytest.raises(OSError, match="not a regular file"):
        with atomic_write(link, "w") as fh:
            fh.write("x")
    assert os.path.exists(os.devnull) and not os.path.isfile(os.devnull)
