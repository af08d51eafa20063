"""Perpetual, horizon-free online fair allocation with the p-potential rule.

``OnlineAllocator`` gives each arriving item to one of ``n_agents`` agents;
``PublicDecisionMaker`` picks one of several alternatives each round. Both keep their
state in C++ and pick the action minimising ``S = sum_q phi_p(d_q)`` after the round,
with ``phi_p(x) = (1 + max(x, 0)^2)^(p/2)`` (docs/formulas.md sections 2-6, 8).
"""

from __future__ import annotations

import numbers
from typing import Any, Dict, Literal, Optional, TypeVar, Union

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _core
from ._validate import as_int, as_real_array

__all__ = ["OnlineAllocator", "PublicDecisionMaker"]

_NOTIONS = ("prop", "ef", "efk")

#: the fairness notions of ``OnlineAllocator``
Notion = Literal["prop", "ef", "efk"]
#: tie rules of ``OnlineAllocator``
TieBreak = Literal["value", "index"]
#: tie rules of ``PublicDecisionMaker``
PdmTieBreak = Literal["welfare", "index"]


def _check_tie(tie_break: Any, allowed: tuple[str, ...]) -> str:
    if not isinstance(tie_break, str):
        msg = f"tie_break must be a str, got {type(tie_break).__name__}"
        raise TypeError(msg)
    if tie_break not in allowed:
        msg = f"tie_break must be one of {allowed}, got {tie_break!r}"
        raise ValueError(msg)
    return tie_break


def _check_weight(weight: Any) -> float:
    w = _check_real(weight, "weight")
    if w is None or not (0.0 < w <= 1e300):
        msg = f"weight must be positive, finite and <= 1e300, got {w}"
        raise ValueError(msg)
    return w


def _check_agent(agent: Any, n: int) -> int:
    if isinstance(agent, (bool, np.bool_)) or not isinstance(agent, numbers.Integral):
        msg = f"agent must be an int, got {type(agent).__name__}"
        raise TypeError(msg)
    if not 0 <= int(agent) < n:
        msg = f"agent index must lie in [0, {n}), got {agent}"
        raise ValueError(msg)
    return int(agent)


_MAX_AGENTS = 2**24


def _check_n(n_agents: Any) -> int:
    n = as_int(n_agents, "n_agents", 1)
    if n > _MAX_AGENTS:
        msg = f"n_agents must be an integer in [1, 2^24], got {n}"
        raise ValueError(msg)
    return n


def _check_real(x: Any, name: str) -> Optional[float]:
    if x is None:
        return None
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        msg = f"{name} must be a real number or None, got {type(x).__name__}"
        raise TypeError(msg)
    try:
        return float(x)
    except OverflowError:
        msg = f"{name} is too large: {x}"
        raise ValueError(msg) from None


def _check_discount(discount: Any) -> Optional[float]:
    g = _check_real(discount, "discount")
    if g is not None and not (0.0 < g < 1.0):
        msg = f"discount must lie strictly between 0 and 1, got {g}"
        raise ValueError(msg)
    return g


def _check_p(p: Any) -> Optional[float]:
    q = _check_real(p, "p")
    if q is not None and not (q >= 2.0 and np.isfinite(q)):
        msg = f"p must be a finite number >= 2, got {q}"
        raise ValueError(msg)
    return q


_RuleT = TypeVar("_RuleT", bound="_PotentialRule")


class _PotentialRule:
    """Read-outs and pickling shared by the p-potential rules (a C++ engine in
    ``self._impl``; subclasses define ``step``, ``run``, ``state`` and ``from_state``)."""

    __slots__ = ()
    _impl: Any

    @property
    def p(self) -> float:
        """The exponent of the potential."""
        return float(self._impl.p)

    @property
    def deficits(self) -> NDArray[np.float64]:
        """Current normalised deficits (a copy): (n,) for prop and public decisions,
        (n, n) with a zero diagonal for ef, (n, n, L) for efk."""
        return self._impl.deficits()  # type: ignore[no-any-return]

    @property
    def max_deficit(self) -> float:
        """The largest normalised deficit (0 when nobody is behind)."""
        return float(self._impl.max_deficit())

    @property
    def potential(self) -> float:
        """Phi = S^(1/p), computed without overflow."""
        return float(self._impl.potential())

    @property
    def rounds(self) -> int:
        """Number of rounds (items or decisions) so far."""
        return int(self._impl.rounds())

    @property
    def utilities(self) -> NDArray[np.float64]:
        """Each agent's utility, shape (n,) (undiscounted): the value of its own bundle
        (allocation) or of the chosen alternatives (public decisions)."""
        return self._impl.utilities()  # type: ignore[no-any-return]

    def bound(self) -> float:
        """The guarantee tau_p(t) at the current round: every deficit is <= bound().

        With no scheduler extension in use this is tau_p(t) of docs/formulas.md
        section 3 (with a discount, the time-uniform bound of section 8). With eligibility,
        churn or weights, ``t C / K`` becomes the running sum of the per-round second
        moments and m the current number of quality variables
        (docs/scheduler-extensions.md).
        """
        return float(self._impl.bound())

    @property
    def active(self) -> NDArray[np.bool_]:
        """Which agents are active (a copy; removed agents are False)."""
        fn = getattr(self._impl, "active", None)
        if fn is None:
            return np.ones(self.n_agents, dtype=bool)
        return fn()  # type: ignore[no-any-return]

    @property
    def n_agents(self) -> int:
        """Number of agents ever added (removed ones included; indices are stable)."""
        return int(self._impl.n_agents)

    def remove_agent(self, agent: int) -> None:
        """Remove an agent for good: it never receives again and its quality
        variables freeze (with a discount they still decay). Indices stay stable;
        inputs keep one entry per agent ever added (removed agents' entries are
        ignored). ValueError for an unknown or already removed agent."""
        self._require_churn()
        self._impl.remove_agent(_check_agent(agent, self.n_agents))

    def _require_churn(self) -> None:
        if not hasattr(self._impl, "add_agent"):
            msg = "add_agent/remove_agent are not supported with notion='efk'"
            raise NotImplementedError(msg)

    @property
    def state(self) -> Dict[str, Any]:  # pragma: no cover - overridden
        raise NotImplementedError

    #: the constructor arguments recorded in ``state`` (same names as ``__init__``)
    _STATE_ARGS: tuple[str, ...] = ()
    #: arguments added after the first state format, with the value older states imply
    _STATE_DEFAULTS: Dict[str, Any] = {}

    @classmethod
    def from_state(cls: type[_RuleT], state: Dict[str, Any]) -> _RuleT:
        """Rebuild the object from ``state``; it continues exactly as the original."""
        if not isinstance(state, dict):
            msg = f"state must be a dict, got {type(state).__name__}"
            raise TypeError(msg)
        try:
            args = {name: state[name] for name in cls._STATE_ARGS if name not in cls._STATE_DEFAULTS}
            # keys added later: states written before them continue exactly as before
            for name, old in cls._STATE_DEFAULTS.items():
                args[name] = state.get(name, old)
            obj = cls(**args)
            obj._impl.set_state(state["engine"])
        except KeyError as exc:
            msg = f"state is missing key {exc}"
            raise ValueError(msg) from None
        return obj

    def to_json(self) -> str:
        """``state`` as a JSON document (lossless: ``from_json`` rebuilds the object
        exactly; the format is described in :mod:`fastfair._json`)."""
        from . import _json

        return _json.dumps(type(self).__name__, self.state)

    @classmethod
    def from_json(cls: type[_RuleT], text: Union[str, bytes]) -> _RuleT:
        """Rebuild the object from ``to_json()``'s text; it continues exactly as the
        original would. A document for another class, or malformed, is a ValueError."""
        from . import _json

        return cls.from_state(_json.loads(text, cls.__name__))

    def __getstate__(self) -> Dict[str, Any]:
        return self.state

    def __setstate__(self, state: Dict[str, Any]) -> None:
        other = type(self).from_state(state)
        slots: tuple[str, ...] = type(self).__slots__
        for name in slots:
            setattr(self, name, getattr(other, name))


class OnlineAllocator(_PotentialRule):
    """Give each arriving item to one agent so that the allocation stays fair forever.

    Every round an item arrives with its value for each agent; the allocator gives it to
    the agent that minimises the p-potential ``S = sum_q phi_p(d_q)`` of the normalised
    deficits after the round. No horizon is needed, and at every round
    ``max_deficit <= bound()``.

    Parameters
    ----------
    n_agents : int
        Number of agents (>= 1); more can join later with ``add_agent``.
    notion : {"prop", "ef", "efk"}
        ``"prop"``: PROP_c, one deficit per agent (its proportional-share shortfall over
        its largest missed item), O(n) per round. ``"ef"``: EF_c, one deficit per ordered
        pair (envy over the largest item of the other's bundle), O(n^2) per round.
        ``"efk"``: EF_k by threshold deficits over the value set ``levels``.
    p : float, optional
        Exponent of the potential, >= 2. Default ``max(2, ln m)`` with m the number of
        quality variables at construction (n for prop, n(n-1) for ef, n(n-1)L for efk).
    levels : array_like, optional
        efk only: the positive item values, given up front.
    discount : float, optional
        gamma in (0, 1): discounted memory (Appendix D); deficits follow
        ``D <- gamma D + increment`` while scales stay undiscounted running maxima.
        Not available for efk.
    tie_break : {"value", "index"}
        Which minimiser to take when several actions give the same potential.
        ``"value"`` (default): among the actions whose potential lies within a relative
        1e-12 of the minimum (the float state makes exact ties inexact), the highest
        value to the recipient, then the agent least ahead (largest raw deficit; for
        ef the largest total envy), then the lowest index. ``"index"``: the lowest
        index among exact minima (the rule before version 0.2). Both keep the
        guarantee. efk always uses the lowest index.
    weights : array_like, optional
        prop only: positive entitlements, one per agent (default all 1). Agent i's
        share of each item it is eligible for is ``w_i / sum(w_j, j eligible)``.
        ValueError with ``notion="ef"`` or ``"efk"``.

    Notes
    -----
    Scheduler extensions (docs/scheduler-extensions.md): ``step(values, eligible)``
    restricts an item to some agents (it counts only for them); ``add_agent`` and
    ``remove_agent`` change the set of agents with stable indices. ``bound()`` stays a
    proven guarantee under all of them.

    Objects are not thread-safe: a call while another thread is inside a call on the
    same object raises ``RuntimeError``. ``run`` releases the GIL, so separate objects
    can run in separate threads. Item values must be finite, >= 0 and at most
    DBL_MAX / 2^64 (~9.7e288, so that no sum can overflow); bad input raises before any
    state changes.

    Examples
    --------
    >>> import fastfair as ff
    >>> alloc = ff.OnlineAllocator(3)
    >>> alloc.step([1.0, 0.5, 0.2])
    0
    >>> alloc.step([1.0, 0.5, 0.2], eligible=[False, True, True])
    1
    """

    __slots__ = ("_args", "_impl", "_notion")
    _STATE_ARGS = ("n_agents", "notion", "p", "levels", "discount", "tie_break", "weights")
    _STATE_DEFAULTS = {"tie_break": "index", "weights": None}
    _impl: Any  # the C++ engine (prop, ef or efk)

    def __init__(
        self,
        n_agents: int,
        notion: Notion = "prop",
        p: Optional[float] = None,
        levels: Optional[ArrayLike] = None,
        discount: Optional[float] = None,
        tie_break: TieBreak = "value",
        weights: Optional[ArrayLike] = None,
    ) -> None:
        n = _check_n(n_agents)
        if not isinstance(notion, str):
            msg = f"notion must be a str, got {type(notion).__name__}"
            raise TypeError(msg)
        if notion not in _NOTIONS:
            msg = f"notion must be one of {_NOTIONS}, got {notion!r}"
            raise ValueError(msg)
        pv = _check_p(p)
        g = _check_discount(discount)
        tb = _check_tie(tie_break, ("value", "index"))
        if levels is not None and notion != "efk":
            msg = f"levels is only valid with notion='efk', got notion={notion!r}"
            raise ValueError(msg)
        w = None
        if weights is not None:
            if notion != "prop":
                msg = f"weights are only supported with notion='prop', got notion={notion!r}"
                raise ValueError(msg)
            w = as_real_array(weights, "weights").copy()
            if w.shape != (n,):
                msg = f"weights must have shape ({n},), got {w.shape}"
                raise ValueError(msg)
            if not np.all((w > 0) & (w <= 1e300)):
                msg = "weights must be positive, finite and <= 1e300"
                raise ValueError(msg)
        if notion == "efk":
            if discount is not None:
                msg = "discount is not supported with notion='efk'"
                raise ValueError(msg)
            if levels is None:
                msg = "levels is required with notion='efk'"
                raise ValueError(msg)
            from ._efk import make_efk_engine  # type: ignore[import-not-found,import-untyped,unused-ignore]

            self._impl = make_efk_engine(n, levels, pv)
            tb = "index"  # efk always breaks ties by the lowest index
        elif notion == "prop":
            self._impl = _core.PropEngine(n, pv, g, tb, w)
        else:
            self._impl = _core.EfEngine(n, pv, g, tb)
        self._notion = notion
        self._args = (n, notion, pv, None if levels is None else np.array(levels, dtype=np.float64),
                      g, tb, w)

    # -- decisions ---------------------------------------------------------------------
    def step(self, values: ArrayLike, eligible: Optional[ArrayLike] = None) -> int:
        """Allocate one item.

        Parameters
        ----------
        values : array_like, shape (n_agents,)
            The item's value for each agent (finite, >= 0).
        eligible : array_like of bool, shape (n_agents,), optional
            Which agents may receive the item (bool, or 0/1 numbers). The item counts
            only for eligible active agents: for the others its value is taken as 0.
            At least one active agent must be eligible. Default: every active agent.

        Returns
        -------
        int
            The recipient (always an eligible active agent).

        Notes
        -----
        A C-contiguous float64 ``numpy.ndarray`` (and a bool ``eligible`` array) is read
        in place, the cheapest call; any other array-like is converted first, with the
        same checks and the same result.
        """
        # kept minimal: this wrapper is most of a step's cost at small n
        if eligible is None:
            return self._impl.step(values)  # type: ignore[no-any-return]
        if self._notion == "efk":
            self._require_mask()
        return self._impl.step(values, eligible)  # type: ignore[no-any-return]

    def run(self, values_matrix: ArrayLike, eligible: Optional[ArrayLike] = None) -> NDArray[np.int64]:
        """Allocate T items in one call (GIL released); same result as T ``step`` calls.

        Parameters
        ----------
        values_matrix : array_like, shape (T, n_agents)
        eligible : array_like of bool, shape (n_agents,) or (T, n_agents), optional
            One mask for every round or one per round (see ``step``). The whole input is
            validated before the first round.

        Returns
        -------
        numpy.ndarray of int64, shape (T,)
            The recipients.
        """
        if eligible is None:
            return self._impl.run(values_matrix)  # type: ignore[no-any-return]
        self._require_mask()
        return self._impl.run(values_matrix, eligible)  # type: ignore[no-any-return]

    def _require_mask(self) -> None:
        if self._notion == "efk":
            msg = "eligible is not supported with notion='efk'"
            raise NotImplementedError(msg)

    def add_agent(self, weight: float = 1.0) -> int:
        """Add an agent and return its index (the next integer; indices are stable).

        Its quality variables start at deficit 0 and count only items from now on
        (prop: one deficit; ef: the 2(n-1) pairs with the new agent). From now on
        ``values`` and ``eligible`` need one more entry. ``weight`` (prop only) is its
        entitlement; any other notion accepts only 1. Cost: amortised O(1) for prop
        with unit weights (O(n) with weights), O(n^2) for ef (the pair matrices are
        re-laid out).
        """
        self._require_churn()
        w = _check_weight(weight)
        if self._notion == "prop":
            return int(self._impl.add_agent(w))
        if w != 1.0:
            msg = f"weights are only supported with notion='prop', got notion={self._notion!r}"
            raise ValueError(msg)
        return int(self._impl.add_agent())

    # -- read-outs ---------------------------------------------------------------------
    @property
    def notion(self) -> str:
        """The fairness notion ("prop", "ef" or "efk")."""
        return self._notion

    @property
    def discount(self) -> Optional[float]:
        """gamma, or None without discounting."""
        return self._args[4]

    @property
    def tie_break(self) -> str:
        """The tie rule ("value" or "index"; efk always breaks ties by index)."""
        return str(self._args[5])

    @property
    def weights(self) -> NDArray[np.float64]:
        """Each agent's entitlement (a copy; all 1 unless weights were given)."""
        fn = getattr(self._impl, "weights", None)
        if fn is None:
            return np.ones(self.n_agents)
        return fn()  # type: ignore[no-any-return]

    def efk(self) -> int:
        """The k such that the allocation is EF_k now (efk notion only)."""
        fn = getattr(self._impl, "efk", None)
        if fn is None:
            msg = f"efk() is only available with notion='efk', not {self._notion!r}"
            raise ValueError(msg)
        return int(fn())

    # -- state ---------------------------------------------------------------------------
    @property
    def state(self) -> Dict[str, Any]:
        """A dict (numpy arrays and scalars) from which ``from_state`` rebuilds the
        object exactly. ``n_agents`` and ``weights`` are the constructor's; agents added
        later, the active set and the bound's running sums are in ``engine``."""
        n, notion, p, levels, g, tb, w = self._args
        return {
            "n_agents": n,
            "notion": notion,
            "p": p,
            "levels": None if levels is None else levels.copy(),
            "discount": g,
            "tie_break": tb,
            "weights": None if w is None else w.copy(),
            "engine": self._impl.get_state(),
        }

    def __repr__(self) -> str:
        return (
            f"OnlineAllocator(n_agents={self.n_agents}, notion={self._notion!r}, "
            f"p={self.p:.6g}, discount={self.discount}, tie_break={self.tie_break!r}, "
            f"rounds={self.rounds})"
        )


class PublicDecisionMaker(_PotentialRule):
    """Choose one of several alternatives each round, proportionally fair forever.

    Each round every agent values every alternative; the rule picks the alternative
    minimising the p-potential of the PROP_c deficits ``(D_i)_+ / R_i`` (R_i the
    running maximum of agent i's best per-round value), O(n * alternatives) per round.

    Parameters
    ----------
    n_agents : int
        Number of agents (>= 1); more can join later with ``add_agent``.
    p : float, optional
        Exponent of the potential, >= 2; default ``max(2, ln n)``.
    discount : float, optional
        gamma in (0, 1): discounted memory (Appendix D).
    tie_break : {"welfare", "index"}
        ``"welfare"`` (default): among the alternatives whose potential lies within a
        relative 1e-12 of the minimum, the highest total value (sum over active
        agents), then the lowest index. ``"index"``: the lowest index among exact
        minima (the rule before version 0.2). Both keep the guarantee.

    Notes
    -----
    ``step(values, available)`` restricts a round to some alternatives (each agent's
    best value is then taken over them); ``add_agent``/``remove_agent`` change the set
    of agents with stable indices (removed agents' rows are ignored). Not thread-safe:
    a call while another thread is inside a call on the same object raises
    ``RuntimeError``; ``run`` releases the GIL.

    Examples
    --------
    >>> import fastfair as ff
    >>> pdm = ff.PublicDecisionMaker(2)
    >>> pdm.step([[1.0, 0.0], [0.0, 1.0]])
    0
    """

    __slots__ = ("_args", "_impl")
    _STATE_ARGS = ("n_agents", "p", "discount", "tie_break")
    _STATE_DEFAULTS = {"tie_break": "index"}
    _impl: Any

    def __init__(
        self,
        n_agents: int,
        p: Optional[float] = None,
        discount: Optional[float] = None,
        tie_break: PdmTieBreak = "welfare",
    ) -> None:
        n = _check_n(n_agents)
        pv = _check_p(p)
        g = _check_discount(discount)
        tb = _check_tie(tie_break, ("welfare", "index"))
        self._impl = _core.PdmEngine(n, pv, g, tb)
        self._args = (n, pv, g, tb)

    def step(self, values: ArrayLike, available: Optional[ArrayLike] = None) -> int:
        """Decide one round.

        Parameters
        ----------
        values : array_like, shape (n_agents, n_alternatives)
            Each agent's value for each alternative (finite, >= 0).
        available : array_like of bool, shape (n_alternatives,), optional
            Which alternatives may be chosen (bool or 0/1; at least one). Each agent's
            best value u*_i is taken over the available ones. Default: all.

        Returns
        -------
        int
            The chosen alternative.

        Notes
        -----
        A C-contiguous float64 ``numpy.ndarray`` (and a bool ``available`` array) is
        read in place, the cheapest call; any other array-like is converted first.
        """
        if available is None:
            return self._impl.step(values)  # type: ignore[no-any-return]
        return self._impl.step(values, available)  # type: ignore[no-any-return]

    def run(self, values_tensor: ArrayLike, available: Optional[ArrayLike] = None) -> NDArray[np.int64]:
        """Decide T rounds (GIL released); same result as T ``step`` calls.

        Parameters
        ----------
        values_tensor : array_like, shape (T, n_agents, n_alternatives)
        available : array_like of bool, shape (n_alternatives,) or (T, n_alternatives), optional
            Validated in full before the first round.

        Returns
        -------
        numpy.ndarray of int64, shape (T,)
        """
        if available is None:
            return self._impl.run(values_tensor)  # type: ignore[no-any-return]
        return self._impl.run(values_tensor, available)  # type: ignore[no-any-return]

    def add_agent(self, weight: float = 1.0) -> int:
        """Add an agent and return its index; its deficit starts at 0 and counts only
        decisions from now on. ``values`` then needs one more row. Weights are not
        supported for public decisions: ``weight`` must be 1."""
        w = _check_weight(weight)
        if w != 1.0:
            msg = "weights are not supported for public decisions (weight must be 1)"
            raise ValueError(msg)
        return int(self._impl.add_agent())

    @property
    def discount(self) -> Optional[float]:
        """gamma, or None."""
        return self._args[2]

    @property
    def tie_break(self) -> str:
        """The tie rule ("welfare" or "index")."""
        return str(self._args[3])

    @property
    def state(self) -> Dict[str, Any]:
        """A dict from which ``from_state`` rebuilds the object exactly."""
        n, p, g, tb = self._args
        return {"n_agents": n, "p": p, "discount": g, "tie_break": tb,
                "engine": self._impl.get_state()}

    def __repr__(self) -> str:
        return (
            f"PublicDecisionMaker(n_agents={self.n_agents}, p={self.p:.6g}, "
            f"discount={self.discount}, tie_break={self.tie_break!r}, rounds={self.rounds})"
        )
