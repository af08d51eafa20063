"""`fastfair bench` measures its yardsticks (floors, vectorised NumPy, the NumPy exact
pool, memory) in the same run and reports ratios and goals consistently. Untimed: no
test here asserts a speed."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from fastfair.cli.bench import format_markdown
from fastfair.cli.bench_common import SpeedRow


def _bench(*args):
    p = subprocess.run([sys.executable, "-m", "fastfair", "bench", "--quick", "--no-progress",
                        *args], capture_output=True, text=True, timeout=600, check=False)
    assert p.returncode == 0, p.stderr
    return p.stdout


def test_goal_helpers():
    row = SpeedRow("s", "c", 2.0, {"other": 10.0}, {"floor": 1.0})
    assert row.speedups() == {"other": 5.0} and row.floor_ratios() == {"floor": 2.0}
    assert row.speedup_goal("other", 5.0).goal_met is True
    assert row.speedup_goal("other", 6.0).goal_met is False
    assert row.floor_goal("floor", 2.0).goal_met is True
    assert row.floor_goal("floor", 1.5).goal_met is False
    assert SpeedRow("s", "c", 0.4e-6).time_goal(0.5e-6).goal_met is True
    assert SpeedRow("s", "c", 0.6e-6).time_goal(0.5e-6).goal_met is False


def test_sampling_and_lottery_rows_carry_their_yardsticks():
    report = json.loads(_bench("--json", "--section", "sampling", "--section", "lottery"))
    speed = report["speed"]
    for r in speed:
        if r["case"].startswith("projection"):
            assert set(r["floors_s"]) == {"copy-floor"} and "numpy-exact" in r["others_s"]
        elif r["case"].startswith("pipage"):
            assert set(r["floors_s"]) == {"pipage-floor"} and "numpy-pairs" in r["others_s"]
        else:
            assert {"numpy-exact-pool", "numpy-exact-pool-loop"} <= set(r["others_s"])
        for k, v in r["floors_s"].items():
            assert v > 0 and r["vs_floor"][k] == pytest.approx(r["fastfair_s"] / v)
    (mem,) = report["memory"]
    if sys.platform.startswith("linux"):
        # a pool keeps at least position, score, probability and winner per entrant
        assert 13 <= mem["bytes_per_unit"] < 200
        assert mem["detail"]["later_lotteries_b_per_entrant_and_lottery"] > 0


def test_online_rows_have_vectorised_loops_and_a_bare_call():
    report = json.loads(_bench("--json", "--section", "online"))
    cases = {r["case"]: r for r in report["speed"]}
    for name in ("prop n=8", "prop n=1024", "ef n=128 rounds 1-1000", "ef n=128 rounds 2001-3000",
                 "pdm n=8 x4 alternatives"):
        assert "numpy-vectorised" in cases[f"{name}, per round (run)"]["others_s"], name
    assert cases["prop n=8, per round (run)"]["goal"].startswith(">= 1,000x")
    from fastfair import _core

    if hasattr(_core, "_set_fast_potential"):
        assert "exact-path" in cases["ef n=8, per round (run)"]["others_s"]
    step = cases["prop n=8, one step() call"]
    assert len(step["floors_s"]) == 1 and step["goal"] == "< 0.5 us"
    md = format_markdown(report)
    assert "| what | fastfair |" in md and "numpy-vectorised" in md
    table_rows = [line for line in md.splitlines() if line.startswith("| online: ")]
    assert len(table_rows) == len(report["speed"]) + len(report["fairness"])
    judged = [line for line in table_rows if line.endswith(("| met |", "| **not met** |"))]
    assert len(judged) == sum(1 for r in report["speed"] if r["goal"])
