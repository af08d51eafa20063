"""`fastfair lottery preview --division-column`: the per-division summary on stderr
(seats, entrants, range and average of the odds), checked against the library's own
preview of the same field; the odds file on stdout is unchanged by it."""

from __future__ import annotations

import csv
import io
import re

import numpy as np

import fastfair as ff

LINE = re.compile(r"  division (\S+)\s+(\d+) seat\(s\) among ([\d,]+) entrant\(s\), "
                  r"odds (\S+) to (\S+) \(average (\S+)\)")


def _field(path, rng, n=3000):
    labels = rng.choice(["F", "M", "masters", "Ünï"], n, p=[0.4, 0.4, 0.15, 0.05])
    scores = rng.lognormal(0.0, 1.0, n) * (rng.random(n) < 0.9)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "score", "division"])
        w.writerows((f"r{i}", repr(float(s)), d) for i, (s, d) in
                    enumerate(zip(scores, labels)))
    return [f"r{i}" for i in range(n)], scores, labels.tolist()


def test_divided_preview_summarises_each_division(cli, tmp_path):
    rng = np.random.default_rng(12)
    entrants = tmp_path / "e.csv"
    ids, scores, labels = _field(entrants, rng)
    seats = {"F": 60, "M": 50, "masters": 20, "Ünï": 3}
    pool_path = tmp_path / "pool.ffl"
    ks = [x for d, s in seats.items() for x in ("-k", f"{d}={s}")]
    # one divided lottery first, so the odds are not just the deserved seats
    code, _, err = cli("lottery", "draw", pool_path, entrants, "--division-column",
                       "division", *ks, "--seed", 3, "--create")
    assert code == 0, err
    code, out, err = cli("lottery", "preview", pool_path, entrants, "--division-column",
                         "division", *ks)
    assert code == 0, err
    lines = err.strip().splitlines()
    entered = scores > 0
    assert lines[0] == (f"odds of lottery 2 of pool 'pool' ({pool_path}), not drawn: "
                        f"{sum(seats.values())} seat(s) among {int(entered.sum()):,} "
                        "entrant(s)")
    pool = ff.LotteryPool.load(pool_path)
    pi = pool.preview(scores, seats, ids=ids, divisions=labels)
    # the odds file is the library's preview, row for row
    rows = list(csv.DictReader(io.StringIO(out)))
    np.testing.assert_array_equal([float(r["probability"]) for r in rows], pi)
    parsed = [LINE.fullmatch(x) for x in lines[1:]]
    assert all(parsed), lines
    assert [m.group(1) for m in parsed] == sorted(seats)  # code order
    lab = np.array(labels)
    for m in parsed:
        d = m.group(1)
        sel = entered & (lab == d)
        assert int(m.group(2)) == seats[d]
        assert int(m.group(3).replace(",", "")) == int(sel.sum())
        assert float(m.group(4)) == float(f"{pi[sel].min():.4g}")
        assert float(m.group(5)) == float(f"{pi[sel].max():.4g}")
        # the odds of a division add up to its seats
        assert abs(float(m.group(6)) - seats[d] / sel.sum()) <= 1e-3 * seats[d] / sel.sum()


def test_undivided_preview_stays_quiet(cli, tmp_path):
    entrants = tmp_path / "e.csv"
    entrants.write_text("id,score\na,1\nb,2\nc,3\n")
    code, out, err = cli("lottery", "preview", tmp_path / "p.ffl", entrants, "-k", 1,
                         "--create")
    assert code == 0 and err == "" and out.startswith("id,score,probability")
