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
