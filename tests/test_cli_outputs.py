"""winners.csv / odds.csv (fastfair.cli.outputs) and `fastfair lottery history`."""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict

import numpy as np
import pytest

import fastfair as ff
from fastfair.cli import history, outputs


def rows_of(text):
    return list(csv.DictReader(io.StringIO(text)))


def weighted_pool(n=200, lotteries=4, seed=0, k=30):
    rng = np.random.default_rng(seed)
    pool = ff.LotteryPool("w")
    ids = [f"e{i}" for i in range(n)]
    for t in range(lotteries):
        s = rng.lognormal(0, 1, n)
        s[rng.random(n) < 0.2] = 0
        pool.run_lottery(s, k, seed=100 + t, ids=ids)
    return pool, ids


# ---------------------------------------------------------------- writers, in process


def test_shortest_round_trip_text():
    for x in [0.4, 0.1 + 0.2, 1 / 3, 1.0, 0.0, 5e-324, 0.41666666666666663]:
        text = outputs.format_float(x)
        assert float(text) == x
        assert text == repr(float(x))
    assert outputs.format_float(0.4) == "0.4"  # not 0.40000000000000002
    # no shorter decimal parses back to the same float
    rng = np.random.default_rng(3)
    for x in rng.random(200).tolist():
        text = outputs.format_float(x)
        digits = len(text.lstrip("0.").replace(".", "").split("e")[0])
        assert float(f"{x:.{digits - 1}g}") != x


@pytest.mark.parametrize("to_path", [True, False])
def test_odds_and_winners_writers_round_trip(tmp_path, to_path):
    rng = np.random.default_rng(7)
    n = 50
    ids = [f"id-{i}" for i in range(n)]
    scores = rng.lognormal(0, 1, n)
    pi = rng.random(n)
    won = (rng.random(n) < 0.3).astype(np.int8)

    def write(fn, *a, **kw):
        if to_path:
            path = tmp_path / "out.csv"
            count = fn(path, *a, **kw)
            return count, path.read_text(encoding="utf-8")
        buf = io.StringIO()
        return fn(buf, *a, **kw), buf.getvalue()

    count, text = write(outputs.write_odds, ids, scores, pi, lottery=4, seed=None)
    assert text.splitlines()[0] == "id,score,probability,lottery,seed"
    got = rows_of(text)
    assert count == len(got) == n
    assert [r["id"] for r in got] == ids
    assert [float(r["score"]) for r in got] == scores.tolist()  # bit-exact
    assert [float(r["probability"]) for r in got] == pi.tolist()
    assert {r["lottery"] for r in got} == {"4"} and {r["seed"] for r in got} == {""}

    count, text = write(outputs.write_winners, ids, scores, pi, won, lottery=3,
                        seed=2**64 - 1)
    got = rows_of(text)
    expect = np.flatnonzero(won)
    assert count == len(got) == expect.size
    assert [r["id"] for r in got] == [ids[i] for i in expect]
    assert [float(r["probability"]) for r in got] == pi[expect].tolist()
    assert {r["seed"] for r in got} == {str(2**64 - 1)} and {r["lottery"] for r in got} == {"3"}


def test_writers_reject_mismatched_lengths():
    with pytest.raises(ValueError, match="same length"):
        outputs.odds_text(["a", "b"], [1.0], [0.5, 0.5], lottery=1)
    with pytest.raises(ValueError, match="winners"):
        outputs.winners_text(["a", "b"], [1.0, 1.0], [0.5, 0.5], [1], lottery=1, seed=1)


def test_ids_with_commas_and_quotes_survive():
    ids = ['a,b', 'say "hi"', "line\nbreak", "ünïcode"]
    text = outputs.odds_text(ids, [1.0] * 4, [0.25] * 4, lottery=1)
    assert [r["id"] for r in rows_of(text)] == ids


def test_printed_odds_sum_to_k():
    """The printed text parses back to the draw's floats, whose sum is k within
    the 1e-9 the sampler accepts (checked with an exact float sum)."""
    pool, ids = weighted_pool(n=3000, lotteries=3, k=400)
    rng = np.random.default_rng(11)
    s = rng.lognormal(0, 1, len(ids))
    pi = pool.preview(s, 400, ids=ids)
    printed = [float(r["probability"]) for r in
               rows_of(outputs.odds_text(ids, s, pi, lottery=4))]
    assert printed == pi.tolist()
    assert abs(math.fsum(printed) - 400) <= 1e-9


def _equal_entrants_odds():
    """Odds of a pool where every entrant is identical (same score, same history)."""
    pool = ff.LotteryPool("equal")
    ids = [f"p{i}" for i in range(20)]
    pool.run_lottery(np.ones(20), 13, seed=0, ids=ids)
    pool.run_lottery(np.ones(20), 13, seed=1, ids=ids)
    pi = pool.preview(np.ones(20), 13, ids=ids)
    won = pool.winners.sum(axis=1)
    text = outputs.odds_text(ids, np.ones(20), pi, lottery=3)
    groups = defaultdict(set)
    for r, w in zip(rows_of(text), won.tolist()):
        groups[w].add(r["probability"])
    return groups


def test_equal_entrants_groups_are_formed():
    groups = _equal_entrants_odds()
    assert set(groups) <= {0, 1, 2} and len(groups) >= 2


def test_equal_entrants_print_equal():
    """Identical entrants (same score, same history) print the same probability text.
    Printing never rounds: this holds because the projection kernel is tie-preserving
    (identical inputs give bit-identical outputs)."""
    groups = _equal_entrants_odds()
    assert all(len(texts) == 1 for texts in groups.values()), dict(groups)


# ------------------------------------------------------------------------- the CLI


def test_cli_draw_and_preview_files_have_every_column(run, tmp_path):
    pool = tmp_path / "pool.ffl"
    entrants = tmp_path / "e.csv"
    entrants.write_text("id,score\n" + "".join(f"r{i},{1 + i % 3}\n" for i in range(12)))
    odds = tmp_path / "odds.csv"
    run("lottery", "preview", pool, entrants, "-k", 4, "--create", "--out", odds)
    o = rows_of(odds.read_text())
    assert list(o[0]) == ["id", "score", "probability", "lottery", "seed"]
    assert {r["lottery"] for r in o} == {"1"} and {r["seed"] for r in o} == {""}
    assert abs(math.fsum(float(r["probability"]) for r in o) - 4) <= 1e-9

    winners = tmp_path / "winners.csv"
    run("lottery", "draw", pool, entrants, "-k", 4, "--seed", 99, "--create",
        "--out", winners)
    w = rows_of(winners.read_text())
    assert len(w) == 4
    assert {r["lottery"] for r in w} == {"1"} and {r["seed"] for r in w} == {"99"}
    by_id = {r["id"]: r for r in o}
    for r in w:  # the winners file repeats the published odds exactly
        assert r["probability"] == by_id[r["id"]]["probability"]
        assert r["score"] == by_id[r["id"]]["score"]
    # the next preview names the next lottery
    o2 = rows_of(run("lottery", "preview", pool, entrants, "-k", 4).stdout)
    assert {r["lottery"] for r in o2} == {"2"}
    loaded = ff.LotteryPool.load(pool)
    assert [r["id"] for r in w] == [
        i for i, x in zip(loaded.ids, loaded.winners[:, 0]) if x
    ]


# ------------------------------------------------------------------------- history


def check_history(text, pool, all_members=False):
    rows = rows_of(text)
    assert list(rows[0]) == list(history.HISTORY_COLUMNS)
    ids = pool.ids
    index = {x: i for i, x in enumerate(ids)}
    scores, pi, won, d = (pool.scores, pool.win_probabilities, pool.winners,
                          pool.deserved)
    seen = set()
    last_t = 0
    for r in rows:
        t = int(r["lottery"]) - 1
        assert t >= last_t  # lottery order
        last_t = t
        i = index[r["id"]]
        seen.add((t, i))
        assert float(r["score"]) == scores[i, t]
        assert float(r["probability"]) == pi[i, t]
        assert float(r["deserved"]) == d[i, t]
        assert int(r["won"]) == won[i, t]
    # cumulative columns against sums over every lottery of the pool arrays
    for r in rows:
        t, i = int(r["lottery"]) - 1, index[r["id"]]
        assert int(r["cumulative_wins"]) == int(won[i, : t + 1].sum())
        assert float(r["cumulative_deserved"]) == pytest.approx(
            math.fsum(d[i, : t + 1].tolist()), rel=1e-12, abs=1e-12)
    entered = scores > 0
    expect = entered if not all_members else np.logical_or.accumulate(entered, axis=1)
    assert seen == {(t, i) for i, t in zip(*np.nonzero(expect))}
    return rows


def test_history_function_matches_the_pool_arrays():
    pool, _ = weighted_pool()
    buf = io.StringIO()
    n = history.write_history(buf, pool)
    rows = check_history(buf.getvalue(), pool)
    assert n == len(rows) == int((pool.scores > 0).sum())
    buf = io.StringIO()
    history.write_history(buf, pool, all_members=True)
    rows_all = check_history(buf.getvalue(), pool, all_members=True)
    assert len(rows_all) > len(rows)


def test_history_cli(run, tmp_path):
    pool, _ = weighted_pool(n=60, lotteries=3, k=10)
    path = tmp_path / "pool.ffl"
    pool.save(path)
    out = tmp_path / "history.csv"
    p = run("lottery", "history", path, "--out", out)
    assert "row(s)" in p.stderr
    check_history(out.read_text(encoding="utf-8"), pool)
    assert run("lottery", "history", path).stdout == out.read_text(encoding="utf-8")
    # refused: the pool itself as output; a missing pool
    p = run("lottery", "history", path, "--out", path, check=False)
    assert p.returncode == 2 and "pool file" in p.stderr
    assert ff.LotteryPool.load(path).n_lotteries == 3
    p = run("lottery", "history", tmp_path / "nope.ffl", check=False)
    assert p.returncode == 2 and "Traceback" not in p.stderr
    p = run("lottery", "history", path, "--out", tmp_path / "no" / "dir.csv", check=False)
    assert p.returncode == 2 and "cannot write" in p.stderr and "Traceback" not in p.stderr


def test_history_of_a_positional_pool_uses_positions():
    pool = ff.LotteryPool()
    pool.run_lottery([1.0, 2.0, 0.0], 1, seed=1)
    with pytest.warns(UserWarning, match="joined"):
        pool.run_lottery([1.0, 2.0, 3.0, 1.0], 2, seed=2)
    rows = rows_of(history_text(pool))
    assert [(r["lottery"], r["id"]) for r in rows] == [
        ("1", "0"), ("1", "1"), ("2", "0"), ("2", "1"), ("2", "2"), ("2", "3")]


def history_text(pool):
    buf = io.StringIO()
    history.write_history(buf, pool)
    return buf.getvalue()


def test_identical_entrants_print_equal_in_a_weighted_pool():
    """Entrants in identical pairs (same score every lottery): members of a pair with
    the same win history print the same probability text, lottery after lottery."""
    rng = np.random.default_rng(21)
    half = 400
    ids = [f"a{i}" for i in range(half)] + [f"b{i}" for i in range(half)]
    pool = ff.LotteryPool("twins")
    compared = 0
    for t in range(5):
        s = rng.lognormal(0, 1, half)
        s[rng.random(half) < 0.2] = 0.0
        scores = np.concatenate([s, s])
        pi = pool.preview(scores, 60, ids=ids)
        text = {r["id"]: r["probability"]
                for r in rows_of(outputs.odds_text(ids, scores, pi, lottery=t + 1))}
        wins = pool.winners if pool.n_lotteries else np.zeros((2 * half, 0))
        for i in range(half):
            if pool.n_lotteries == 0 or np.array_equal(wins[i], wins[half + i]):
                assert text[f"a{i}"] == text[f"b{i}"], (t, i)
                compared += 1
        pool.run_lottery(scores, 60, seed=t, ids=ids)
    assert compared > 1000


def test_string_seeds_add_a_seed_string_column():
    ids, s, p, won = ["a", "b"], [1.0, 2.0], [0.5, 0.5], [1, 0]
    text = outputs.winners_text(ids, s, p, won, lottery=2, seed=77,
                                seed_string="12 31 40 45 48")
    rows = rows_of(text)
    assert text.splitlines()[0] == "id,score,probability,lottery,seed,seed_string"
    assert rows == [{"id": "a", "score": "1.0", "probability": "0.5", "lottery": "2",
                     "seed": "77", "seed_string": "12 31 40 45 48"}]
    # without a string seed the schema is the five documented columns
    assert outputs.odds_text(ids, s, p, lottery=1, seed=5).splitlines()[0] == (
        "id,score,probability,lottery,seed")

    from fastfair import _seed

    to_int = getattr(_seed, "seed_from_string", None)
    if to_int is None:  # string seeds not in this build: a clear error, not a guess
        with pytest.raises(TypeError, match="string seeds"):
            outputs.odds_text(ids, s, p, lottery=1, seed="beacon 42")
    else:
        rows = rows_of(outputs.odds_text(ids, s, p, lottery=1, seed="beacon 42"))
        assert {r["seed"] for r in rows} == {str(to_int("beacon 42"))}
        assert {r["seed_string"] for r in rows} == {"beacon 42"}


def test_pool_seed_reads_string_seeds_when_the_pool_has_them():
    pool, _ = weighted_pool(n=20, lotteries=2, k=3)
    assert outputs.pool_seed(pool) == (int(pool.seeds[-1]), None)
    assert outputs.pool_seed(pool, 0) == (int(pool.seeds[0]), None)

    class WithStrings:
        seeds = pool.seeds
        seed_strings = [None, "lotto 3 14 15"]

    assert outputs.pool_seed(WithStrings()) == (int(pool.seeds[-1]), "lotto 3 14 15")
    assert outputs.pool_seed(WithStrings(), 0) == (int(pool.seeds[0]), None)


def test_history_with_string_seeds_and_retired_members():
    pool = ff.LotteryPool("club")
    ids = [f"m{i}" for i in range(10)]
    if not hasattr(pool, "retire"):
        pytest.skip("this pool has no retire()")
    pool.run_lottery(np.ones(10), 3, seed=1, ids=ids)
    pool.run_lottery(np.r_[0.0, np.ones(9)], 3, seed=2, ids=ids)
    pool.retire(["m0", "m1"])
    with pytest.warns(UserWarning, match="joined"):
        pool.run_lottery(np.ones(9), 3, seed=3, ids=ids[2:] + ["new"])
    buf = io.StringIO()
    history.write_history(buf, pool, all_members=True)
    rows = rows_of(buf.getvalue())
    listed = {(r["lottery"], r["id"]) for r in rows}
    assert ("1", "m0") in listed and ("2", "m0") not in listed  # m0 last entered in 1
    assert ("2", "m1") in listed and ("3", "m1") not in listed  # retired after 2
    assert ("3", "m2") in listed and ("3", "new") in listed
    # the plain export: only who entered
    buf = io.StringIO()
    history.write_history(buf, pool)
    assert {r["id"] for r in rows_of(buf.getvalue()) if r["lottery"] == "3"} == set(
        ids[2:] + ["new"])
