"""Baseline online allocation rules, for comparison with ``OnlineAllocator``.

The greedy rules the paper shows failing and the horizon-tuned exponential potential of
Benade et al. (2018) (docs/formulas.md section 9), with the same ``step``/``run``
interface as ``fastfair.OnlineAllocator`` and the same PROP_c / EF_c read-outs, so their
deficits can be compared with the p-potential rule on the same stream.

All three keep their state in C++; ``run`` releases the GIL; objects are not
thread-safe.
"""

from __future__ import annotations

import numbers
from typing import TypeVar
from typing import Any, Dict, Optional

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _core
from .allocation import _check_n

__all__ = ["Benade2018", "GreedyMaxDeficit", "RoundRobin"]


_BaselineT = TypeVar("_BaselineT", bound="_Baseline")


class _Baseline:
    __slots__ = ("_args", "_impl")

    _impl: Any
    _args: tuple[Any, ...]

    def step(self, values: ArrayLike) -> int:
        """Allocate one item (values: shape (n_agents,), finite, >= 0); returns the
        recipient."""
        return self._impl.step(values)  # type: ignore[no-any-return]

    def run(self, values_matrix: ArrayLike) -> NDArray[np.int64]:
        """Allocate T items (shape (T, n_agents)); same result as T ``step`` calls."""
        return self._impl.run(values_matrix)  # type: ignore[no-any-return]

    @property
    def n_agents(self) -> int:
        """Number of agents."""
        return int(self._impl.n_agents)

    @property
    def rounds(self) -> int:
        """Items allocated so far."""
        return int(self._impl.rounds())

    @property
    def deficits(self) -> NDArray[np.float64]:
        """PROP_c normalised deficits ``(D_i)_+ / M_i``, shape (n,)."""
        return self._impl.deficits()  # type: ignore[no-any-return]

    @property
    def max_deficit(self) -> float:
        """Largest PROP_c normalised deficit."""
        return float(np.max(self._impl.deficits()))

    @property
    def raw_deficits(self) -> NDArray[np.float64]:
        """Raw PROP deficits ``v_i(M)/n - v_i(A_i)``, shape (n,)."""
        return self._impl.raw_deficits()  # type: ignore[no-any-return]

    @property
    def ef_deficits(self) -> NDArray[np.float64]:
        """EF_c normalised deficits ``(E_ij)_+ / S_ij``, shape (n, n), zero diagonal."""
        return self._impl.ef_deficits()  # type: ignore[no-any-return]

    @property
    def max_ef_deficit(self) -> float:
        """Largest EF_c normalised deficit."""
        return float(np.max(self._impl.ef_deficits()))

    @property
    def envy(self) -> NDArray[np.float64]:
        """Raw envy ``v_i(A_j) - v_i(A_i)``, shape (n, n)."""
        b = self._impl.bundle_values()
        return b - np.diag(b)[:, None]  # type: ignore[no-any-return]

    @property
    def utilities(self) -> NDArray[np.float64]:
        """Each agent's value for its own bundle, shape (n,)."""
        return self._impl.utilities()  # type: ignore[no-any-return]

    @property
    def state(self) -> Dict[str, Any]:
        """A dict from which ``from_state`` rebuilds the object exactly."""
        return {"args": self._args, "engine": self._impl.get_state()}

    @classmethod
    def from_state(cls: type[_BaselineT], state: Dict[str, Any]) -> _BaselineT:
        """Rebuild from ``state``; it continues exactly as the original."""
        if not isinstance(state, dict) or "args" not in state or "engine" not in state:
            msg = "state must be a dict with keys 'args' and 'engine'"
            raise ValueError(msg)
        obj = cls(*state["args"])
        obj._impl.set_state(state["engine"])
        return obj

    def __getstate__(self) -> Dict[str, Any]:
        return self.state

    def __setstate__(self, state: Dict[str, Any]) -> None:
        other = type(self).from_state(state)
        self._impl = other._impl
        self._args = other._args

    def __repr__(self) -> str:
        return f"{type(self).__name__}{self._args!r}"


class _AgentsOnlyBaseline(_Baseline):
    """A baseline whose only parameter is the number of agents (engine: ``_engine``)."""

    __slots__ = ()
    _engine: Any

    def __init__(self, n_agents: int) -> None:
        n = _check_n(n_agents)
        self._impl = type(self)._engine(n)
        self._args = (n,)


class RoundRobin(_AgentsOnlyBaseline):
    """Item t goes to agent (t - 1) mod n, whatever its value.

    Parameters
    ----------
    n_agents : int
    """

    __slots__ = ()
    _engine = _core.RoundRobinEngine


class GreedyMaxDeficit(_AgentsOnlyBaseline):
    """Item t goes to the agent with the largest raw PROP deficit
    ``v_i(M)/n - v_i(A_i)`` before the item (ties: lowest index); Table 1 of the paper
    shows its deficits growing linearly.

    Parameters
    ----------
    n_agents : int
    """

    __slots__ = ()
    _engine = _core.GreedyMaxDeficitEngine


class Benade2018(_Baseline):
    """The horizon-tuned exponential potential of Benade et al. (2018), Appendix B.

    Gives item t to ``argmin_a sum_{i != j} exp(lam * x_ij(a))`` with
    ``x_ij = v_i(A_j) - v_i(A_i)``; values must lie in [0, 1].

    Parameters
    ----------
    n_agents : int
        Number of agents (>= 2).
    horizon : float
        The horizon T the rule is tuned for.
    lam : float, optional
        Default ``sqrt(2 ln(n(n-1)) / horizon)`` (Hoeffding tuning; the paper's exact
        constant was not recovered).
    """

    __slots__ = ()

    def __init__(self, n_agents: int, horizon: float, lam: Optional[float] = None) -> None:
        n = _check_n(n_agents)
        if n < 2:
            msg = f"n_agents must be >= 2 for Benade2018, got {n}"
            raise ValueError(msg)
        if isinstance(horizon, bool) or not isinstance(horizon, numbers.Real):
            msg = f"horizon must be a number, got {type(horizon).__name__}"
            raise TypeError(msg)
        if lam is not None and (isinstance(lam, bool) or not isinstance(lam, numbers.Real)):
            msg = f"lam must be a number or None, got {type(lam).__name__}"
            raise TypeError(msg)
        self._impl = _core.Benade2018Engine(n, float(horizon), None if lam is None else float(lam))
        self._args = (n, horizon, lam)

    @property
    def lam(self) -> float:
        """The exponent lambda in use."""
        return float(self._impl.lam)
