"""The multi-year comparison of `fastfair bench --section tickets` (issue 12): the
ticket hat, independent draws and the fair pool on one simulated field. Checked
against its own definitions: every method fills exactly the seats every year among
that year's runners, deserved seats are seats / runners per year entered, the
longest waits re-derive from the wins, and the fair pool stays within 2 seats."""

from __future__ import annotations

import numpy as np

from fastfair.cli.bench_tickets import METHODS, simulate_years


def _longest_runs(entered, won):
    """Longest run of entered-and-lost years per runner (years without entry keep
    the run, a win ends it), by a plain loop."""
    years, n = entered.shape
    out = np.zeros(n, dtype=np.int64)
    for i in range(n):
        run = best = 0
        for y in range(years):
            if entered[y, i] and not won[y, i]:
                run += 1
            elif won[y, i]:
                run = 0
            best = max(best, run)
        out[i] = best
    return out


def test_three_methods_on_one_field():
    runners, seats, years = 300, 40, 12
    res = simulate_years(runners, seats, years, churn=0.1, seed=3)
    deserved = res.deserved
    step = np.diff(np.vstack([np.zeros(deserved.shape[1]), deserved]), axis=0)
    entered = step > 0
    # everyone entered that year deserves seats / runners (equal scores)
    np.testing.assert_allclose(step[entered], seats / runners, rtol=1e-12)
    assert np.all(entered.sum(axis=1) == runners)
    assert np.array_equal(entered.any(axis=0), res.ever)
    for m in METHODS:
        wins = res.gap[m] + deserved
        won = np.diff(np.vstack([np.zeros(wins.shape[1]), wins]), axis=0)
        np.testing.assert_allclose(won, np.round(won), atol=1e-9)
        won = np.round(won).astype(np.int64)
        assert set(np.unique(won).tolist()) <= {0, 1}, m
        assert np.all(won.sum(axis=1) == seats), m          # exactly the seats
        assert not np.any(won.astype(bool) & ~entered), m   # only runners of the year
        np.testing.assert_array_equal(res.longest_wait[m], _longest_runs(entered, won))
    worst = {m: float(np.abs(res.gap[m][:, res.ever]).max()) for m in METHODS}
    assert worst["fastfair-pool"] < 2.0
    assert worst["fastfair-pool"] < worst["independent-draws"]
    # the same seed gives the same comparison
    again = simulate_years(runners, seats, years, churn=0.1, seed=3)
    for m in METHODS:
        np.testing.assert_array_equal(again.gap[m], res.gap[m])
