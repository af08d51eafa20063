"""Named agents and items, as fairpyx and fairpy write them (no fairpyx import).

fairpyx describes an instance by *valuations*, a dict of dicts ``{agent: {item:
value}}``, and an allocation by ``{agent: [items]}``. These helpers run fastfair's online
rule on such input, with the items arriving one at a time in a given order:

>>> import fastfair as ff
>>> from fastfair.interop import allocate_named
>>> valuations = {"Alice": {"x": 5, "y": 1, "z": 3},
...               "Bob":   {"x": 4, "y": 4, "z": 1}}
>>> allocate_named(valuations, notion="ef")
{'Alice': ['x'], 'Bob': ['y', 'z']}

* :func:`allocate_named`: a whole sequence of items in one call (``run``: GIL released);
* :class:`NamedAllocator`: item by item, ``step(item, {agent: value})`` -> agent;
* :func:`fairpyx_algorithm`: an algorithm for ``fairpyx.divide`` (it only uses the
  ``AllocationBuilder`` methods ``remaining_items``, ``give`` and
  ``instance.agent_item_value``).

Agents are the keys of ``valuations`` in their order (they are the allocator's agents
``0..n-1``); an item missing from an agent's dict is worth 0 to that agent.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any, Generic, Optional, TypeVar

import numpy as np
from numpy.typing import ArrayLike

from .allocation import Notion, OnlineAllocator

__all__ = ["NamedAllocator", "allocate_named", "fairpyx_algorithm"]

A = TypeVar("A", bound=Hashable)
I = TypeVar("I", bound=Hashable)  # noqa: E741


def _item_order(valuations: Mapping[Any, Mapping[Any, Any]],
                items: Optional[Iterable[Any]]) -> list[Any]:
    if items is not None:
        order = list(items)
        if len(set(order)) != len(order):
            msg = "items must not repeat"
            raise ValueError(msg)
        return order
    seen: dict[Any, None] = {}
    for bundle in valuations.values():
        for item in bundle:
            seen.setdefault(item, None)
    return list(seen)


def _check_valuations(valuations: Any) -> list[Any]:
    if not isinstance(valuations, Mapping):
        msg = f"valuations must be a dict {{agent: {{item: value}}}}, got {type(valuations).__name__}"
        raise TypeError(msg)
    if not valuations:
        msg = "valuations must name at least one agent"
        raise ValueError(msg)
    for agent, bundle in valuations.items():
        if not isinstance(bundle, Mapping):
            msg = f"valuations[{agent!r}] must be a dict {{item: value}}, got {type(bundle).__name__}"
            raise TypeError(msg)
    return list(valuations)


def allocate_named(
    valuations: Mapping[A, Mapping[I, float]],
    notion: Notion = "prop",
    *,
    items: Optional[Sequence[I]] = None,
    allocator: Optional[OnlineAllocator] = None,
    **options: Any,
) -> dict[A, list[I]]:
    """Allocate named items, in order, to named agents with fastfair's online rule.

    Parameters
    ----------
    valuations : dict of dicts
        ``{agent: {item: value}}`` (fairpyx's ``valuations``); values finite, >= 0.
    notion : {"prop", "ef", "efk"}
        Passed to :class:`~fastfair.OnlineAllocator` (ignored with ``allocator``).
    items : sequence, optional
        The arrival order. Default: every item of ``valuations`` in order of first
        appearance (agent by agent).
    allocator : OnlineAllocator, optional
        Continue this allocator (``n_agents`` must equal the number of agents); it is
        advanced by the items. Default: a new one built with ``notion`` and ``options``.
    **options
        More :class:`~fastfair.OnlineAllocator` arguments (``p``, ``levels``,
        ``discount``, ...).

    Returns
    -------
    dict
        ``{agent: [items]}`` for every agent (an empty list if it got nothing), each
        list in arrival order.

    Raises
    ------
    TypeError, ValueError
        Malformed valuations, repeated items, an allocator of the wrong size, or bad
        values (checked for the whole sequence before anything is allocated).
    """
    agents = _check_valuations(valuations)
    order = _item_order(valuations, items)
    alloc = allocator if allocator is not None else OnlineAllocator(
        len(agents), notion, **options)
    if alloc.n_agents != len(agents):
        msg = (f"allocator has {alloc.n_agents} agents, valuations name "
               f"{len(agents)}")
        raise ValueError(msg)
    matrix = _value_matrix(valuations, agents, order)
    recipients = alloc.run(matrix) if order else np.zeros(0, dtype=np.int64)
    out: dict[A, list[I]] = {agent: [] for agent in agents}
    for item, r in zip(order, recipients.tolist()):
        out[agents[r]].append(item)
    return out


def _value_matrix(valuations: Mapping[Any, Mapping[Any, Any]], agents: list[Any],
                  order: list[Any]) -> np.ndarray:
    col = {item: t for t, item in enumerate(order)}
    matrix = np.zeros((len(order), len(agents)))
    for i, agent in enumerate(agents):
        for item, value in valuations[agent].items():
            t = col.get(item)
            if t is not None:
                matrix[t, i] = _as_value(value, agent, item)
    return matrix


def _as_value(value: Any, agent: Any, item: Any) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        msg = (f"valuations[{agent!r}][{item!r}] must be a number, "
               f"got {type(value).__name__}")
        raise TypeError(msg) from None
    if not (np.isfinite(v) and v >= 0.0):
        msg = f"valuations[{agent!r}][{item!r}] must be finite and >= 0, got {v}"
        raise ValueError(msg)
    return v


class NamedAllocator(Generic[A, I]):
    """An :class:`~fastfair.OnlineAllocator` over named agents, fed item by item.

    Parameters
    ----------
    agents : sequence
        The agents' names (unique, hashable), in the allocator's order.
    notion, **options
        As for :class:`~fastfair.OnlineAllocator`.

    Examples
    --------
    >>> from fastfair.interop import NamedAllocator
    >>> named = NamedAllocator(["Alice", "Bob"], notion="prop")
    >>> named.step("x", {"Alice": 5, "Bob": 4})
    'Alice'
    >>> named.step("y", {"Bob": 4})          # missing agents value the item at 0
    'Bob'
    >>> named.bundles
    {'Alice': ['x'], 'Bob': ['y']}
    """

    def __init__(self, agents: Sequence[A], notion: Notion = "prop", **options: Any) -> None:
        names = list(agents)
        if not names or len(set(names)) != len(names):
            msg = "agents must be a non-empty sequence of unique names"
            raise ValueError(msg)
        self._agents = names
        self._index = {a: i for i, a in enumerate(names)}
        self.allocator = OnlineAllocator(len(names), notion, **options)
        self._bundles: dict[A, list[I]] = {a: [] for a in names}

    @property
    def agents(self) -> list[A]:
        """The agents, in the allocator's order."""
        return list(self._agents)

    @property
    def bundles(self) -> dict[A, list[I]]:
        """``{agent: [items]}`` so far (a copy)."""
        return {a: list(b) for a, b in self._bundles.items()}

    def values_vector(self, values: Mapping[A, float] | ArrayLike) -> np.ndarray:
        """``values`` as the allocator's (n,) vector: a mapping by agent name (missing
        agents 0; unknown names are a ValueError) or an array in agent order."""
        if isinstance(values, Mapping):
            vec = np.zeros(len(self._agents))
            for agent, value in values.items():
                i = self._index.get(agent)
                if i is None:
                    msg = f"values names an unknown agent {agent!r}"
                    raise ValueError(msg)
                vec[i] = _as_value(value, agent, "item")
            return vec
        return np.asarray(values, dtype=np.float64)

    def step(self, item: I, values: Mapping[A, float] | ArrayLike) -> A:
        """Give ``item`` to one agent and return that agent's name."""
        winner = self._agents[self.allocator.step(self.values_vector(values))]
        self._bundles[winner].append(item)
        return winner


def fairpyx_algorithm(alloc: Any, notion: Notion = "prop", **options: Any) -> None:
    """fastfair's online rule as a fairpyx algorithm: ``fairpyx.divide(
    fairpyx_algorithm, instance=...)``.

    The remaining items are treated as arriving in the builder's order; each goes to
    the agent chosen by an :class:`~fastfair.OnlineAllocator` over all the instance's
    agents (values from ``instance.agent_item_value``). Agent capacities are not
    consulted: the online rule gives every item to someone.
    """
    instance = alloc.instance
    agents = list(instance.agents)
    items = list(alloc.remaining_items())
    valuations = {a: {x: instance.agent_item_value(a, x) for x in items} for a in agents}
    bundles = allocate_named(valuations, notion, items=items, **options)
    for agent, bundle in bundles.items():
        for item in bundle:
            alloc.give(agent, item)
