"""`fastfair tickets odds|draw` end to end in subprocesses."""

from __future__ import annotations

import csv
import subprocess
import sys

import numpy as np
import pytest

import fastfair as ff

FF = [sys.executable, "-m", "fastfair"]


def run(*args, check=True):
    proc = subprocess.run([*FF, *map(str, args)], capture_output=True, text=True,
                          timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture
def entrants(tmp_path):
    path = tmp_path / "entrants.csv"
    tickets = [1, 2, 4, 8, 16, 0, 1, 2, 32, 64]
    path.write_text("id,score\n" + "".join(f"r{i},{t}\n" for i, t in enumerate(tickets)))
    return path, np.array(tickets, dtype=float)


def test_odds_match_the_library(entrants, tmp_path):
    path, t = entrants
    rows = list(csv.DictReader(run("tickets", "odds", path, "-k", 3).stdout.splitlines()))
    assert [r["id"] for r in rows] == [f"r{i}" for i in range(10)]
    np.testing.assert_array_equal([float(r["probability"]) for r in rows],
                                  ff.ticket_odds(t, 3))
    out = tmp_path / "odds.csv"
    p = run("tickets", "odds", path, "-k", 3, "--waitlist", 2, "--out", out)
    assert p.stdout == ""
    rows = list(csv.DictReader(out.read_text().splitlines()))
    np.testing.assert_array_equal([float(r["probability_with_waitlist"]) for r in rows],
                                  ff.ticket_odds(t, 3, waitlist=2))


def test_draw_is_replayable_and_matches_the_library(entrants):
    path, t = entrants
    p = run("tickets", "draw", path, "-k", 3, "--seed", 42, "--waitlist", 2)
    rows = list(csv.DictReader(p.stdout.splitlines()))
    order = ff.draw_tickets(t, 3, seed=42, waitlist=2)
    assert [r["id"] for r in rows] == [f"r{j}" for j in order]
    assert [r["status"] for r in rows] == ["winner"] * 3 + ["waitlist"] * 2
    assert [int(r["position"]) for r in rows] == [1, 2, 3, 4, 5]
    assert "seed 42" in p.stderr
    assert run("tickets", "draw", path, "-k", 3, "--seed", 42, "--waitlist", 2).stdout \
        == p.stdout


@pytest.mark.parametrize("args,needle", [
    (["odds", "{path}", "-k", "10"], "k + waitlist"),
    (["odds", "{path}", "-k", "-1"], "k must be"),
    (["odds", "{path}", "-k", "3", "--waitlist", "-2"], "waitlist"),
    (["draw", "{path}", "-k", "3", "--seed", "-5"], "seed"),
    (["odds", "{missing}", "-k", "1"], "cannot read"),
    (["odds", "{bad}", "-k", "1"], "not a number"),
])
def test_errors_are_one_line_exit_2(entrants, tmp_path, args, needle):
    path, _ = entrants
    bad = tmp_path / "bad.csv"
    bad.write_text("a,1\nb,lots\n")
    subst = {"path": path, "missing": tmp_path / "nope.csv", "bad": bad}
    p = run("tickets", *[a.format(**subst) for a in args], check=False)
    assert p.returncode == 2, p.stderr
    assert needle in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1
    assert "Traceback" not in p.stderr
    assert p.stdout == ""


def test_draw_requires_a_seed(entrants):
    path, _ = entrants
    p = run("tickets", "draw", path, "-k", 2, check=False)
    assert p.returncode == 2 and "--seed" in p.stderr
