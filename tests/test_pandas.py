"""pandas Series by duck typing: the index is the ids, results keep the index.

Runs with pandas when it is installed, and always with a minimal Series look-alike (so
the duck typing itself is tested without pandas).
"""

from __future__ import annotations

import numpy as np
import pytest

import fastfair as ff
from fastfair import _pandas


class FakeIndex(list):
    def equals(self, other):
        return list(self) == list(other)


class FakeSeries:
    """The smallest Series: ndim, index, name, to_numpy and the constructor."""

    ndim = 1

    def __init__(self, data, index=None, name=None):
        self._data = np.asarray(data)
        self.index = FakeIndex(range(len(self._data)) if index is None else index)
        self.name = name

    def to_numpy(self):
        return self._data.copy()


def _series_types():
    out = [FakeSeries]
    try:
        import pandas as pd
    except ImportError:
        pass
    else:
        out.append(pd.Series)
    return out


@pytest.fixture(params=_series_types(), ids=lambda t: t.__module__.split(".")[0])
def Series(request):
    return request.param


def test_duck_typing_is_narrow():
    assert _pandas.is_series(FakeSeries([1.0]))
    assert not _pandas.is_series(np.ones(3))
    assert not _pandas.is_series([1.0, 2.0])
    pd = pytest.importorskip("pandas")
    assert _pandas.is_series(pd.Series([1.0]))
    assert not _pandas.is_series(pd.DataFrame({"a": [1.0]}))


def test_ids_list():
    assert _pandas.ids_list(["a", "b"]) == ["a", "b"]
    assert _pandas.ids_list([3, np.int64(4)]) == ["3", "4"]
    with pytest.raises(TypeError, match="not a mix"):
        _pandas.ids_list(["a", 3])
    assert _pandas.ids_list(np.arange(3)) == ["0", "1", "2"]
    with pytest.raises(TypeError, match="str or integer labels, got float"):
        _pandas.ids_list([1.5])
    with pytest.raises(TypeError, match="got bool"):
        _pandas.ids_list([True])
    with pytest.raises(TypeError, match="single string"):
        _pandas.ids_list("abc")


def test_fair_probabilities_keeps_the_index(Series):
    d = Series([0.3, 0.5, 0.9, 0.1], index=["w", "x", "y", "z"], name="deserved")
    r = Series([0.0, 0.0, 1.0, 0.0], index=["w", "x", "y", "z"])
    pi = ff.fair_probabilities(d, r, 1)
    assert type(pi) is Series and list(pi.index) == ["w", "x", "y", "z"]
    assert pi.name == "deserved"
    expected = ff.fair_probabilities(d.to_numpy(), r.to_numpy(), 1)
    assert np.array_equal(np.asarray(pi.to_numpy()), expected)
    pi2, info = ff.fair_probabilities(d, r.to_numpy(), 1, return_info=True)
    assert type(pi2) is Series and info.converged
    other = Series([0.0, 0.0, 1.0, 0.0], index=["a", "b", "c", "d"])
    with pytest.raises(ValueError, match="share one index"):
        ff.fair_probabilities(d, other, 1)


def test_pool_uses_the_index_as_ids(Series):
    s = Series([1.0, 2.0, 0.0, 4.0], index=["ann", "bob", "cy", "dee"])
    pool = ff.LotteryPool("series")
    pi = pool.preview(s, 2)
    assert type(pi) is Series and list(pi.index) == list(s.index)
    w = pool.run_lottery(s, 2, seed=5)
    assert type(w) is Series and list(w.index) == list(s.index)
    assert pool.ids == ["ann", "bob", "cy", "dee"]
    plain = ff.LotteryPool("plain")
    expected = plain.run_lottery([1.0, 2.0, 0.0, 4.0], 2, seed=5,
                                 ids=["ann", "bob", "cy", "dee"])
    assert np.array_equal(np.asarray(w.to_numpy()), expected)
    # a later lottery in another order, with a newcomer, lines up by label
    s2 = Series([3.0, 1.0, 1.0], index=["dee", "eve", "ann"])
    with pytest.warns(UserWarning, match="joined"):
        w2 = pool.run_lottery(s2, 1, seed=6)
    with pytest.warns(UserWarning, match="joined"):
        e2 = plain.run_lottery([3.0, 1.0, 1.0], 1, seed=6, ids=["dee", "eve", "ann"])
    assert list(w2.index) == ["dee", "eve", "ann"]
    assert np.array_equal(np.asarray(w2.to_numpy()), e2)


def test_integer_labels_work_as_ids(Series):
    s = Series([1.0, 1.0, 2.0], index=[10, 20, 30])
    pool = ff.LotteryPool("ints")
    w = pool.run_lottery(s, 1, seed=1)
    assert list(w.index) == [10, 20, 30]
    assert pool.ids == ["10", "20", "30"]
    # ids=s.index with a plain array, and integer ids from a range
    pool2 = ff.LotteryPool("ints2")
    w2 = pool2.run_lottery(s.to_numpy(), 1, seed=1, ids=s.index)
    assert np.array_equal(w2, np.asarray(w.to_numpy())) and pool2.ids == pool.ids
    pool3 = ff.LotteryPool("range")
    pool3.run_lottery([1.0, 2.0], 1, seed=2, ids=range(2))
    assert pool3.ids == ["0", "1"]


def test_bad_labels_change_nothing(Series):
    pool = ff.LotteryPool("bad")
    with pytest.raises(TypeError, match="str or integer labels"):
        pool.run_lottery(Series([1.0, 2.0], index=[0.5, 1.5]), 1, seed=1)
    with pytest.raises(TypeError, match="not a mix"):
        pool.run_lottery(Series([1.0, 2.0], index=[1, "1"]), 1, seed=1)
    with pytest.raises(ValueError, match="unique"):
        pool.run_lottery(Series([1.0, 2.0], index=[1, np.int64(1)]), 1, seed=1)
    assert pool.n_lotteries == 0 and pool.ids is None
