"""`fastfair lottery draw|preview --division-column COL -k F=50 -k M=50` end to end.

Bad division options and files: one line on stderr, exit code 2, and the pool file as it
was (or not created). A realistic field (20,000 entrants, 3 divisions, 5 years, churn and
entrants changing division) through the command line only: every quota exact every
year, the published odds are the ones the draw used, verify is clean, and fairness
across the years holds within each division.
"""

from __future__ import annotations

import argparse
import csv
import io
from collections import Counter

import numpy as np
import pytest

import fastfair as ff
from fastfair.cli import divisions as cli_divisions
from fastfair.cli.errors import CliError
from fastfair.cli.files import read_entrant_table


def write_field(path, rows, header=("id", "score", "division")):
    """rows: (id, score, division) tuples."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        if header:
            w.writerow(header)
        w.writerows(rows)
    return path


def read_rows(text):
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
def small(tmp_path):
    """A pool with one divided lottery already recorded, and its entrants file."""
    rows = ([(f"f{i}", 1, "F") for i in range(6)] + [(f"m{i}", 1, "M") for i in range(5)]
            + [("w", 0, "X")])
    entrants = write_field(tmp_path / "e.csv", rows)
    return tmp_path / "pool.ffl", entrants


# --------------------------------------------------------------- reading the column


def table(path, **opts):
    ns = argparse.Namespace(**{"division_column": None, **opts})
    return read_entrant_table(str(path), ns)


def test_division_column_by_name_position_and_without_header(tmp_path):
    rows = [("a", 1, " F "), ("b", 2, "M"), ("c", 0, "masters")]
    named = table(write_field(tmp_path / "a.csv", rows), division_column="Division")
    assert named == (["a", "b", "c"], [1.0, 2.0, 0.0], ["F", "M", "masters"])
    by_pos = table(write_field(tmp_path / "b.csv", rows, header=None), division_column=2)
    assert by_pos == named
    swapped = [(d, i, s) for i, s, d in rows]
    t = table(write_field(tmp_path / "c.csv", swapped, header=("division", "id", "score")),
              division_column="division")
    assert t == named
    assert table(tmp_path / "a.csv").divisions is None  # no --division-column


@pytest.mark.parametrize("opts, needle", [
    ({"division_column": "group"}, "no column named 'group' (--division-column)"),
    ({"division_column": 1}, "the division and score columns are both column 2"),
    ({"division_column": 0}, "the division and id columns are both column 1"),
    ({"division_column": 5}, "expected at least 6 fields"),
])
def test_division_column_errors(tmp_path, opts, needle):
    path = write_field(tmp_path / "e.csv", [("a", 1, "F")])
    with pytest.raises(CliError) as err:
        table(path, **opts)
    assert needle in str(err.value), str(err.value)
    assert "\n" not in str(err.value)


def test_empty_division_names_the_line(tmp_path):
    path = write_field(tmp_path / "e.csv", [("a", 1, "F"), ("b", 1, '"\n"'), ("c", 1, "")])
    with pytest.raises(CliError) as err:
        table(path, division_column="division")
    assert str(err.value) == f"{path} line 5: empty division for id 'c'"


# ------------------------------------------------------------------- -k values


@pytest.mark.parametrize("text, value", [
    ("50", 50), ("F=50", ("F", 50)), (" masters 50+ = 3", ("masters 50+", 3)),
    ("a=b=2", ("a=b", 2)), ("F=0", ("F", 0)),
])
def test_seats_values(text, value):
    assert cli_divisions.seats_value(text) == value


@pytest.mark.parametrize("text", ["=5", "F=", "F=x", "F=-1", "F=1.5", "x"])
def test_bad_seats_values(text):
    with pytest.raises(argparse.ArgumentTypeError):
        cli_divisions.seats_value(text)


# ------------------------------------------------------------ one-line errors, exit 2


ERRORS = [
    (["-k", "F=3"], "-k F=3 gives the seats of a division: name the entrants' division "
                    "column with --division-column"),
    (["-k", "3", "--division-column", "division"],
     "-k 3: with --division-column give the seats of each division as -k LABEL=SEATS"),
    (["-k", "3", "-k", "4"], "-k given 2 times (-k 3 -k 4); give one number once"),
    (["-k", "F=3", "--waitlist", "F=1"], "-k F=3 gives the seats of a division"),
    (["-k", "3", "--waitlist", "F=1"], "--waitlist F=1 gives the alternates of a "
                                       "division: name the entrants' division column"),
    (["-k", "F=3", "-k", "M=1", "--waitlist", "2", "--waitlist", "F=1",
      "--division-column", "division"],
     "--waitlist given 2 times (--waitlist 2 --waitlist F=1); give one number, or one "
     "--waitlist LABEL=N per division"),
    (["-k", "F=3", "-k", "M=2", "-k", "F=1", "--division-column", "division"],
     "-k: division 'F' is given more than once"),
    (["-k", "F=x", "-k", "M=1", "--division-column", "division"],
     "division 'F': expected a whole number, got 'x'"),
    (["-k", "F=-2", "--division-column", "division"], "division 'F': expected a whole "
                                                     "number >= 0, got -2"),
    (["-k", "=2", "--division-column", "division"], "non-empty division label"),
    (["-k", "F=3", "--division-column", "division"],
     "division 'M' has 5 entrant(s) in {e} but no seats: add -k M=SEATS (-k M=0 for "
     "none)"),
    (["-k", "F=7", "-k", "M=2", "--division-column", "division"],
     "-k F=7: division 'F' has only 6 entrant(s) with a score > 0 in {e}"),
    (["-k", "F=1", "-k", "M=1", "-k", "X=1", "--division-column", "division"],
     "-k X=1: division 'X' has only 0 entrant(s)"),
    (["-k", "F=1", "-k", "M=1", "-k", "W=0", "--division-column", "division"],
     "-k W=0: no entrant of {e} is in division 'W' (its divisions: 'F', 'M', 'X')"),
    (["-k", "F=1", "-k", "m=1", "--division-column", "division"],
     "-k m=1: no entrant of {e} is in division 'm' (did you mean 'M'?)"),
    (["-k", "F=1", "-k", "M=1", "-k", "Masters W=0", "--division-column", "division"],
     "-k 'Masters W=0': no entrant of {e} is in division 'Masters W'"),
    (["-k", "F=1", "-k", "M=1", "--waitlist", "FF=2", "--division-column", "division"],
     "--waitlist FF=2: no entrant of {e} is in division 'FF' (did you mean 'F'?)"),
    (["-k", "F=1", "-k", "M=1", "--waitlist", "M=5", "--division-column", "division"],
     "--waitlist M=5: division 'M' has only 4 entrant(s) who do not win (5 entrant(s), 1 "
     "seat(s)) in {e}"),
    (["-k", "F=1", "-k", "M=2", "--waitlist", "4", "--division-column", "division"],
     "--waitlist 4: division 'M' has only 3 entrant(s) who do not win"),
    (["-k", "F=1", "-k", "M=1", "--division-column", "sex"],
     "no column named 'sex' (--division-column)"),
    (["-k", "F=1", "-k", "M=1", "--division-column", "2"],
     "the division and score columns are both column 2"),
]


@pytest.mark.parametrize("action, argv, message", [
    (action, argv, message) for argv, message in ERRORS for action in ("draw", "preview")
    if action == "draw" or "--waitlist" not in argv  # preview draws no waitlist
])
def test_bad_division_options_are_one_line_exit_2(cli, one_line_error, small, action,
                                                  argv, message):
    pool, entrants = small
    p = cli("lottery", action, pool, entrants, "--create", "--seed" if action == "draw"
            else "--out", 1 if action == "draw" else pool.parent / "odds.csv", *argv)
    line = one_line_error(p, 2)
    assert line.startswith(f"fastfair lottery {action}: error: "), line
    assert message.format(e=entrants) in line, line
    assert p.stdout == ""
    assert not pool.exists() and not (pool.parent / "odds.csv").exists()


def test_an_empty_division_is_one_line_through_the_installed_command(
        run, one_line_error, tmp_path):
    entrants = write_field(tmp_path / "e.csv", [("a", 1, "F"), ("b", 1, "  ")])
    pool = tmp_path / "pool.ffl"
    p = run("lottery", "draw", pool, entrants, "--create", "--division-column", "division",
            "-k", "F=1", check=False)
    assert one_line_error(p, 2) == (
        f"fastfair lottery draw: error: {entrants} line 3: empty division for id 'b'")
    assert not pool.exists()


# ------------------------------------------------- a realistic field over five years


SEATS = {"F": 800, "M": 900, "masters": 300}
YEARS = 5
FIELD = 20_000


def seasons(seed=12):
    """Five years of entrants files as lists of (id, score, division): 20,000 entrants
    a year in three divisions (F 40%, M 45%, masters 15%), a fifth of the field
    replaced by newcomers every year, 2% of F/M entrants moving to masters each year,
    and a few withdrawn entrants (score 0) still listed."""
    rng = np.random.default_rng(seed)
    next_id = 0

    def newcomers(n):
        nonlocal next_id
        ids = [f"r{next_id + j:06d}" for j in range(n)]
        next_id += n
        return dict(zip(ids, rng.choice(["F", "M", "masters"], size=n,
                                        p=[0.40, 0.45, 0.15]).tolist()))

    field = newcomers(FIELD)
    years = []
    for _ in range(YEARS):
        ids = list(field)
        withdrawn = set(rng.choice(len(ids), size=50, replace=False).tolist())
        years.append([(x, 0 if j in withdrawn else 1, field[x]) for j, x in enumerate(ids)])
        keep = rng.random(len(ids)) >= 0.2
        field = {x: field[x] for x, kept in zip(ids, keep) if kept}
        for x in field:
            if field[x] != "masters" and rng.random() < 0.02:
                field[x] = "masters"
        field.update(newcomers(FIELD - len(field)))
    return years


def test_five_years_of_divided_draws_through_the_cli(cli, run, tmp_path):
    pool = tmp_path / "race.ffl"
    kargs = [a for label, k in SEATS.items() for a in ("-k", f"{label}={k}")]
    history_of_division: dict[str, str] = {}
    for year, rows in enumerate(seasons(), start=1):
        entrants = write_field(tmp_path / f"entrants{year}.csv", rows)
        odds_path, won_path = tmp_path / f"odds{year}.csv", tmp_path / f"winners{year}.csv"
        p = cli("lottery", "preview", pool, entrants, "--create", "--division-column",
                "division", *kargs, "--out", odds_path)
        assert p.returncode == 0, p.stderr
        p = cli("lottery", "draw", pool, entrants, "--create", "--division-column",
                "division", *kargs, "--seed", 1000 + year, "--expect-lottery", year,
                "--out", won_path)
        assert p.returncode == 0, p.stderr
        # the printed summary: the totals, then each division's seats and entrants
        entered = Counter(d for _x, s, d in rows if s > 0)
        lines = p.stderr.strip().splitlines()
        if year > 1:  # the newcomers' note comes first
            assert "new member(s) joined pool 'race'" in lines.pop(0)
        assert f"recorded lottery {year} of pool" in lines[0]
        assert f"{sum(SEATS.values())} winner(s) among {sum(entered.values())} " \
               "entrant(s)" in lines[0]
        assert len(lines) == 1 + len(SEATS)
        for label in SEATS:
            assert any(line.split() == ["division", label, f"{SEATS[label]:,}",
                                        "seat(s)", "among", f"{entered[label]:,}",
                                        "entrant(s)"] for line in lines[1:]), lines
        odds = read_rows(odds_path.read_text())
        won = read_rows(won_path.read_text())
        assert list(odds[0]) == ["id", "division", "score", "probability", "lottery",
                                 "seed"]
        # every quota exact, winners only among that division's entrants
        division_of = {x: d for x, _s, d in rows}
        score_of = {x: s for x, s, _d in rows}
        assert Counter(r["division"] for r in won) == Counter(SEATS)
        assert all(division_of[r["id"]] == r["division"] and score_of[r["id"]] > 0
                   for r in won)
        # the published odds are the ones the draw used; they sum to each quota
        pi = {r["id"]: float(r["probability"]) for r in odds}
        assert all(float(r["probability"]) == pi[r["id"]] for r in won)
        for label, k in SEATS.items():
            total = sum(pi[x] for x, _s, d in rows if d == label)
            assert abs(total - k) < 1e-9
        assert all(pi[x] == 0 for x, s, _d in rows if s == 0)
        history_of_division.update(
            {f"{year}:{x}": d for x, s, d in rows if s > 0})
    # verify: replay clean, every division's winners counted independently
    p = run("lottery", "verify", pool)
    assert p.stdout.strip() == (
        f"ok: all {YEARS} lotteries of {pool} re-derive exactly; each division of the "
        f"{YEARS} lotteries drawn by division got exactly its seats")
    # history: one row per entrant and lottery, with its division that year
    hist_path = tmp_path / "history.csv"
    assert cli("lottery", "history", pool, "--out", hist_path).returncode == 0
    hist = read_rows(hist_path.read_text())
    assert list(hist[0])[:3] == ["lottery", "id", "division"]
    assert {f"{r['lottery']}:{r['id']}": r["division"] for r in hist} \
        == history_of_division
    # each lottery's deserved seats sum, within each division, to its seats
    deserved: Counter[tuple[str, str]] = Counter()
    for r in hist:
        deserved[(r["lottery"], r["division"])] += float(r["deserved"])
    for (_t, label), total in deserved.items():
        assert abs(total - SEATS[label]) < 1e-6
    # fairness across the years within each division (uniform scores): nobody is a
    # seat or more from the seats they deserved, neither those who stayed in one
    # division nor those who moved to masters (their running totals are their own)
    last, seen = {}, {}
    for r in hist:
        last[r["id"]] = r
        seen.setdefault(r["id"], set()).add(r["division"])
    worst: Counter[tuple[bool, str]] = Counter()
    for x, r in last.items():
        gap = abs(int(r["cumulative_wins"]) - float(r["cumulative_deserved"]))
        key = (len(seen[x]) > 1, r["division"])
        worst[key] = max(worst[key], gap)
    assert {label for moved, label in worst if not moved} == set(SEATS)
    assert (True, "masters") in worst  # some entrants did change division
    assert max(worst.values()) < 1, worst
    # the report shows each division of each lottery
    p = run("lottery", "report", pool)
    assert p.stdout.count("divisions: seats of entrants") == YEARS
    assert f"F: {SEATS['F']:,} of " in p.stdout


def test_waitlist_and_decline_stay_within_the_division(cli, tmp_path):
    rows = ([(f"f{i}", 1, "F") for i in range(30)] + [(f"m{i}", 1 + i % 3, "M")
                                                      for i in range(40)])
    entrants = write_field(tmp_path / "e.csv", rows)
    pool, wl = tmp_path / "pool.ffl", tmp_path / "waitlist.csv"
    p = cli("lottery", "draw", pool, entrants, "--create", "--division-column",
            "division", "-k", "F=10", "-k", "M=12", "--waitlist", "F=3", "--waitlist",
            "M=2", "--seed", 5, "--waitlist-out", wl, "--out", tmp_path / "w.csv")
    assert p.returncode == 0, p.stderr
    alternates = read_rows(wl.read_text())
    assert [(r["division"], r["position"]) for r in alternates] == [
        ("F", "1"), ("F", "2"), ("F", "3"), ("M", "1"), ("M", "2")]
    assert all(r["id"][0] == r["division"][0].lower() for r in alternates)
    winners = read_rows((tmp_path / "w.csv").read_text())
    m_winner = next(r["id"] for r in winners if r["division"] == "M")
    p = cli("lottery", "decline", pool, m_winner)
    assert p.returncode == 0, p.stderr
    first_m = next(r["id"] for r in alternates if r["division"] == "M")
    assert p.stdout.strip() == (f"{m_winner} declined lottery 1: the seat goes to "
                                f"{first_m} (division M)")
    p = cli("lottery", "verify", pool)
    assert p.returncode == 0 and "got exactly its seats" in p.stdout
    loaded = ff.LotteryPool.load(pool)
    assert loaded.declines() == [(m_winner, first_m)]
    # the same number of alternates in every division
    p = cli("lottery", "draw", pool, entrants, "--division-column", "division", "-k",
            "F=10", "-k", "M=12", "--waitlist", 2, "--seed", 6, "--waitlist-out", wl)
    assert p.returncode == 0, p.stderr
    assert Counter(r["division"] for r in read_rows(wl.read_text())) == {"F": 2, "M": 2}
    assert "4 alternate(s) on the waitlist" in p.stderr


def test_a_pool_with_undivided_and_divided_lotteries(cli, tmp_path):
    """Year 1 undivided, year 2 by division (with an entrant sitting it out): the
    files, history, report and verify say which lottery had divisions."""
    rows = [(f"a{i}", 1, "F" if i % 2 else "M") for i in range(12)]
    plain = write_field(tmp_path / "plain.csv", [(x, s) for x, s, _d in rows],
                        header=("id", "score"))
    divided = write_field(tmp_path / "div.csv", [(x, 0 if x == "a0" else s, d)
                                                 for x, s, d in rows])
    pool = tmp_path / "pool.ffl"
    assert cli("lottery", "draw", pool, plain, "-k", 4, "--create", "--seed", 1,
               "--out", tmp_path / "w1.csv").returncode == 0
    assert list(read_rows((tmp_path / "w1.csv").read_text())[0]) == [
        "id", "score", "probability", "lottery", "seed"]
    argv = ["--division-column", "division", "-k", "F=2", "-k", "M=2"]
    p = cli("lottery", "draw", pool, divided, *argv, "--preview")
    assert p.returncode == 0, p.stderr
    odds = read_rows(p.stdout)
    assert [r["division"] for r in odds] == [d for _x, _s, d in rows]
    p = cli("lottery", "draw", pool, divided, *argv, "--seed", 2, "--out",
            tmp_path / "w2.csv")
    assert p.returncode == 0, p.stderr
    won = read_rows((tmp_path / "w2.csv").read_text())
    assert {r["id"]: r["probability"] for r in won} == {
        r["id"]: r["probability"] for r in odds if r["id"] in {w["id"] for w in won}}
    p = cli("lottery", "history", pool, "--all-members")
    hist = read_rows(p.stdout)
    assert {(r["lottery"], r["division"]) for r in hist if r["id"] == "a0"} == {
        ("1", ""), ("2", "")}  # undivided lottery; sat lottery 2 out
    assert {r["division"] for r in hist if r["lottery"] == "1"} == {""}
    assert {(r["id"], r["division"]) for r in hist if r["lottery"] == "2"} == {
        (x, "" if x == "a0" else d) for x, _s, d in rows}
    p = cli("lottery", "report", pool, "--html", tmp_path / "audit.html")
    assert p.returncode == 0 and p.stdout.count("divisions: seats of entrants") == 1
    assert "F: 2 of 6 (max |wins - deserved|" in p.stdout
    assert "M: 2 of 5 (max" in p.stdout
    page = (tmp_path / "audit.html").read_text()
    assert "<li>F: 2 of 6 (max |wins - deserved|" in page
    p = cli("lottery", "verify", pool)
    assert p.stdout.strip().endswith("each division of the 1 lottery drawn by division "
                                     "got exactly its seats")


def test_verify_counts_each_divisions_winners_itself(cli, small, monkeypatch):
    """The quota count does not trust the replay: labels that put a winner in the
    wrong division fail `lottery verify` (exit 1) even though the replay is clean."""
    pool, entrants = small
    assert cli("lottery", "draw", pool, entrants, "--create", "--division-column",
               "division", "-k", "F=2", "-k", "M=1", "--seed", 3).returncode == 0
    real = ff.LotteryPool.division_labels

    def shifted(self, t=-1):
        labels = real(self, t)
        won = self.winners[:, t]
        j = next(j for j, x in enumerate(labels) if x == "F" and won[j])
        return [*labels[:j], "M", *labels[j + 1:]]

    monkeypatch.setattr(ff.LotteryPool, "division_labels", shifted)
    p = cli("lottery", "verify", pool)
    assert p.returncode == 1
    assert p.stdout.splitlines() == [
        "lottery 1: division 'F': 1 winner(s), 2 seat(s)",
        "lottery 1: division 'M': 2 winner(s), 1 seat(s)",
        f"FAILED: 2 mismatch(es) in {pool}",
    ]
