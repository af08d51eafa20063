"""Atomic pool saves: symlinks updated through the link, mode and owner kept, stale
temporary files of killed writers removed, and a kill -9 loop that never leaves a
broken pool or a pile of temporary files."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import stat
import subprocess
import sys
import textwrap
import time
import warnings

import numpy as np
import pytest

import fastfair as ff
from fastfair import _atomic


def make_pool(n: int = 50, lotteries: int = 3, seed: int = 0) -> ff.LotteryPool:
    rng = np.random.default_rng(seed)
    pool = ff.LotteryPool(f"atomic {seed}")
    for t in range(lotteries):
        pool.run_lottery(rng.random(n) + 0.01, n // 4, seed=t + 100 * seed)
    return pool


def temps(directory) -> list[str]:
    return sorted(p for p in os.listdir(directory) if _atomic.TEMP_MARK in p)


def test_symlinked_pool_is_updated_through_the_link(tmp_path):
    real_dir = tmp_path / "real"
    real_dir.mkdir()
    target = real_dir / "pool.ffl"
    link = tmp_path / "link.ffl"
    make_pool(seed=1).save(target)
    link.symlink_to(target)
    new = make_pool(seed=2)
    new.save(link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert ff.LotteryPool.load(target).seeds.tolist() == new.seeds.tolist()
    assert ff.LotteryPool.load(link).name == new.name
    assert temps(tmp_path) == [] and temps(real_dir) == []


def test_symlink_chain_and_dangling_link(tmp_path):
    target = tmp_path / "t.ffl"
    mid = tmp_path / "mid.ffl"
    top = tmp_path / "top.ffl"
    mid.symlink_to(target)  # dangling until the first save
    top.symlink_to(mid)
    make_pool(seed=3).save(top)
    assert top.is_symlink() and mid.is_symlink() and target.is_file()
    assert not target.is_symlink()
    assert ff.LotteryPool.load(top).name == "atomic 3"


def test_mode_is_kept(tmp_path):
    path = tmp_path / "pool.ffl"
    make_pool(seed=1).save(path)
    os.chmod(path, 0o640)
    make_pool(seed=2).save(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    os.chmod(path, 0o604)
    make_pool(seed=3).save(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o604


def test_new_file_gets_the_umask_default(tmp_path):
    old = os.umask(0o027)
    try:
        make_pool().save(tmp_path / "new.ffl")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "new.ffl").st_mode) == 0o640


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root")
def test_owner_is_kept_when_root(tmp_path):
    path = tmp_path / "pool.ffl"
    make_pool(seed=1).save(path)
    os.chown(path, 4321, 4322)
    make_pool(seed=2).save(path)
    st = os.stat(path)
    assert (st.st_uid, st.st_gid) == (4321, 4322)
    assert ff.LotteryPool.load(path).name == "atomic 2"


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stale_temps_of_dead_writers_are_removed(tmp_path):
    path = tmp_path / "pool.ffl"
    make_pool().save(path)
    pid = dead_pid()
    stale = tmp_path / f".pool.ffl{_atomic.TEMP_MARK}{pid}-abc123.tmp"
    stale.write_bytes(b"x" * 1000)
    live = tmp_path / f".pool.ffl{_atomic.TEMP_MARK}{os.getppid()}-def456.tmp"
    live.write_bytes(b"y")
    other = tmp_path / f".other.ffl{_atomic.TEMP_MARK}{pid}-ghi789.tmp"
    other.write_bytes(b"z")
    unrelated = tmp_path / ".pool.ffl.notes"
    unrelated.write_bytes(b"keep")
    make_pool(seed=4).save(path)
    assert not stale.exists()
    assert live.exists() and other.exists() and unrelated.exists()
    assert ff.LotteryPool.load(path).name == "atomic 4"


def test_failed_write_removes_its_temp_and_keeps_the_old_file(tmp_path):
    path = tmp_path / "out.txt"
    path.write_text("old")
    with pytest.raises(ZeroDivisionError):
        with _atomic.atomic_write(path, "w") as fh:
            fh.write("new")
            1 / 0
    assert path.read_text() == "old" and temps(tmp_path) == []


CHILD = textwrap.dedent(
    """
    import sys, fastfair as ff
    a = ff.LotteryPool.load(sys.argv[1]); b = ff.LotteryPool.load(sys.argv[2])
    print("go", flush=True)
    while True:
        a.save(sys.argv[3]); b.save(sys.argv[3])
    """
)


def test_kill_9_loop_never_breaks_the_pool(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    pools = [make_pool(n=30_000, lotteries=4, seed=s) for s in (1, 2)]
    digests = set()
    for j, p in enumerate(pools):
        p.save(src / f"{j}.ffl")
        digests.add(hashlib.sha256((src / f"{j}.ffl").read_bytes()).hexdigest())
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    target = out_dir / "pool.ffl"
    rnd = random.Random(9)
    start = time.monotonic()
    kills = mid_save = 0
    while kills < 20 and time.monotonic() - start < 60:
        proc = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(src / "0.ffl"), str(src / "1.ffl"),
             str(target)],
            stdout=subprocess.PIPE,
        )
        assert proc.stdout.readline().strip() == b"go"
        time.sleep(rnd.uniform(0.0, 0.15))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        kills += 1
        left = len(temps(out_dir))
        assert left <= 1  # the killed writer's temp, removed by the next save
        mid_save += left
        if target.exists():
            data = target.read_bytes()
            assert hashlib.sha256(data).hexdigest() in digests
            if kills % 5 == 0:
                assert ff.LotteryPool.load(target).verify()
    assert kills >= 10
    assert mid_save >= 1  # some kills did land in the middle of a save
    assert target.exists()
    pools[0].save(target)
    assert temps(out_dir) == []
