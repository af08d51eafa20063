"""`fastfair tickets odds|draw` end to end in subprocesses."""

from __future__ import annotations

import csv

import numpy as np
import pytest

import fastfair as ff


@pytest.fixture
def entrants(tmp_path):
    path = tmp_path / "entrants.csv"
    tickets = [1, 2, 4, 8, 16, 0, 1, 2, 32, 64]
    path.write_text("id,score\n" + "".join(f"r{i},{t}\n" for i, t in enumerate(tickets)))
    return path, np.array(tickets, dtype=float)


def test_odds_match_the_library(run, entrants, tmp_path):
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


def test_draw_is_replayable_and_matches_the_library(run, entrants):
    path, t = entrants
    p = run("tickets", "draw", path, "-k", 3, "--seed", 42, "--waitlist", 2)
    rows = list(csv.DictReader(p.stdout.splitlines()))
    order = ff.draw_tickets(t, 3, seed=42, waitlist=2)
    assert [r["id"] for r in rows] == [f"r{j}" for j in order]
    assert [r["status"] for r in rows] == ["winner"] * 3 + ["waitlist"] * 2
    assert [int(r["position"]) for r in rows] == [1, 2, 3, 4, 5]
    assert list(rows[0]) == ["position", "id", "tickets", "status", "seed"]
    assert {r["seed"] for r in rows} == {"42"}
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
def test_errors_are_one_line_exit_2(run, entrants, tmp_path, args, needle):
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


def test_csv_options_are_shared_with_lottery(run, tmp_path):
    path = tmp_path / "semi.csv"
    path.write_text("tickets;bib\n4;a\n1;b\n2;c\n")
    p = run("tickets", "odds", path, "-k", 1, "--delimiter", ";", "--id-column", "bib",
            "--score-column", "tickets")
    rows = list(csv.DictReader(p.stdout.splitlines()))
    assert [r["id"] for r in rows] == ["a", "b", "c"]
    np.testing.assert_allclose([float(r["probability"]) for r in rows],
                               [4 / 7, 1 / 7, 2 / 7], rtol=0, atol=1e-15)


def test_draw_requires_a_seed(run, entrants):
    path, _ = entrants
    p = run("tickets", "draw", path, "-k", 2, check=False)
    assert p.returncode == 2 and "--seed" in p.stderr


def test_draw_with_a_published_seed_string(run, entrants):
    from fastfair._seed import seed_from_string

    path, t = entrants
    text = "04 11 23 38 45"
    p = run("tickets", "draw", path, "-k", 3, "--seed-string", text)
    seed = seed_from_string(text)
    order = ff.draw_tickets(t, 3, seed=seed)
    assert [r["id"] for r in csv.DictReader(p.stdout.splitlines())] == [
        f"r{j}" for j in order]
    assert f"seed {seed} (from --seed-string '{text}')" in p.stderr
    rows = list(csv.DictReader(p.stdout.splitlines()))
    assert {(r["seed"], r["seed_string"]) for r in rows} == {(str(seed), text)}
    # the same rule as `lottery draw --seed-string`
    replay = list(csv.DictReader(run("tickets", "draw", path, "-k", 3, "--seed",
                                     seed).stdout.splitlines()))
    assert [r["id"] for r in replay] == [r["id"] for r in rows]
    for argv, needle in ((["--seed", "1", "--seed-string", "x"], "not allowed with"),
                         (["--seed-string", ""], "empty")):
        q = run("tickets", "draw", path, "-k", 3, *argv, check=False)
        assert q.returncode == 2 and needle in q.stderr, q.stderr
        assert len(q.stderr.strip().splitlines()) == 1 and q.stdout == ""


def test_odds_print_the_table_per_ticket_count(run, entrants, tmp_path):
    import re

    path, t = entrants
    p = run("tickets", "odds", path, "-k", 3, "--waitlist", 2, "--out", tmp_path / "o.csv")
    lines = p.stderr.strip().splitlines()
    counts = np.unique(t[t > 0])
    assert lines[0] == (f"ticket hat: 3 place(s) among {int((t > 0).sum())} entrant(s), "
                        f"{counts.size} ticket count(s)")
    win, wl = ff.ticket_odds(t, 3), ff.ticket_odds(t, 3, waitlist=2)
    expected = 0.0
    for c, line in zip(counts, lines[1:], strict=True):
        m = re.fullmatch(r"\s*(\S+) ticket\(s\): (\d+) entrant\(s\), P\(place\) (\S+), "
                         r"expected places (\S+), P\(place or waitlist\) (\S+)", line)
        assert m and float(m.group(1)) == c, line
        j = int(np.flatnonzero(t == c)[0])
        assert int(m.group(2)) == int((t == c).sum())
        assert float(m.group(3)) == float(f"{win[j]:.4g}")
        assert float(m.group(5)) == float(f"{wl[j]:.4g}")
        expected += float(m.group(4))
    assert abs(expected - 3) < 1e-2  # the expected places add up to k
    # many distinct counts: one line with the range
    many = tmp_path / "many.csv"
    many.write_text("id,tickets\n" + "".join(f"r{i},{1 + i / 7}\n" for i in range(50)))
    lines = run("tickets", "odds", many, "-k", 5).stderr.strip().splitlines()
    assert len(lines) == 1 and "50 ticket count(s); odds" in lines[0]
