"""fastfair.interop: fairpyx-style named agents and items (no fairpyx needed)."""

from __future__ import annotations

import numpy as np
import pytest

import fastfair as ff
from fastfair.interop import NamedAllocator, allocate_named, fairpyx_algorithm


def _random_valuations(rng, n, m, holes=0.2):
    agents = [f"agent{i}" for i in range(n)]
    items = [f"item{t}" for t in range(m)]
    vals = {a: {x: float(rng.random()) for x in items if rng.random() > holes}
            for a in agents}
    return agents, items, vals


@pytest.mark.parametrize("notion", ["prop", "ef"])
def test_same_decisions_as_the_matrix_call(notion):
    rng = np.random.default_rng(5)
    agents, items, vals = _random_valuations(rng, 5, 300)
    matrix = np.array([[vals[a].get(x, 0.0) for a in agents] for x in items])
    expected = ff.OnlineAllocator(5, notion).run(matrix)
    got = allocate_named(vals, notion, items=items)
    assert list(got) == agents
    owner = {x: a for a, bundle in got.items() for x in bundle}
    assert sorted(owner) == sorted(items)  # every item exactly once
    assert [agents.index(owner[x]) for x in items] == expected.tolist()
    for bundle in got.values():  # each bundle in arrival order
        assert bundle == sorted(bundle, key=items.index)


def test_default_item_order_is_first_appearance_and_missing_is_zero():
    vals = {"A": {"x": 1.0, "z": 2.0}, "B": {"y": 3.0, "x": 1.0}}
    got = allocate_named(vals)
    order = ["x", "z", "y"]
    matrix = np.array([[1.0, 1.0], [2.0, 0.0], [0.0, 3.0]])
    rec = ff.OnlineAllocator(2).run(matrix)
    assert got == {a: [order[t] for t in range(3) if rec[t] == i]
                   for i, a in enumerate(["A", "B"])}


def test_integer_names_and_empty_bundles():
    vals = {10: {1: 1.0}, 20: {1: 1.0}, 30: {1: 1.0}}
    got = allocate_named(vals)
    assert got == {10: [1], 20: [], 30: []}


def test_continues_an_allocator_and_options_pass_through():
    vals = {"A": {"x": 1.0, "y": 1.0}, "B": {"x": 1.0, "y": 1.0}}
    alloc = ff.OnlineAllocator(2, "ef", p=3.0)
    allocate_named(vals, allocator=alloc)
    assert alloc.rounds == 2 and alloc.p == 3.0
    assert ff.OnlineAllocator(2, "prop", discount=0.5).discount == 0.5
    allocate_named(vals, "prop", discount=0.5)
    with pytest.raises(ValueError, match="allocator has 3 agents"):
        allocate_named(vals, allocator=ff.OnlineAllocator(3))


def test_efk_levels_pass_through():
    vals = {"A": {"x": 2.0, "y": 1.0}, "B": {"x": 1.0, "y": 2.0}}
    got = allocate_named(vals, "efk", levels=[1.0, 2.0])
    assert got == {"A": ["x"], "B": ["y"]}


@pytest.mark.parametrize(
    ("vals", "kwargs", "exc", "match"),
    [
        ([1, 2], {}, TypeError, "valuations must be a dict"),
        ({}, {}, ValueError, "at least one agent"),
        ({"A": [1.0]}, {}, TypeError, r"valuations\['A'\] must be a dict"),
        ({"A": {"x": "big"}}, {}, TypeError, r"valuations\['A'\]\['x'\] must be a number"),
        ({"A": {"x": -1.0}}, {}, ValueError, "finite and >= 0"),
        ({"A": {"x": float("nan")}}, {}, ValueError, "finite and >= 0"),
        ({"A": {"x": 1.0}}, {"items": ["x", "x"]}, ValueError, "must not repeat"),
    ],
)
def test_bad_input_changes_nothing(vals, kwargs, exc, match):
    alloc = ff.OnlineAllocator(1)
    with pytest.raises(exc, match=match):
        allocate_named(vals, allocator=alloc, **kwargs)
    assert alloc.rounds == 0


def test_named_allocator_step_by_step_matches_allocate_named():
    rng = np.random.default_rng(9)
    agents, items, vals = _random_valuations(rng, 4, 100)
    named = NamedAllocator(agents, notion="ef")
    for x in items:
        named.step(x, {a: vals[a][x] for a in agents if x in vals[a]})
    assert named.bundles == allocate_named(vals, "ef", items=items)
    assert named.agents == agents and named.allocator.rounds == 100
    with pytest.raises(ValueError, match="unknown agent 'zed'"):
        named.step("extra", {"zed": 1.0})
    assert named.allocator.rounds == 100
    assert named.step("arr", np.ones(4)) in agents
    with pytest.raises(ValueError, match="unique"):
        NamedAllocator(["a", "a"])


class _Instance:
    def __init__(self, valuations):
        self.valuations = valuations
        self.agents = list(valuations)

    def agent_item_value(self, agent, item):
        return self.valuations[agent].get(item, 0)


class _Builder:
    """The part of fairpyx's AllocationBuilder that fairpyx_algorithm uses."""

    def __init__(self, valuations, items):
        self.instance = _Instance(valuations)
        self._items = list(items)
        self.bundles = {a: [] for a in valuations}

    def remaining_items(self):
        return list(self._items)

    def give(self, agent, item):
        self._items.remove(item)
        self.bundles[agent].append(item)


def test_fairpyx_algorithm_gives_every_item_through_the_builder():
    rng = np.random.default_rng(2)
    agents, items, vals = _random_valuations(rng, 3, 40)
    builder = _Builder(vals, items)
    fairpyx_algorithm(builder, notion="prop")
    assert builder.remaining_items() == []
    assert builder.bundles == allocate_named(vals, "prop", items=items)
