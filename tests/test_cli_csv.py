"""The entrants CSV reader (issue 11): column choice, delimiters, encodings, strict
numbers and physical line numbers in every error."""

from __future__ import annotations

import argparse
import re
from decimal import Decimal, InvalidOperation

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fastfair.cli.errors import CliError
from fastfair.cli.files import add_csv_options, parse_score, read_entrants


def options(*argv):
    p = argparse.ArgumentParser()
    add_csv_options(p)
    return p.parse_args(list(argv))


def read(tmp_path, content, *argv, name="e.csv"):
    path = tmp_path / name
    if isinstance(content, str):
        path.write_bytes(content.encode("utf-8"))
    else:
        path.write_bytes(content)
    return read_entrants(str(path), options(*argv))


def error(tmp_path, content, *argv):
    with pytest.raises(CliError) as exc:
        read(tmp_path, content, *argv)
    message = str(exc.value)
    assert "\n" not in message
    return message


# --------------------------------------------------------------------- columns/headers


@pytest.mark.parametrize("text", [
    "id,score\na,1\nb,2.5\n",
    "a,1\nb,2.5\n",
    "bib,weight\na,1\nb,2.5\n",
    "Runner ID,Tickets\na,1\nb,2.5\n",
    "Bib #;Name;Tickets\na;Ann;1\nb;Bob;2.5\n",
    "name\ttickets\tclub\na\t1\tX\nb\t2.5\tY\n",
    "club,Tickets,Runner_ID\nX,1,a\nY,2.5,b\n",
    "id,score,note\na,1,\"late, paid\"\nb,2.5,\n",
    "a;1\nb;2.5\n",
    "a\t1\nb\t2.5\n",
    "id,score\r\na,1\r\n\r\nb,2.5\r\n",
    "  id , score \n a , 1 \nb,2.5",
])
def test_recognised_layouts(tmp_path, text):
    assert read(tmp_path, text) == (["a", "b"], [1.0, 2.5])


def test_columns_by_name_and_by_position(tmp_path):
    text = "club,who,n,tickets\nX,a,7,1\nY,b,8,2.5\n"
    assert read(tmp_path, text, "--id-column", "who", "--score-column", "tickets") == (
        ["a", "b"], [1.0, 2.5])
    assert read(tmp_path, text, "--id-column", "WHO", "--score-column", "4") == (
        ["a", "b"], [1.0, 2.5])
    assert read(tmp_path, text, "--id-column", "2", "--score-column", "3",
                "--header", "yes") == (["a", "b"], [7.0, 8.0])
    # positions without a recognisable header: the header row is a data row -> loud
    message = error(tmp_path, text, "--id-column", "2", "--score-column", "3")
    assert "line 1" in message and "--header yes" in message
    headerless = "X,a,7,1\nY,b,8,2.5\n"
    assert read(tmp_path, headerless, "--id-column", "2", "--score-column", "4") == (
        ["a", "b"], [1.0, 2.5])


def test_column_errors(tmp_path):
    assert "no column named 'tix'" in error(tmp_path, "id,score\na,1\n",
                                            "--score-column", "tix")
    assert "--id-column" in error(tmp_path, "x,y,score\na,b,1\n", "--header", "yes")
    assert "both column 1" in error(tmp_path, "a,1\n", "--id-column", "1",
                                    "--score-column", "1")
    assert "need a header" in error(tmp_path, "id,score\na,1\n", "--header", "no",
                                    "--id-column", "id")
    assert "at least 4 fields" in error(tmp_path, "a,1\n", "--score-column", "4")
    with pytest.raises(SystemExit):
        options("--id-column", "0")


def test_extra_fields_beyond_the_header_are_an_error(tmp_path):
    message = error(tmp_path, "name,tickets\nSmith, John,3\n")
    assert "line 2" in message and "more than the 2" in message
    # trailing empty cells (spreadsheet exports) are fine
    assert read(tmp_path, "id,score\na,1,,\nb,2\n") == (["a", "b"], [1.0, 2.0])


def test_delimiter_detection_prefers_the_stricter_split(tmp_path):
    # "1,5" is a European decimal: with ';' detected it is rejected, never read as 5
    assert "'1,5' is not a number" in error(tmp_path, "a;1,5\nb;2\n")
    assert read(tmp_path, "a;1,5\nb;2,5\n", "--delimiter", ",") == (
        ["a;1", "b;2"], [5.0, 5.0])
    assert read(tmp_path, "a|1\nb|2\n", "--delimiter", "|") == (["a", "b"], [1.0, 2.0])


# --------------------------------------------------------------------------- encodings


def test_encodings(tmp_path):
    text = "id,score\nzoë,1\nJosé,2\n"
    assert read(tmp_path, text.encode("utf-8")) == (["zoë", "José"], [1.0, 2.0])
    assert read(tmp_path, b"\xef\xbb\xbf" + text.encode("utf-8")) == (
        ["zoë", "José"], [1.0, 2.0])
    assert read(tmp_path, text.encode("cp1252"), "--encoding", "cp1252") == (
        ["zoë", "José"], [1.0, 2.0])
    assert read(tmp_path, text.encode("utf-16"), "--encoding", "utf-16") == (
        ["zoë", "José"], [1.0, 2.0])
    message = error(tmp_path, "id,score\na,1\nb,2\nJosé,3\n".encode("latin-1"))
    assert "line 4" in message and "--encoding" in message and "utf-8" in message
    with pytest.raises(SystemExit):
        options("--encoding", "no-such-codec")


# ------------------------------------------------------------------------------ scores


@pytest.mark.parametrize("raw, value", [
    ("3", 3.0), ("0", 0.0), ("0.5", 0.5), (".5", 0.5), ("5.", 5.0), ("+2", 2.0),
    ("2.5e-3", 2.5e-3), ("1E3", 1000.0), ("-0", 0.0), ("0e-999", 0.0),
    ("1e-310", 1e-310), ("1.7e308", 1.7e308),
])
def test_plain_numbers_are_accepted(raw, value):
    assert parse_score(raw) == value


@pytest.mark.parametrize("raw, why", [
    ("1_000", "not a number"), ("١٢٣", "not a number"), ("１２", "not a number"),
    ("nan", "not a number"), ("inf", "not a number"), ("Infinity", "not a number"),
    ("0x10", "not a number"), ("1,5", "not a number"), ("1e", "not a number"),
    ("", "not a number"), ("e5", "not a number"), ("1 000", "not a number"),
    ("-1", ">= 0"), ("-1e-400", ">= 0"), ("1e400", "too large"),
    ("1e-400", "underflows to 0"), ("0.0000001e-320", "underflows to 0"),
])
def test_other_numbers_are_rejected(raw, why):
    with pytest.raises(ValueError, match=re.escape(why)):
        parse_score(raw)


def reference_score(raw):
    """Independent rule: ASCII digits, one optional sign, '.', exponent; Decimal value
    >= 0 whose float is finite and not a non-zero value rounded to 0."""
    if not raw or not all(c in "0123456789+-.eE" for c in raw):
        return None
    try:
        exact = Decimal(raw)
    except InvalidOperation:
        return None
    if not exact.is_finite() or raw.lstrip("+-")[:1] in ("e", "E"):
        return None
    value = float(raw)
    if value < 0 or value == float("inf") or (value == 0 and exact != 0):
        return None
    return value


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="0123456789+-.eE_ ", max_size=12)
       | st.from_regex(r"\A[+-]?[0-9]{0,3}\.?[0-9]{0,3}([eE][+-]?[0-9]{1,3})?\Z"))
def test_parse_score_matches_an_independent_rule(raw):
    expected = reference_score(raw)
    if expected is None:
        with pytest.raises(ValueError):
            parse_score(raw)
    else:
        assert parse_score(raw) == expected


def test_a_tiny_score_names_its_line_instead_of_dropping_the_entrant(tmp_path):
    message = error(tmp_path, "id,score\na,1\nb,1e-400\nc,1\n")
    assert "line 3" in message and "1e-400" in message


# --------------------------------------------------------------------- line numbers


def test_line_numbers_count_physical_lines(tmp_path):
    text = 'id,score\n"multi\nline\nid",1\n\n"x",bad\n'
    assert "line 6" in error(tmp_path, text)
    text = 'id,score\r\n"a\r\nb",1\r\nc,"1\n2"\r\n'
    assert "line 4" in error(tmp_path, text)  # the score cell starts on line 4
    assert "line 3: duplicate id 'a' (first on line 2)" in error(
        tmp_path, "id,score\na,1\na,2\n")
    assert "line 2: malformed CSV" in error(tmp_path, 'id,score\n"a"x,1\n')


ids = st.text(alphabet='ab \n\r",;\t', min_size=1, max_size=6).filter(
    lambda s: s.strip() != "")


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(ids, min_size=1, max_size=8, unique_by=lambda s: s.strip()),
       st.integers(0, 7), st.sampled_from(["\n", "\r\n"]), st.booleans())
def test_error_line_is_the_physical_line_of_the_bad_cell(tmp_path, names, bad, eol,
                                                         blank):
    bad %= len(names)
    rows = []
    for i, name in enumerate(names):
        quoted = '"' + name.replace('"', '""') + '"'
        rows.append(f"{quoted},{'BAD' if i == bad else '1'}")
        if blank:
            rows.append("")
    text = "id,score" + eol + eol.join(rows) + eol
    prefix = text[: text.index(",BAD")]
    expected = len(re.findall(r"\r\n|\r|\n", prefix)) + 1
    message = error(tmp_path, text)
    assert message.startswith(f"{tmp_path / 'e.csv'} line {expected}: "), message


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=200) | st.text(max_size=200).map(lambda s: s.encode()))
def test_arbitrary_bytes_give_entrants_or_a_clean_error(tmp_path, blob):
    try:
        got_ids, scores = read(tmp_path, blob)
    except CliError as exc:
        assert "\n" not in str(exc)
        return
    assert got_ids and len(got_ids) == len(scores)
    assert len(set(got_ids)) == len(got_ids) and all(i == i.strip() and i for i in got_ids)
    assert all(0 <= s < float("inf") for s in scores)
