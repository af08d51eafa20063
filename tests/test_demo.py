"""``fastfair demo`` end to end (small sizes), in a temporary folder."""

from __future__ import annotations

import csv
import importlib.util

import numpy as np
import pytest

import fastfair as ff
from fastfair.cli import main

SMALL = ["--years", "3", "--members", "80", "--places", "0.1", "--items", "20000",
         "--agents", "4", "--seed", "7"]
HAVE_MPL = importlib.util.find_spec("matplotlib") is not None


def _rows(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def test_demo_writes_every_file_consistently(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), *SMALL]) == 0
    printed = capsys.readouterr().out
    assert str(out.resolve()) in printed and "report.md" in printed
    pool = ff.LotteryPool.load(str(out / "club.fflottery"))
    assert pool.n_lotteries == 3 and pool.verify()
    for year in (1, 2, 3):
        entrants = _rows(out / f"entrants-year{year}.csv")
        odds = _rows(out / f"odds-year{year}.csv")
        winners = _rows(out / f"winners-year{year}.csv")
        assert entrants[0] == ["id", "score"] and odds[0][:2] == ["id", "score"]
        ids = [r[0] for r in entrants[1:]]
        assert [r[0] for r in odds[1:]] == ids
        col_p = odds[0].index("probability")
        probs = np.array([float(r[col_p]) for r in odds[1:]])
        k = int(pool.lottery_sizes[year - 1])
        assert abs(probs.sum() - k) < 1e-9
        won = [r[0] for r in winners[1:]]
        assert len(won) == k and set(won) <= set(ids)
        # the pool recorded exactly these winners
        col = pool.winners[:, year - 1]
        assert sorted(won) == sorted(pool.ids[j] for j in np.flatnonzero(col))
    audit = (out / "lottery-audit.txt").read_text(encoding="utf-8")
    assert "lotteries" in audit and "3" in audit
    assert (out / "lottery-audit.html").read_text(encoding="utf-8").lstrip().startswith("<")
    history = _rows(out / "history.csv")
    assert "lottery" in history[0] and len(history) > 1
    sched = _rows(out / "scheduler.csv")
    assert sched[0][0] == "items" and sched[0][-1] == "bound"
    assert int(sched[-1][0]) == 20000
    for row in sched[1:]:
        assert float(row[1]) <= float(row[-1])  # fastfair within its guarantee
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "lottery verify`: passed" in report and "20,000 jobs" in report
    pngs = sorted(p.name for p in out.glob("*.png"))
    if HAVE_MPL:
        assert pngs == ["lottery-members.png", "lottery-unfairness.png",
                        "scheduler-deficits.png"]
        for name in pngs:
            assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    else:
        assert pngs == []


def test_demo_is_deterministic_and_reruns_cleanly(tmp_path, capsys):
    a, b = tmp_path / "a", tmp_path / "b"
    args = [*SMALL, "--no-plots"]
    assert main(["demo", "--out", str(a), *args]) == 0
    assert main(["demo", "--out", str(b), *args]) == 0
    assert main(["demo", "--out", str(b), *args]) == 0  # a rerun starts a fresh pool
    capsys.readouterr()
    for name in ("winners-year3.csv", "odds-year2.csv", "scheduler.csv"):
        assert (a / name).read_bytes() == (b / name).read_bytes()
    assert not list(b.glob("*.png"))
    assert ff.LotteryPool.load(str(b / "club.fflottery")).n_lotteries == 3


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--places", "1.5"], "--places must lie strictly between 0 and 1"),
        (["--seed", "-1"], "--seed must be >= 0"),
    ],
)
def test_demo_bad_options_exit_2(tmp_path, capsys, extra, message):
    assert main(["demo", "--out", str(tmp_path / "x"), *SMALL, *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.count("\n") == 1


def test_demo_out_must_be_a_folder(tmp_path, capsys):
    target = tmp_path / "file"
    target.write_text("not a folder")
    assert main(["demo", "--out", str(target), *SMALL]) == 2
    err = capsys.readouterr().err
    assert "fastfair demo: error:" in err and err.count("\n") == 1
    assert target.read_text() == "not a folder"


def test_demo_rejects_non_numbers(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["demo", "--years", "zero"])
    assert exc.value.code == 2
    assert "expected a whole number" in capsys.readouterr().err
