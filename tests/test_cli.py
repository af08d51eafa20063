"""The `fastfair` command line, end to end in subprocesses on small inputs."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import fastfair as ff

FF = [sys.executable, "-m", "fastfair"]


def write_entrants(path, rows, header=True):
    lines = (["id,score"] if header else []) + [f"{i},{s}" for i, s in rows]
    path.write_text("\n".join(lines) + "\n")


def read_csv(text):
    return list(csv.DictReader(text.splitlines()))


def test_installed_script_and_module_agree(run):
    out = run("--help").stdout
    assert "bench" in out and "lottery" in out and "plot" in out


# ------------------------------------------------------------------------- lottery


def test_lottery_draw_preview_verify_end_to_end(run, tmp_path):
    pool = tmp_path / "pool.ffl"
    entrants = tmp_path / "entrants.csv"
    write_entrants(entrants, [(f"p{i}", 1) for i in range(10)])

    # no pool yet and no --create: a clear error, nothing written
    p = run("lottery", "draw", pool, entrants, "-k", 3, check=False)
    assert p.returncode == 2
    assert "does not exist" in p.stderr
    assert not pool.exists()

    # published odds before the first draw: uniform
    odds = read_csv(run("lottery", "preview", pool, entrants, "-k", 3, "--create").stdout)
    assert [r["id"] for r in odds] == [f"p{i}" for i in range(10)]
    np.testing.assert_allclose([float(r["probability"]) for r in odds], 0.3)

    winners_csv = tmp_path / "winners1.csv"
    p = run("lottery", "draw", pool, entrants, "-k", 3, "--seed", 42, "--create",
            "--out", winners_csv)
    assert "seed 42" in p.stderr
    won1 = {r["id"] for r in read_csv(winners_csv.read_text())}
    assert len(won1) == 3

    # the same draw from Python with the same seed gives the same winners
    py_pool = ff.LotteryPool(name="x")
    w = py_pool.run_lottery(np.ones(10), 3, seed=42, ids=[f"p{i}" for i in range(10)])
    assert {f"p{i}" for i in np.flatnonzero(w)} == won1

    # second lottery, with a newcomer: losers of lottery 1 are owed more
    write_entrants(entrants, [(f"p{i}", 1) for i in range(10)] + [("new", 1)])
    odds2 = {r["id"]: float(r["probability"]) for r in read_csv(
        run("lottery", "draw", pool, entrants, "-k", 3, "--preview").stdout)}
    assert all(odds2[i] < 0.3 for i in won1)
    p = run("lottery", "draw", pool, entrants, "-k", 3, "--seed", 7)
    assert "joined" in p.stderr  # the new-entrant warning reaches the organiser
    won2 = [r["id"] for r in read_csv(p.stdout)]
    assert len(won2) == 3

    loaded = ff.LotteryPool.load(pool)
    assert loaded.n_lotteries == 2
    assert loaded.seeds.tolist() == [42, 7]
    assert "ok" in run("lottery", "verify", pool).stdout


def test_lottery_bad_csv_rows_name_the_line(run, tmp_path):
    pool = tmp_path / "pool.ffl"
    cases = {
        "id,score\na,1\nb,abc\n": "line 3: score 'abc' is not a number",
        "id,score\na,1\na,2\n": "line 3: duplicate id 'a'",
        "a,1\nb,-2\n": "line 2: score must be a finite number >= 0",
        "a,1\nb,nan\n": "line 2: score 'nan' is not a number",
        "id,score\na,1,3\n": "line 2: 3 fields, more than the 2 of the header",
        "a\n": "line 1: expected at least 2 fields",
        ",1\n": "line 1: empty id",
        "id,score\n": "no entrants",
    }
    for text, message in cases.items():
        entrants = tmp_path / "e.csv"
        entrants.write_text(text)
        p = run("lottery", "draw", pool, entrants, "-k", 1, "--create", check=False)
        assert p.returncode == 2, text
        assert message in p.stderr, (text, p.stderr)
        assert "Traceback" not in p.stderr
        assert not pool.exists()


def test_lottery_bad_k_leaves_the_pool_file_untouched(run, tmp_path):
    pool = tmp_path / "pool.ffl"
    entrants = tmp_path / "e.csv"
    write_entrants(entrants, [("a", 1), ("b", 1), ("c", 0)])
    run("lottery", "draw", pool, entrants, "-k", 1, "--seed", 1, "--create")
    before = pool.read_bytes()
    p = run("lottery", "draw", pool, entrants, "-k", 3, "--seed", 2, check=False)
    assert p.returncode == 2
    assert "k" in p.stderr
    assert pool.read_bytes() == before


def test_lottery_verify_detects_a_tampered_pool(run, tmp_path):
    pool = tmp_path / "pool.ffl"
    entrants = tmp_path / "e.csv"
    write_entrants(entrants, [(f"x{i}", i + 1) for i in range(6)])
    run("lottery", "draw", pool, entrants, "-k", 2, "--seed", 3, "--create")
    data = bytearray(pool.read_bytes())
    data[len(data) // 2] ^= 0xFF
    pool.write_bytes(bytes(data))
    p = run("lottery", "verify", pool, check=False)
    assert p.returncode != 0
    assert "Traceback" not in p.stderr


def test_interrupted_draw_never_damages_the_pool(run, tmp_path):
    """Kill a draw mid-way (large pool, so the save is in flight): the pool file is
    either the old one or the new one, never a broken one."""
    pool = tmp_path / "pool.ffl"
    entrants = tmp_path / "e.csv"
    n = 200_000
    write_entrants(entrants, [(f"e{i}", 1 + (i % 7)) for i in range(n)], header=False)
    run("lottery", "draw", pool, entrants, "-k", 100, "--seed", 1, "--create")
    before = pool.read_bytes()
    for delay in (0.05, 0.3, 0.8):
        proc = subprocess.Popen(
            [*FF, "lottery", "draw", str(pool), str(entrants), "-k", "100", "--seed", "5"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        now = pool.read_bytes()
        loaded = ff.LotteryPool.load(pool)  # never corrupt
        assert now == before or loaded.n_lotteries == 2
        if now != before:
            break
    leftovers = [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]
    assert len(leftovers) <= 1  # a killed writer may leave its temp file, never the pool


# ---------------------------------------------------------------------------- bench


def test_bench_json_has_every_section(run):
    p = run("bench", "--quick", "--json", "--no-progress")
    report = json.loads(p.stdout)
    assert set(report["sections"]) == {"sampling", "lottery", "online", "efk", "tickets"}
    speed_sections = {r["section"] for r in report["speed"]}
    fair_sections = {r["section"] for r in report["fairness"]}
    assert speed_sections == {"sampling", "lottery", "online", "efk", "tickets"}
    assert fair_sections >= {"lottery", "online", "efk", "tickets"}
    for r in report["speed"]:
        assert r["fastfair_s"] > 0
        for k, v in r["others_s"].items():
            assert v > 0
            assert r["speedup"][k] == pytest.approx(v / r["fastfair_s"])
    for r in report["fairness"]:
        assert np.isfinite(r["fastfair"])
        if r["bound"] is not None:
            assert r["fastfair"] <= r["bound"] + 1e-9


def test_bench_table_and_progress(run, tmp_path):
    p = run("bench", "--quick", "--section", "sampling")
    assert "SPEED" in p.stdout and "projection" in p.stdout and "pipage" in p.stdout
    assert "4/4" in p.stderr  # the progress bar reached the end


# ----------------------------------------------------------------------------- plot


def test_plots_are_written(run, tmp_path):
    pytest.importorskip("matplotlib")
    pool = tmp_path / "pool.ffl"
    entrants = tmp_path / "e.csv"
    write_entrants(entrants, [(f"x{i}", 1) for i in range(8)])
    for seed in (1, 2, 3):
        run("lottery", "draw", pool, entrants, "-k", 3, "--seed", seed, "--create")
    run("plot", "lottery", pool, "--out", tmp_path / "lot")
    for suffix in ("probabilities", "winners", "unfairness"):
        png = tmp_path / f"lot-{suffix}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    out = tmp_path / "stream.png"
    run("plot", "stream", "--agents", 2, "--rounds", 300, "--instance", "table1",
        "--out", out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_errors_are_clean(run, tmp_path):
    p = run("plot", "stream", "--agents", 3, "--instance", "table1", "--out",
            tmp_path / "x.png", check=False)
    assert p.returncode == 2
    assert "2 agents" in p.stderr
