"""Perpetual, horizon-free online fair allocation with the p-potential rule.

``OnlineAllocator`` gives each arriving item to one of ``n_agents`` agents;
``PublicDecisionMaker`` picks one of several alternatives each round. Both keep their
state in C++ and pick the action minimising ``S = sum_q phi_p(d_q)`` after the round,
with ``phi_p(x) = (1 + max(x, 0)^2)^(p/2)`` (paper-formulas.md sections 2-6, 9).
"""

from __future__ import annotations

import numbers
from typing import TypeVar, Union
from typing import Any, Dict, Optional

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _core
from ._validate import as_int

__all__ = ["OnlineAllocator", "PublicDecisionMaker"]

_NOTIONS = ("prop", "ef", "efk")


def _check_n(n_agents: Any) -> int:
    return as_int(n_agents, "n_agents", 1)


def _check_real(x: Any, name: str) -> Optional[float]:
    if x is None:
        return None
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        msg = f"{name} must be a real number or None, got {type(x).__name__}"
        raise TypeError(msg)
    return float(x)


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
        """The guarantee tau_p(t) at the current round (paper-formulas.md section 3):
        every deficit is <= bound(). With a discount, the time-uniform bound of
        section 9."""
        return float(self._impl.bound())

    @property
    def state(self) -> Dict[str, Any]:  # pragma: no cover - overridden
        raise NotImplementedError

    #: the constructor arguments recorded in ``state`` (same names as ``__init__``)
    _STATE_ARGS: tuple[str, ...] = ()

    @classmethod
    def from_state(cls: type[_RuleT], state: Dict[str, Any]) -> _RuleT:
        """Rebuild the object from ``state``; it continues exactly as the original."""
        if not isinstance(state, dict):
            msg = f"state must be a dict, got {type(state).__name__}"
            raise TypeError(msg)
        try:
            obj = cls(**{name: state[name] for name in cls._STATE_ARGS})
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
    deficits after the round (ties: lowest index). No horizon is needed, and at every
    round ``max_deficit <= bound()``.

    Parameters
    ----------
    n_agents : int
        Number of agents (>= 1).
    notion : {"prop", "ef", "efk"}
        ``"prop"``: PROP_c, one deficit per agent (its proportional-share shortfall over
        its largest missed item), O(n) per round. ``"ef"``: EF_c, one deficit per ordered
        pair (envy over the largest item of the other's bundle), O(n^2) per round.
        ``"efk"``: EF_k by threshold deficits over the value set ``levels``.
    p : float, optional
        Exponent of the potential, >= 2. Default ``max(2, ln m)`` with m the number of
        quality variables (n for prop, n(n-1) for ef, n(n-1)L for efk).
    levels : array_like, optional
        efk only: the positive item values, given up front.
    discount : float, optional
        gamma in (0, 1): discounted memory (Appendix D); deficits follow
        ``D <- gamma D + increment`` while scales stay undiscounted running maxima.
        Not available for efk.

    Notes
    -----
    Objects are not thread-safe. ``run`` releases the GIL, so separate objects can run in
    separate threads. Item values must be finite and >= 0; bad input raises before any
    state changes.

    Examples
    --------
    >>> import fastfair as ff
    >>> alloc = ff.OnlineAllocator(3)
    >>> alloc.step([1.0, 0.5, 0.2])
    0
    """

    __slots__ = ("_args", "_impl", "_notion")
    _STATE_ARGS = ("n_agents", "notion", "p", "levels", "discount")
    _impl: Any  # the C++ engine (prop, ef or efk)

    def __init__(
        self,
        n_agents: int,
        notion: str = "prop",
        p: Optional[float] = None,
        levels: Optional[ArrayLike] = None,
        discount: Optional[float] = None,
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
        if levels is not None and notion != "efk":
            msg = f"levels is only valid with notion='efk', got notion={notion!r}"
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
        elif notion == "prop":
            self._impl = _core.PropEngine(n, pv, g)
        else:
            self._impl = _core.EfEngine(n, pv, g)
        self._notion = notion
        self._args = (n, notion, pv, None if levels is None else np.array(levels, dtype=np.float64), g)

    # -- decisions ---------------------------------------------------------------------
    def step(self, values: ArrayLike) -> int:
        """Allocate one item.

        Parameters
        ----------
        values : array_like, shape (n_agents,)
            The item's value for each agent (finite, >= 0).

        Returns
        -------
        int
            The recipient.
        """
        return self._impl.step(values)  # type: ignore[no-any-return]

    def run(self, values_matrix: ArrayLike) -> NDArray[np.int64]:
        """Allocate T items in one call (GIL released); same result as T ``step`` calls.

        Parameters
        ----------
        values_matrix : array_like, shape (T, n_agents)

        Returns
        -------
        numpy.ndarray of int64, shape (T,)
            The recipients.
        """
        return self._impl.run(values_matrix)  # type: ignore[no-any-return]

    # -- read-outs ---------------------------------------------------------------------
    @property
    def n_agents(self) -> int:
        """Number of agents."""
        return int(self._args[0])

    @property
    def notion(self) -> str:
        """The fairness notion ("prop", "ef" or "efk")."""
        return self._notion

    @property
    def discount(self) -> Optional[float]:
        """gamma, or None without discounting."""
        return self._args[4]

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
        object exactly."""
        n, notion, p, levels, g = self._args
        return {
            "n_agents": n,
            "notion": notion,
            "p": p,
            "levels": None if levels is None else levels.copy(),
            "discount": g,
            "engine": self._impl.get_state(),
        }

    def __repr__(self) -> str:
        return (
            f"OnlineAllocator(n_agents={self.n_agents}, notion={self._notion!r}, "
            f"p={self.p:.6g}, discount={self.discount}, rounds={self.rounds})"
        )


class PublicDecisionMaker(_PotentialRule):
    """Choose one of several alternatives each round, proportionally fair forever.

    Each round every agent values every alternative; the rule picks the alternative
    minimising the p-potential of the PROP_c deficits ``(D_i)_+ / R_i`` (R_i the
    running maximum of agent i's best per-round value), O(n * alternatives) per round.
    Ties: lowest index.

    Parameters
    ----------
    n_agents : int
        Number of agents (>= 1).
    p : float, optional
        Exponent of the potential, >= 2; default ``max(2, ln n)``.
    discount : float, optional
        gamma in (0, 1): discounted memory (Appendix D).

    Notes
    -----
    Not thread-safe; ``run`` releases the GIL.

    Examples
    --------
    >>> import fastfair as ff
    >>> pdm = ff.PublicDecisionMaker(2)
    >>> pdm.step([[1.0, 0.0], [0.0, 1.0]])
    0
    """

    __slots__ = ("_args", "_impl")
    _STATE_ARGS = ("n_agents", "p", "discount")
    _impl: Any

    def __init__(
        self, n_agents: int, p: Optional[float] = None, discount: Optional[float] = None
    ) -> None:
        n = _check_n(n_agents)
        pv = _check_p(p)
        g = _check_discount(discount)
        self._impl = _core.PdmEngine(n, pv, g)
        self._args = (n, pv, g)

    def step(self, values: ArrayLike) -> int:
        """Decide one round.

        Parameters
        ----------
        values : array_like, shape (n_agents, n_alternatives)
            Each agent's value for each alternative (finite, >= 0).

        Returns
        -------
        int
            The chosen alternative.
        """
        return self._impl.step(values)  # type: ignore[no-any-return]

    def run(self, values_tensor: ArrayLike) -> NDArray[np.int64]:
        """Decide T rounds (GIL released); same result as T ``step`` calls.

        Parameters
        ----------
        values_tensor : array_like, shape (T, n_agents, n_alternatives)

        Returns
        -------
        numpy.ndarray of int64, shape (T,)
        """
        return self._impl.run(values_tensor)  # type: ignore[no-any-return]

    @property
    def n_agents(self) -> int:
        """Number of agents."""
        return int(self._args[0])

    @property
    def discount(self) -> Optional[float]:
        """gamma, or None."""
        return self._args[2]

    @property
    def state(self) -> Dict[str, Any]:
        """A dict from which ``from_state`` rebuilds the object exactly."""
        n, p, g = self._args
        return {"n_agents": n, "p": p, "discount": g, "engine": self._impl.get_state()}

    def __repr__(self) -> str:
        return (
            f"PublicDecisionMaker(n_agents={self.n_agents}, p={self.p:.6g}, "
            f"discount={self.discount}, rounds={self.rounds})"
        )
