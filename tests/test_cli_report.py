"""`fastfair lottery report`: the readable audit (text and HTML) and its extension point."""

from __future__ import annotations

import hashlib
import html.parser
import json

import numpy as np
import pytest

import fastfair as ff
from fastfair.cli import report


def make_pool(name="club <&> \"x\""):
    pool = ff.LotteryPool(name)
    ids = ["ann", "bob", "<script>alert(1)</script>", "dave", "eve"]
    pool.run_lottery([1.0, 2.0, 1.0, 0.0, 3.0], 2, seed=5, ids=ids[:5])
    pool.run_lottery([1.0, 1.0, 1.0, 1.0, 0.0], 1, seed=6, ids=ids[:5])
    with pytest.warns(UserWarning, match="joined"):
        pool.run_lottery([1.0, 1.0, 1.0], 2, seed=7, ids=["ann", "frank", "gus"])
    return pool


def independent_hash(pairs):
    """The documented rule, written out again."""
    entries = sorted([i, float(s)] for i, s in pairs if s > 0)
    text = json.dumps(entries, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_input_hash_rule():
    a = report.input_hash(["b", "a", "z"], [2.0, 1.0, 0.0])
    assert a == independent_hash([("a", 1.0), ("b", 2.0)])
    # order of the file and non-entrants do not matter; ids and scores do
    assert a == report.input_hash(["a", "b"], [1, 2])
    assert a != report.input_hash(["a", "b"], [1.0, 2.0000000000000004])
    assert a != report.input_hash(["a", "c"], [1.0, 2.0])
    # the text hashed is plain JSON: an auditor can rebuild it by hand
    text = '[["a",1.0],["b",2.0]]'
    assert a == hashlib.sha256(text.encode()).hexdigest()


def test_text_report_lists_every_lottery():
    pool = make_pool()
    text = report.report_text(pool)
    assert text.count("\nLottery ") == 3
    assert "ok: all 3 lotteries re-derive exactly" in text
    blocks = text.split("\nLottery ")[1:]
    assert "entrants                     4 (4 new)" in blocks[0]
    assert "4 (1 new)" in blocks[1]  # dave entered for the first time
    assert "3 (2 new)" in blocks[2]
    for t, block in enumerate(blocks):
        assert f"seed                         {int(pool.seeds[t])}" in block
        assert f"winners (k)                  {int(pool.lottery_sizes[t])}" in block
        col = pool.scores[:, t]
        h = independent_hash(zip(pool.ids, col.tolist()))
        assert h in block
        assert "ok (re-derived exactly)" in block
    # no waitlist / declines rows for a pool without them
    assert "waitlist" not in text and "declines" not in text


def test_html_report_is_escaped_and_self_contained():
    pool = make_pool()
    page = report.report_html(pool)
    assert "<script" not in page
    assert "club &lt;&amp;&gt; &quot;x&quot;" in page
    assert "http://" not in page and "https://" not in page and "src=" not in page

    class Check(html.parser.HTMLParser):
        def __init__(self):
            super().__init__()
            self.stack, self.rows = [], 0

        def handle_starttag(self, tag, attrs):
            if tag not in ("meta", "br"):
                self.stack.append(tag)
            self.rows += tag == "tr"

        def handle_endtag(self, tag):
            assert self.stack and self.stack[-1] == tag, (tag, self.stack[-3:])
            self.stack.pop()

    c = Check()
    c.feed(page)
    assert c.stack == []  # well nested
    assert c.rows >= 3 + 1 + 5  # lottery rows + header + pool rows


def test_extension_point_adds_a_row_everywhere(monkeypatch):
    """A later feature adds its row by registering one function (no loop edits)."""
    monkeypatch.setattr(report, "_LOTTERY_ROWS", list(report._LOTTERY_ROWS))

    @report.lottery_field("odd-one")
    def odd(view):
        if view.number % 2 == 0:
            return None
        return report.Field("odd lottery", f"#{view.number}", items=["x<y"])

    pool = make_pool()
    text = report.report_text(pool)
    assert text.count("odd lottery") == 2
    assert "#1: x<y" in text
    page = report.report_html(pool)
    assert "<th>odd lottery</th>" in page and "x&lt;y" in page


def test_waitlist_and_declines_rows_appear_when_the_pool_has_them():
    """Pools that record waitlists and declines (a later feature) get their rows; the
    report reads them with getattr, so a pool without them works unchanged."""
    pool = make_pool()

    class WithWaitlist:
        def __init__(self, inner):
            self._inner = inner

        def __getattr__(self, name):
            return getattr(self._inner, name)

        def waitlist(self, t=-1):
            return [] if t == 1 else [f"alt{j}" for j in range(11)] + [2]  # a position

        def declines(self, t=-1):
            return [("bob", "alt0")] if t == 0 else []

        seed_strings = [None, "12 34 56", None]

    text = report.report_text(WithWaitlist(pool))
    blocks = text.split("\nLottery ")[1:]
    assert "12 alternates: alt0, alt1" in blocks[0] and "(12 in all)" in blocks[0]
    assert "<script>alert(1)</script>" not in blocks[0]  # the 12th is not listed
    assert "waitlist" not in blocks[1]
    assert "bob -> alt0" in blocks[0] and "declines" not in blocks[2]
    assert "from the string '12 34 56'" in blocks[1]
    page = report.report_html(WithWaitlist(pool))
    assert page.count("<li>alt10</li>") == 2  # the full list, in each lottery
    # position 2 is shown as its id, escaped
    assert page.count("<li>&lt;script&gt;alert(1)&lt;/script&gt;</li>") == 2
    assert "<script" not in page


def tampered_pool():
    pool = make_pool()
    st = pool.__getstate__()
    winners = np.array(st["winners"], copy=True)
    # lottery 2 (members 0..4): move a win to someone else, keeping k
    start = 5
    col = winners[start : start + 5]
    won, lost = np.flatnonzero(col == 1)[0], np.flatnonzero((col == 0) & (np.array(
        st["scores"][start : start + 5]) > 0))[0]
    col[won], col[lost] = 0, 1
    st["winners"] = winners
    bad = ff.LotteryPool.__new__(ff.LotteryPool)
    bad.__setstate__(st)
    return bad


def test_report_shows_a_failed_verify():
    bad = tampered_pool()
    assert not bad.verify()
    text = report.report_text(bad)
    assert "FAILED: lottery 2" in text or "FAILED: lotteries" in text
    blocks = text.split("\nLottery ")[1:]
    assert "FAILED" in blocks[1] and "FAILED" not in blocks[0]
    assert 'class="bad"' in report.report_html(bad)


def test_report_cli(run, tmp_path):
    pool = make_pool()
    path = tmp_path / "pool.ffl"
    pool.save(path)
    out = tmp_path / "audit.html"
    p = run("lottery", "report", path, "--html", out)
    assert p.stdout == report.report_text(ff.LotteryPool.load(path))
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    bad = tmp_path / "bad.ffl"
    tampered_pool().save(bad)
    p = run("lottery", "report", bad, check=False)
    assert p.returncode == 1 and "FAILED" in p.stdout
    p = run("lottery", "report", path, "--html", path, check=False)
    assert p.returncode == 2 and "pool file" in p.stderr
    p = run("lottery", "report", tmp_path / "missing.ffl", check=False)
    assert p.returncode == 2 and "Traceback" not in p.stderr


def test_report_of_an_empty_pool():
    pool = ff.LotteryPool("empty")
    assert "no lotteries recorded yet" in report.report_text(pool)
    assert "No lotteries recorded yet." in report.report_html(pool)


def test_report_shows_real_string_seeds_and_retirements():
    pool = ff.LotteryPool("club")
    if not hasattr(pool, "seed_strings") or not hasattr(pool, "retire"):
        pytest.skip("this pool has no string seeds / retire()")
    ids = [f"m{i}" for i in range(8)]
    pool.run_lottery(np.ones(8), 2, seed="04 11 23 35 42", ids=ids)
    pool.retire(["m0"])
    pool.run_lottery(np.ones(7), 2, seed=9, ids=ids[1:])
    text = report.report_text(pool)
    blocks = text.split("\nLottery ")[1:]
    assert f"{int(pool.seeds[0])} (from the string '04 11 23 35 42')" in blocks[0]
    assert "from the string" not in blocks[1]
    assert "retired members              1" in text
    assert "ok: all 2 lotteries re-derive exactly" in text


def test_report_shows_a_real_waitlist_and_decline(run, tmp_path):
    pool = ff.LotteryPool("race")
    if not hasattr(pool, "decline"):
        pytest.skip("this pool has no waitlists")
    ids = [f"r{i}" for i in range(30)]
    won = pool.run_lottery(np.ones(30), 5, seed=1, ids=ids, waitlist=4)
    decliner = next(i for i, x in zip(ids, won) if x)
    replacement = pool.decline(decliner)
    alternates = pool.waitlist()
    text = report.report_text(pool)
    assert f"4 alternates: {', '.join(map(str, alternates))}" in text
    assert f"1 decline: {decliner} -> {replacement}" in text
    assert "ok (re-derived exactly)" in text
    page = report.report_html(pool)
    assert f"<li>{decliner} -&gt; {replacement}</li>" in page
    # through a saved file and the command
    path = tmp_path / "race.ffl"
    pool.save(path)
    assert run("lottery", "report", path).stdout == text
