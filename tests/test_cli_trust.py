"""The command line under concurrency, unwritable outputs and hostile input (issue 9).

Each test drives ``fastfair`` in subprocesses (or ``main`` in-process where a fault is
injected) and checks the documented exit code, a one-line error and an unchanged pool.
"""

from __future__ import annotations

import fcntl
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import fastfair as ff
from fastfair.cli import main
from fastfair.cli.locking import lock_path

FF = [sys.executable, "-m", "fastfair"]
EXIT_CODES = {0, 1, 2, 3, 4, 5, 70, 130, 141}


def write_entrants(path, n=10, score=1):
    path.write_text("id,score\n" + "".join(f"p{i},{score}\n" for i in range(n)))


@pytest.fixture
def drawn(cli, tmp_path):
    """A pool with one recorded lottery and its entrants file."""
    pool, entrants = tmp_path / "pool.ffl", tmp_path / "e.csv"
    write_entrants(entrants)
    assert cli("lottery", "draw", pool, entrants, "-k", 3, "--seed", 1,
               "--create").returncode == 0
    return pool, entrants


# --------------------------------------------------------------------------- locking


def test_parallel_draws_are_serialised_and_none_is_lost(run, drawn, tmp_path):
    pool, entrants = drawn
    procs = [
        subprocess.Popen(
            [*FF, "lottery", "draw", str(pool), str(entrants), "-k", "3",
             "--seed", str(100 + i), "--out", str(tmp_path / f"w{i}.csv")],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for i in range(10)
    ]
    results = [(p.wait(timeout=240), p.stderr.read()) for p in procs]
    for p in procs:
        p.stdout.close()
        p.stderr.close()
    ok = [i for i, (rc, _) in enumerate(results) if rc == 0]
    for i, (rc, err) in enumerate(results):
        assert "Traceback" not in err
        if rc != 0:  # a clean failure: locked too long, nothing published
            assert rc == 3 and len(err.strip().splitlines()) == 1, err
            assert not (tmp_path / f"w{i}.csv").exists()
    assert ok, results
    loaded = ff.LotteryPool.load(pool)
    assert loaded.n_lotteries == 1 + len(ok)
    assert sorted(loaded.seeds.tolist()[1:]) == sorted(100 + i for i in ok)
    recorded = sorted(
        int(re.search(r"recorded lottery (\d+) of pool", results[i][1]).group(1))
        for i in ok
    )
    assert recorded == list(range(2, 2 + len(ok)))  # each draw saw the previous one
    for i in ok:  # every success published its winners
        assert len((tmp_path / f"w{i}.csv").read_text().splitlines()) == 4
    assert loaded.verify()
    assert "ok" in run("lottery", "verify", pool).stdout


def test_a_locked_pool_times_out_with_code_3(run, one_line_error, drawn, tmp_path):
    pool, entrants = drawn
    before = pool.read_bytes()
    with open(lock_path(str(pool)), "a+") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        p = run("lottery", "draw", pool, entrants, "-k", 3, "--lock-timeout", "0.3",
                "--out", tmp_path / "w.csv", check=False)
    line = one_line_error(p, 3)
    assert "locked" in line and "--lock-timeout" in line
    assert pool.read_bytes() == before
    assert not (tmp_path / "w.csv").exists()
    # the lock is free again: the same draw goes through
    run("lottery", "draw", pool, entrants, "-k", 3, "--lock-timeout", "0")


@pytest.mark.parametrize("bad", ["-1", "nan", "inf", "soon"])
def test_bad_lock_timeout_is_a_usage_error(cli, one_line_error, drawn, bad):
    pool, entrants = drawn
    p = cli("lottery", "draw", pool, entrants, "-k", 1, f"--lock-timeout={bad}")
    one_line_error(p, 2)


# ------------------------------------------------------------------ all-or-nothing


def test_output_in_a_missing_directory_records_nothing(cli, one_line_error, drawn,
                                                       tmp_path):
    pool, entrants = drawn
    before = pool.read_bytes()
    p = cli("lottery", "draw", pool, entrants, "-k", 3,
            "--out", tmp_path / "nope" / "w.csv")
    line = one_line_error(p, 4)
    assert "nothing was recorded" in line
    assert pool.read_bytes() == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_output_in_a_read_only_directory_records_nothing(run, one_line_error, drawn,
                                                         tmp_path):
    pool, entrants = drawn
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        before = pool.read_bytes()
        p = run("lottery", "draw", pool, entrants, "-k", 3, "--out", ro / "w.csv",
                check=False)
        one_line_error(p, 4)
        assert pool.read_bytes() == before
    finally:
        ro.chmod(0o700)


def _fsize_limit(nbytes):
    import resource

    def limit():  # Python ignores SIGXFSZ: an oversized write raises EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, nbytes))

    return limit


def _big_draw(run, tmp_path):
    pool, entrants = tmp_path / "pool.ffl", tmp_path / "e.csv"
    entrants.write_text("".join(f"entrant-{i:05d},{1 + i % 3}\n" for i in range(3000)))
    run("lottery", "draw", pool, entrants, "-k", 1000, "--seed", 1, "--create")
    return pool, entrants


def test_file_size_limit_on_the_output_records_nothing(run, one_line_error, tmp_path):
    pool, entrants = _big_draw(run, tmp_path)
    before = pool.read_bytes()
    out = tmp_path / "w.csv"
    p = run("lottery", "draw", pool, entrants, "-k", 1000, "--out", out, check=False,
            preexec_fn=_fsize_limit(4096))
    line = one_line_error(p, 4)
    assert "winners file" in line
    assert pool.read_bytes() == before
    assert not out.exists()
    assert [f for f in os.listdir(tmp_path) if "tmp" in f] == []


def test_file_size_limit_on_the_pool_publishes_nothing(run, one_line_error, tmp_path):
    pool, entrants = _big_draw(run, tmp_path)
    before = pool.read_bytes()
    out = tmp_path / "w.csv"
    # the winners file (1000 rows, well under the old pool's size) fits; the new pool,
    # larger than the old one, does not
    p = run("lottery", "draw", pool, entrants, "-k", 1000, "--out", out, check=False,
            preexec_fn=_fsize_limit(len(before)))
    line = one_line_error(p, 4)
    assert "cannot save pool" in line
    assert pool.read_bytes() == before
    assert not out.exists()
    assert [f for f in os.listdir(tmp_path) if "tmp" in f] == []


def test_a_failed_rename_after_the_save_undoes_the_draw(drawn, tmp_path, monkeypatch,
                                                        capsys):
    pool, entrants = drawn
    before = ff.LotteryPool.load(pool)
    import fastfair.cli.staging as staging

    real_replace = os.replace

    def broken_replace(src, dst):  # only the winners file cannot be put in place
        if str(dst).endswith("w.csv"):
            raise PermissionError(1, "Operation not permitted")
        real_replace(src, dst)

    monkeypatch.setattr(staging.os, "replace", broken_replace)
    code = main(["lottery", "draw", str(pool), str(entrants), "-k", "3",
                 "--out", str(tmp_path / "w.csv")])
    monkeypatch.undo()
    err = capsys.readouterr().err
    assert code == 4 and "undone" in err and len(err.strip().splitlines()) == 1
    after = ff.LotteryPool.load(pool)
    assert after.n_lotteries == before.n_lotteries
    assert after.seeds.tolist() == before.seeds.tolist()
    assert not (tmp_path / "w.csv").exists()
    assert [f for f in os.listdir(tmp_path) if "tmp" in f] == []


def _aliases(pool, tmp_path):
    link = tmp_path / "link.ffl"
    link.symlink_to(pool)
    hard = tmp_path / "hard.ffl"
    os.link(pool, hard)
    sub = tmp_path / "sub"
    sub.mkdir()
    return [pool, link, hard, Path(os.path.relpath(pool)), sub / ".." / pool.name]


def test_out_equal_to_the_pool_is_refused_in_every_spelling(cli, one_line_error, drawn,
                                                            tmp_path, monkeypatch):
    pool, entrants = drawn
    monkeypatch.chdir(tmp_path)
    before = pool.read_bytes()
    for alias in _aliases(pool, tmp_path):
        for pool_arg in (pool, tmp_path / "link.ffl"):
            p = cli("lottery", "draw", pool_arg, entrants, "-k", 3, "--out", alias)
            line = one_line_error(p, 2)
            assert "pool file" in line, line
            assert pool.read_bytes() == before
    assert (tmp_path / "link.ffl").is_symlink()
    for out in (entrants, Path(str(pool) + ".lock")):
        p = cli("lottery", "draw", pool, entrants, "-k", 3, "--out", out)
        one_line_error(p, 2)
    p = cli("lottery", "preview", pool, entrants, "-k", 3, "--out", pool)
    one_line_error(p, 2)
    assert pool.read_bytes() == before
    assert ff.LotteryPool.load(pool).n_lotteries == 1


# ------------------------------------------------------------------- --expect-lottery


def test_expect_lottery_refuses_a_rerun(cli, one_line_error, tmp_path):
    pool, entrants = tmp_path / "pool.ffl", tmp_path / "e.csv"
    write_entrants(entrants)
    p = cli("lottery", "draw", pool, entrants, "-k", 2, "--create",
            "--expect-lottery", 1, "--out", tmp_path / "w1.csv")
    assert p.returncode == 0, p.stderr
    assert "recorded lottery 1 of pool" in p.stderr
    before = pool.read_bytes()
    for n in (1, 3):  # a re-run of year 1, a skipped year
        p = cli("lottery", "draw", pool, entrants, "-k", 2, "--expect-lottery", n,
                "--out", tmp_path / "w2.csv")
        line = one_line_error(p, 5)
        assert "holds 1 lotteries" in line
        assert pool.read_bytes() == before
        assert not (tmp_path / "w2.csv").exists()
    p = cli("lottery", "draw", pool, entrants, "-k", 2, "--expect-lottery", 2)
    assert "recorded lottery 2 of pool" in p.stderr
    assert ff.LotteryPool.load(pool).n_lotteries == 2
    p = cli("lottery", "draw", pool, entrants, "-k", 2, "--expect-lottery", 0)
    one_line_error(p, 2)


# ------------------------------------------------------------------- hostile input


def test_non_utf8_entrants_name_the_line_and_suggest_encoding(cli, one_line_error,
                                                              tmp_path):
    pool, entrants = tmp_path / "pool.ffl", tmp_path / "e.csv"
    entrants.write_bytes("id,score\nzoë,1\nJosé,2\n".encode("latin-1"))
    p = cli("lottery", "draw", pool, entrants, "-k", 1, "--create")
    line = one_line_error(p, 2)
    assert "line 2" in line and "--encoding" in line
    assert not pool.exists()
    p = cli("lottery", "draw", pool, entrants, "-k", 1, "--create", "--seed", 3,
            "--encoding", "latin-1")
    assert p.returncode == 0, p.stderr
    assert ff.LotteryPool.load(pool).ids == ["zoë", "José"]


def test_utf8_bom_is_accepted(cli, tmp_path):
    pool, entrants = tmp_path / "pool.ffl", tmp_path / "e.csv"
    entrants.write_bytes(b"\xef\xbb\xbfid,score\na,1\nb,1\n")
    assert cli("lottery", "draw", pool, entrants, "-k", 1, "--create").returncode == 0
    assert ff.LotteryPool.load(pool).ids == ["a", "b"]


def test_ids_longer_than_the_csv_field_limit(cli, tmp_path):
    pool, entrants = tmp_path / "pool.ffl", tmp_path / "e.csv"
    long_id = "x" * 200_000
    entrants.write_text(f"id,score\n{long_id},1\nshort,1\n")
    p = cli("lottery", "draw", pool, entrants, "-k", 1, "--create", "--seed", 2)
    assert p.returncode == 0, p.stderr
    loaded = ff.LotteryPool.load(pool)
    assert loaded.ids == [long_id, "short"] and loaded.verify()


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null", "/dev/stdin"])
def test_devices_are_refused_as_entrants(run, one_line_error, tmp_path, device):
    if not os.path.exists(device):
        pytest.skip(f"no {device}")
    pool = tmp_path / "pool.ffl"
    p = run("lottery", "draw", pool, device, "-k", 1, "--create", check=False,
            timeout=30, stdin=subprocess.PIPE)
    assert "not a regular file" in one_line_error(p, 2)
    assert not pool.exists()


def test_a_fifo_as_pool_or_entrants_does_not_hang(run, one_line_error, tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    entrants = tmp_path / "e.csv"
    write_entrants(entrants)
    for args in (
        ("lottery", "draw", fifo, entrants, "-k", 1),
        ("lottery", "draw", fifo, entrants, "-k", 1, "--create"),
        ("lottery", "preview", fifo, entrants, "-k", 1),
        ("lottery", "verify", fifo),
        ("lottery", "draw", tmp_path / "p.ffl", fifo, "-k", 1, "--create"),
    ):
        p = run(*args, check=False, timeout=30)
        assert "not a regular file" in one_line_error(p, 2)
    d = tmp_path / "dir"
    d.mkdir()
    p = run("lottery", "verify", d, check=False)
    one_line_error(p, 2)


def test_corrupt_pool_files_are_one_line(cli, one_line_error, tmp_path):
    entrants = tmp_path / "e.csv"
    write_entrants(entrants)
    for i, blob in enumerate([b"", b"FASTFAIR" + b"\0" * 100, os.urandom(5000),
                              b"x" * 10]):
        pool = tmp_path / f"bad{i}.ffl"
        pool.write_bytes(blob)
        for args in (("lottery", "verify", pool),
                     ("lottery", "draw", pool, entrants, "-k", 1)):
            p = cli(*args)
            assert "cannot load pool" in one_line_error(p, 2)
            assert pool.read_bytes() == blob


def test_catch_all_turns_a_bug_into_one_line(monkeypatch, capsys, tmp_path):
    import fastfair.cli.lottery as lot

    def boom(*a, **k):
        raise ZeroDivisionError("simulated bug")

    monkeypatch.setattr(lot, "read_entrant_table", boom)
    code = main(["lottery", "preview", str(tmp_path / "p"), "e.csv", "-k", "1",
                 "--create"])
    err = capsys.readouterr().err
    assert code == 70
    assert len(err.strip().splitlines()) == 1
    assert "bug" in err and "ZeroDivisionError" in err


def test_broken_stdout_pipe_is_quiet(tmp_path):
    pool, entrants = tmp_path / "pool.ffl", tmp_path / "e.csv"
    write_entrants(entrants, n=50_000)
    p = subprocess.run(
        f"{sys.executable} -m fastfair lottery preview {pool} {entrants} -k 5 --create"
        " | head -n 1",
        shell=True, capture_output=True, text=True, timeout=120,
    )
    assert p.stdout.startswith("id,score,probability") and p.stdout.count("\n") == 1
    assert "Traceback" not in p.stderr and "Exception" not in p.stderr, p.stderr


FUZZ_ARGV = [
    [],
    ["lottery"],
    ["lottery", "draw"],
    ["lottery", "draw", "{pool}", "{e}"],
    ["lottery", "draw", "{pool}", "{e}", "-k", "-1"],
    ["lottery", "draw", "{pool}", "{e}", "-k", "11"],
    ["lottery", "draw", "{pool}", "{e}", "-k", "1" + "0" * 30],
    ["lottery", "draw", "{pool}", "{e}", "-k", "1.5"],
    ["lottery", "draw", "{pool}", "{e}", "-k", "1", "--seed", "-1"],
    ["lottery", "draw", "{pool}", "{e}", "-k", "1", "--seed", str(2**64)],
    ["lottery", "draw", "{pool}", "{e}", "-k", "1", "--seed", "abc"],
    ["lottery", "draw", "{pool}", "{e}", "-k", "1", "--id-column", "0"],
    ["lottery", "draw", "{pool}", "{e}", "-k", "1", "--id-column", "9"],
    ["lottery", "draw", "{pool}", "{e}", "-k", "1", "--score-column", "nope"],
    ["lottery", "draw", "{pool}", "{e}", "-k", "1", "--id-column", "1",
     "--score-column", "1"],
    ["lottery", "draw", "{pool}", "{e}", "-k", "1", "--encoding", "bogus"],
    ["lottery", "draw", "{pool}", "{e}", "-k", "1", "--encoding", "utf-16"],
    ["lottery", "draw", "{pool}", "{e}", "-k", "1", "--delimiter", "xx"],
    ["lottery", "draw", "{pool}", "{e}", "-k", "1", "--header", "no",
     "--id-column", "id"],
    ["lottery", "draw", "{pool}", "{e}", "-k", "1", "--header", "no"],
    ["lottery", "draw", "{pool}", "{pool}", "-k", "1"],
    ["lottery", "draw", "{pool}", "", "-k", "1"],
    ["lottery", "draw", "", "{e}", "-k", "1"],
    ["lottery", "draw", "{pool}", "{e}", "-k", "1", "--out", ""],
    ["lottery", "draw", "{pool}", "{e}", "-k", "1", "--expect-lottery", "x"],
    ["lottery", "preview", "{pool}", "{e}", "-k", "99"],
    ["lottery", "verify", "{e}"],
    ["lottery", "verify", "/nonexistent/x"],
    ["plot", "stream", "--seed", "-1", "--out", "{tmp}/x.png"],
    ["plot", "stream", "--agents", "0", "--out", "{tmp}/x.png"],
    ["plot", "stream", "--rounds", "-5", "--out", "{tmp}/x.png"],
    ["plot", "lottery", "{e}", "--out", "{tmp}/x"],
    ["bench", "--section", "nope"],
]


def test_fuzzed_argv_never_gives_a_traceback(drawn, tmp_path, capsys):
    pool, entrants = drawn
    before = pool.read_bytes()
    for template in FUZZ_ARGV:
        argv = [a.format(pool=pool, e=entrants, tmp=tmp_path) for a in template]
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse usage errors
            code = exc.code
        err = capsys.readouterr().err
        assert code in EXIT_CODES and code not in (0, 70), (argv, code, err)
        assert "Traceback" not in err
        assert len(err.strip().splitlines()) == 1, (argv, err)
        assert pool.read_bytes() == before, argv


def test_kill_9_releases_the_lock_and_stale_output_temporaries_go(run, one_line_error,
                                                                  drawn, tmp_path):
    pool, entrants = drawn
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\n"
         "from fastfair.cli.locking import pool_lock\n"
         f"with pool_lock({str(pool)!r}, 0):\n"
         "    print('locked', flush=True)\n"
         "    time.sleep(60)\n"],
        stdout=subprocess.PIPE, text=True,
    )
    assert holder.stdout.readline().strip() == "locked"
    p = run("lottery", "draw", pool, entrants, "-k", 1, "--lock-timeout", "0",
            check=False)
    assert one_line_error(p, 3)
    holder.kill()  # SIGKILL: the kernel drops the lock with the process
    holder.wait()
    holder.stdout.close()
    stale = tmp_path / ".w.csv.abc123.fastfair-tmp"
    stale.write_text("left by a killed draw")
    os.utime(stale, (0, 0))
    fresh = tmp_path / ".w.csv.def456.fastfair-tmp"
    fresh.write_text("a draw in flight")
    run("lottery", "draw", pool, entrants, "-k", 1, "--lock-timeout", "5",
        "--out", tmp_path / "w.csv")
    assert not stale.exists() and fresh.exists()
    assert ff.LotteryPool.load(pool).n_lotteries == 2


def test_exit_codes_are_documented_alike_everywhere(run):
    """README table, ``fastfair --help`` epilog and the cli docstring list the same
    codes as the constants in cli/errors.py."""
    import fastfair.cli as cli_pkg
    from fastfair.cli import errors

    constants = {v for k, v in vars(errors).items() if k.startswith("EXIT_")
                 and isinstance(v, int)}
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme.split("### Exit codes", 1)[1].split("\n## ", 1)[0]
    table = {int(m) for m in re.findall(r"^\| (\d+) \|", section, re.M)}
    epilog = {int(m) for m in re.findall(r"^  (\d+) ", errors.EXIT_CODES_HELP, re.M)}
    doc = {int(m) for m in re.findall(r"^    (\d+) ", cli_pkg.__doc__, re.M)}
    assert table == epilog == doc == constants == EXIT_CODES
    assert "exit codes:" in run("--help").stdout
    assert "exit codes:" in run("lottery", "draw", "--help").stdout


def test_out_that_is_a_device_or_fifo_is_never_replaced(cli, one_line_error, drawn,
                                                        tmp_path):
    """Renaming a temporary file over ``/dev/null`` (as root) would replace the device:
    a non-regular --out is refused before anything happens."""
    pool, entrants = drawn
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    before = pool.read_bytes()
    for out in ("/dev/null", fifo):
        for action in ("draw", "preview"):
            p = cli("lottery", action, pool, entrants, "-k", 2, "--out", out)
            assert "not a regular file" in one_line_error(p, 2)
    assert os.path.exists("/dev/null") and not os.path.isfile("/dev/null")
    assert not os.path.isfile(fifo)
    assert pool.read_bytes() == before


def test_parallel_first_draws_with_expect_lottery_record_exactly_one(tmp_path):
    """Four organisers start the same new pool at once with --expect-lottery 1: the
    pool is loaded under the lock, so exactly one draw is recorded, the others exit 5."""
    pool, entrants = tmp_path / "new.ffl", tmp_path / "e.csv"
    write_entrants(entrants)
    procs = [
        subprocess.Popen(
            [*FF, "lottery", "draw", str(pool), str(entrants), "-k", "2", "--create",
             "--expect-lottery", "1", "--seed", str(i)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        for i in range(4)
    ]
    codes = []
    for p in procs:
        codes.append(p.wait(timeout=240))
        err = p.stderr.read()
        p.stderr.close()
        assert "Traceback" not in err
    assert sorted(codes) == [0, 5, 5, 5], codes
    loaded = ff.LotteryPool.load(pool)
    assert loaded.n_lotteries == 1
    assert loaded.seeds.tolist() == [codes.index(0)]


def test_staged_outputs_share_the_atomic_temp_naming_mode_and_cleanup(tmp_path):
    """Staged outputs use fastfair._atomic's temporary files: a temp of a dead writer
    is removed, a live writer's is kept, the replaced file's mode is kept, and the
    targets only change at commit."""
    from fastfair import _atomic
    from fastfair.cli.staging import StagedOutputs

    target = tmp_path / "w.csv"
    target.write_text("old\n")
    os.chmod(target, 0o640)
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    stale = tmp_path / f".w.csv{_atomic.TEMP_MARK}{proc.pid}-abc123.tmp"
    stale.write_text("left by a killed draw")
    live = tmp_path / f".w.csv{_atomic.TEMP_MARK}{os.getppid()}-def456.tmp"
    live.write_text("a draw in flight")
    with StagedOutputs() as staged:
        staged.add(str(target), "new\n")
        staged.add(str(tmp_path / "b.csv"), "b\n")
        mine = f".w.csv{_atomic.TEMP_MARK}{os.getpid()}-"
        temps = sorted(p for p in os.listdir(tmp_path) if p.startswith(mine))
        assert len(temps) == 1 and temps[0].endswith(".tmp")
        assert target.read_text() == "old\n" and not (tmp_path / "b.csv").exists()
        staged.commit()
    assert not stale.exists() and live.exists()
    assert target.read_text() == "new\n" and (tmp_path / "b.csv").read_text() == "b\n"
    assert stat_mode(target) == 0o640
    assert [p for p in os.listdir(tmp_path) if p.startswith(mine)] == []


def stat_mode(path) -> int:
    return os.stat(path).st_mode & 0o777
