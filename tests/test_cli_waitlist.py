"""CLI: draw --waitlist / --waitlist-out / --seed-string and lottery decline."""

from __future__ import annotations

import csv

import numpy as np

import fastfair as ff
from fastfair.cli import main


def _entrants(path, n=300):
    rng = np.random.default_rng(2)
    path.write_text("id,score\n" + "".join(f"r{i},{int(rng.integers(1, 4))}\n"
                                          for i in range(n)))


def _rows(path):
    with open(path, newline="") as fh:
        return list(csv.reader(fh))


def test_draw_with_waitlist_then_declines(tmp_path, capsys):
    pool, ent = tmp_path / "pool.ffl", tmp_path / "e.csv"
    _entrants(ent)
    wl, out = tmp_path / "wl.csv", tmp_path / "w.csv"
    assert main(["lottery", "draw", str(pool), str(ent), "-k", "30", "--create",
                 "--seed-string", "04 11 23 38 45", "--waitlist", "4",
                 "--waitlist-out", str(wl), "--out", str(out)]) == 0
    assert "4 alternate(s) on the waitlist" in capsys.readouterr().err
    rows = _rows(wl)
    assert rows[0] == ["position", "id", "lottery", "seed"]
    p = ff.LotteryPool.load(pool)
    assert [r[1] for r in rows[1:]] == p.waitlist()
    assert p.seed_strings == ["04 11 23 38 45"]
    assert [r[0] for r in rows[1:]] == ["1", "2", "3", "4"]
    winners = [r[0] for r in _rows(out)[1:]]
    assert main(["lottery", "decline", str(pool), winners[0], "--expect-lottery", "1"]) == 0
    assert f"the seat goes to {rows[1][1]}" in capsys.readouterr().out
    # the same winner again, an unknown id, the wrong lottery: one line, exit 2/5
    assert main(["lottery", "decline", str(pool), winners[0]]) == 2
    assert main(["lottery", "decline", str(pool), "nobody"]) == 2
    assert main(["lottery", "decline", str(pool), winners[1], "--expect-lottery", "2"]) == 5
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(e.startswith("fastfair lottery decline: error:") for e in err)
    p = ff.LotteryPool.load(pool)
    assert p.declines() == [(winners[0], rows[1][1])]
    assert p.verify()
    assert main(["lottery", "verify", str(pool)]) == 0


def test_bad_waitlist_options_change_nothing(tmp_path, capsys):
    pool, ent = tmp_path / "pool.ffl", tmp_path / "e.csv"
    _entrants(ent, n=10)
    assert main(["lottery", "draw", str(pool), str(ent), "-k", "3", "--create",
                 "--seed", "1"]) == 0
    before = pool.read_bytes()
    for extra in (["--waitlist", "8"], ["--waitlist", "-1"],
                  ["--seed-string", "x"],  # with --seed 1 below: both given
                  ["--waitlist", "2", "--waitlist-out", str(pool)]):
        code = main(["lottery", "draw", str(pool), str(ent), "-k", "3", "--seed", "1",
                     *extra])
        assert code == 2, extra
        assert pool.read_bytes() == before
    capsys.readouterr()
