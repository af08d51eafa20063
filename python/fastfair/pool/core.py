"""The :class:`LotteryPool` class: composes membership, draw, audit and file format."""

from __future__ import annotations

import contextlib
import os
import threading
import warnings
from typing import Any, Iterable, Iterator, Optional, Sequence, Union

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .. import _core, _pandas
from .._seed import SeedLike
from . import draw as _draw
from .audit import AuditReport, audit
from .fileformat import SAVE_VERSION, load_state, save_state
from .members import Members

PathLike = Union[str, "os.PathLike[str]"]


class LotteryPool:
    """A pool of entrants for fair repeated lotteries (the blog's ``LotteryPool``).

    Each lottery gives every entrant ``i`` its deserved seats
    ``min(1, c * s_i)`` (``k * s_i / sum(s)`` water-filled at 1: a share above
    ``1/k`` is capped so nobody is owed more than one seat, the excess going to the
    others in proportion to score), and draws exactly ``k`` winners with the fair
    probabilities: the exact projection of (cumulative deserved seats, this lottery
    included, minus wins so far) onto ``{0 <= pi <= 1, sum pi = k}`` over the
    entrants with a score > 0; the others get probability 0.

    Entrants are positions ``0..n-1`` of the ``scores`` array. The pool grows when a
    lottery passes more scores than there are members (their past is zero; a
    :class:`UserWarning` says so). Alternatively entrants carry string ids: pass
    ``ids=`` to :meth:`run_lottery` and members absent from a lottery get score 0.

    State lives in C++; one lottery costs O(n) plus appending its history columns.
    Every lottery keeps its seed, so :meth:`verify` can re-derive every draw.
    Objects are not thread-safe: a call made while another thread is inside a call on
    the same pool raises :class:`RuntimeError` (nothing is changed). On large pools
    the C++ work of a lottery and of :meth:`verify` runs with the GIL released, so
    separate pools can run in separate threads.

    Parameters
    ----------
    name : str
        A label, kept in saved files.

    Examples
    --------
    >>> import numpy as np, fastfair as ff
    >>> pool = ff.LotteryPool("demo")
    >>> w1 = pool.run_lottery(np.ones(20), 13, seed=1)
    >>> p2 = pool.preview(np.ones(20), 13)
    >>> bool(np.all(p2[w1 == 0] == 1.0))      # everyone who lost now surely wins
    True
    """

    def __init__(self, name: str = "lottery pool") -> None:
        if not isinstance(name, str):
            msg = f"name must be a str, got {type(name).__name__}"
            raise TypeError(msg)
        self._name = name
        self._core = _core.LotteryPoolCore()
        self._members = Members(None)
        self._busy = threading.Lock()

    @contextlib.contextmanager
    def _exclusive(self) -> Iterator[None]:
        """Hold the pool for one call; a second thread gets RuntimeError at once."""
        if not self._busy.acquire(blocking=False):
            msg = (
                f"LotteryPool {self._name!r} is already in use by another thread; "
                "pools are not thread-safe (use one pool per thread, or a lock)"
            )
            raise RuntimeError(msg)
        try:
            yield
        finally:
            self._busy.release()

    # ---- properties --------------------------------------------------------------
    @property
    def name(self) -> str:
        """The pool's label."""
        return self._name

    @property
    def n_entrants(self) -> int:
        """Number of pool members so far."""
        return int(self._core.n_entrants)

    @property
    def n_lotteries(self) -> int:
        """Number of recorded lotteries."""
        return int(self._core.n_lotteries)

    @property
    def ids(self) -> Optional[list[str]]:
        """Entrant ids in pool order (a copy), or None for a positional pool."""
        return self._members.ids

    @property
    def scores(self) -> NDArray[np.float64]:
        """Scores, shape (entrants, lotteries), 0 before an entrant joined (copy)."""
        return self._core.history("scores")

    @property
    def win_probabilities(self) -> NDArray[np.float64]:
        """Win probabilities used, shape (entrants, lotteries) (copy)."""
        return self._core.history("probabilities")

    @property
    def winners(self) -> NDArray[np.int8]:
        """Winners (0/1), shape (entrants, lotteries) (copy)."""
        return self._core.history("winners")

    @property
    def deserved(self) -> NDArray[np.float64]:
        """Deserved seats of each lottery (water-filled), shape (entrants, lotteries).

        Cumulative deserved seats are ``deserved.cumsum(axis=1)``; the current totals
        are :attr:`cumulative_deserved`.
        """
        return self._core.history("deserved")

    @property
    def lottery_sizes(self) -> NDArray[np.int64]:
        """Number of winners of each lottery, shape (lotteries,) (copy)."""
        return self._core.lottery_sizes

    @property
    def seeds(self) -> NDArray[np.uint64]:
        """The 64-bit generator seed of each lottery, shape (lotteries,) (copy)."""
        return self._core.seeds

    @property
    def cumulative_deserved(self) -> NDArray[np.float64]:
        """Deserved seats summed over all lotteries so far, shape (entrants,)."""
        return self._core.cumulative_deserved

    @property
    def wins(self) -> NDArray[np.float64]:
        """Wins per entrant so far, shape (entrants,)."""
        return self._core.wins

    @property
    def unfairness(self) -> NDArray[np.float64]:
        """Current ``wins - cumulative_deserved`` per entrant (negative: owed seats)."""
        return self._core.wins - self._core.cumulative_deserved

    def __repr__(self) -> str:
        return (
            f"LotteryPool(name={self._name!r}, entrants={self.n_entrants}, "
            f"lotteries={self.n_lotteries})"
        )

    # ---- lotteries ---------------------------------------------------------------
    def preview(
        self, scores: ArrayLike, k: int, ids: Optional[Iterable[Union[str, int]]] = None
    ) -> NDArray[np.float64]:
        """The win probabilities a lottery with these scores would use; no draw.

        Parameters
        ----------
        scores, k, ids
            As for :meth:`run_lottery`.

        Returns
        -------
        numpy.ndarray of float64, shape (len(scores),)
            In the order of ``scores`` (of ``ids`` when given). The pool is unchanged.
            A pandas Series with the index of ``scores`` when ``scores`` is one.
        """
        scores, series = _pandas.unwrap(scores)
        id_list = _pandas.ids_list(_pandas.series_ids(series, ids))
        with self._exclusive():
            full, pos, _ = self._members.align(scores, id_list, self.n_entrants)
            pi = _draw.preview(self._core, full, k)
        return _pandas.rewrap(pi if pos is None else pi[pos], series)  # type: ignore[no-any-return]

    def run_lottery(
        self,
        scores: ArrayLike,
        k: int,
        seed: SeedLike = None,
        ids: Optional[Iterable[Union[str, int]]] = None,
    ) -> NDArray[np.int8]:
        """Run one lottery: draw exactly ``k`` winners and record everything.

        Parameters
        ----------
        scores : array_like, shape (n,)
            Scores (finite, >= 0; 0 = did not enter). Without ``ids``: one per pool
            member in pool order, ``n >= n_entrants``; extra entries are new members.
            Weighted lotteries: an entrant with twice the score deserves twice the
            seats (capped at one seat per lottery).
        k : int
            Number of winners, ``0 <= k <= number of scores > 0``. ``k`` equal to
            that number: everyone who entered wins (recorded like any lottery).
        seed : int, numpy.random.Generator or None
            An int in ``[0, 2**64)`` seeds the portable C++ generator; None or a
            Generator first draws a 64-bit seed. The seed used is recorded
            (:attr:`seeds`).
        ids : sequence of str (or of integer labels), optional
            Entrant ids of the rows of ``scores``. Known ids keep their pool position,
            unknown ids join the pool (in order), pool members not listed get score 0.
            A pool uses ids from its first lottery on, or never. Integer labels are
            stored as their decimal text. A pandas Series as ``scores`` (duck typed:
            ``.index`` and ``.to_numpy()``) uses its index as ``ids`` unless ``ids``
            is given, and the winners come back as a Series with that index.

        Returns
        -------
        numpy.ndarray of int8, shape (n,)
            1 for the winners, in the order of ``scores``.

        Raises
        ------
        ValueError, TypeError
            Bad shapes, NaN/inf or negative scores, fewer scores than members, bad
            ``k``, ids or seed. The pool is then unchanged.

        Warns
        -----
        UserWarning
            When new members join a pool with past lotteries (their past is zero).
        """
        scores, series = _pandas.unwrap(scores)
        id_list = _pandas.ids_list(_pandas.series_ids(series, ids))
        with self._exclusive():
            winners = self._run_lottery(scores, k, seed, id_list)
        return _pandas.rewrap(winners, series)  # type: ignore[no-any-return]

    def _run_lottery(
        self,
        scores: ArrayLike,
        k: int,
        seed: SeedLike,
        ids: Optional[Sequence[str]],
    ) -> NDArray[np.int8]:
        full, pos, new_ids = self._members.align(scores, ids, self.n_entrants)
        n_before = self.n_entrants
        t_before = self.n_lotteries

        def warn_new_members() -> None:
            n_new = full.size - n_before
            if n_new > 0 and t_before > 0:
                msg = (
                    f"{n_new} new member(s) joined pool {self._name!r}: their scores, "
                    f"win probabilities and wins in the {t_before} earlier "
                    "lotteries are set to zero"
                )
                warnings.warn(msg, UserWarning, stacklevel=5)

        winners = _draw.draw(self._core, full, k, seed, warn_new_members)
        self._members.extend(new_ids, ids is not None)
        return winners if pos is None else winners[pos]

    # ---- audit -------------------------------------------------------------------
    def verify(self) -> AuditReport:
        """Re-derive every recorded lottery and report any mismatch.

        For every lottery, the probabilities are re-derived from the recorded scores,
        k and the recorded history before it (bit for bit), and the winners are
        re-drawn from the recorded probabilities and seed (bit for bit).

        Returns
        -------
        AuditReport
            Truthy when everything matches.
        """
        with self._exclusive():
            return audit(self._core)

    # ---- persistence -------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        lengths, ks, seeds, scores, pi, winners = self._core.state()
        return {
            "name": self._name,
            "ids": self._members.ids,
            "lengths": lengths,
            "k": ks,
            "seeds": seeds,
            "scores": scores,
            "probabilities": pi,
            "winners": winners,
        }

    @classmethod
    def _from_state(cls, st: dict[str, Any]) -> LotteryPool:
        pool = cls(st["name"])
        pool._core, pool._members = _restored(st)
        return pool

    def __getstate__(self) -> dict[str, Any]:
        with self._exclusive():
            st = self._state()
        st["format"] = SAVE_VERSION
        return st

    def __setstate__(self, st: dict[str, Any]) -> None:
        """Restore a pickled pool: all-or-nothing (a bad state is a ValueError and
        leaves the object exactly as it was)."""
        if not isinstance(st, dict):
            msg = f"invalid LotteryPool state: expected a dict, got {type(st).__name__}"
            raise ValueError(msg)
        if st.get("format") != SAVE_VERSION:
            msg = f"unsupported LotteryPool pickle format {st.get('format')!r}"
            raise ValueError(msg)
        name = st.get("name")
        if not isinstance(name, str):
            msg = f"invalid LotteryPool state: name must be a str, got {type(name).__name__}"
            raise ValueError(msg)
        busy = self.__dict__.get("_busy")
        if busy is None:  # unpickling: a fresh object
            self._busy = threading.Lock()
        with self._exclusive():
            core, members = _restored(st)
            self._name, self._core, self._members = name, core, members

    def to_json(self) -> str:
        """The pool's full record as a JSON document (lossless, like :meth:`save`:
        :meth:`from_json` rebuilds a pool that continues exactly; the format is
        described in :mod:`fastfair._json`)."""
        from .. import _json

        return _json.dumps("LotteryPool", self.__getstate__())

    @classmethod
    def from_json(cls, text: Union[str, bytes]) -> LotteryPool:
        """Rebuild a pool from :meth:`to_json`'s text (checked like a pickled state:
        a malformed or inconsistent document is a ValueError)."""
        from .. import _json

        pool = cls.__new__(cls)
        pool.__setstate__(_json.loads(text, "LotteryPool"))
        return pool

    def save(self, path: PathLike) -> None:
        """Save the pool to ``path``: lossless, atomic, versioned, checksummed.

        The file is written to a temporary file in the same directory, flushed and
        fsynced, then renamed over ``path``: a crash leaves either the old or the new
        file, never a mix. Floats are stored as raw little-endian float64 (bit-exact).
        The format (version :data:`~fastfair.pool.fileformat.SAVE_VERSION`) is
        described in docs/pool-format.md.
        """
        with self._exclusive():
            save_state(path, self._state(), self.n_entrants)

    @classmethod
    def load(cls, path: PathLike) -> LotteryPool:
        """Load a pool saved by :meth:`save`.

        Raises
        ------
        ValueError
            The file is not a fastfair lottery pool, has an unsupported version, or
            is corrupt or truncated (checksum or size mismatch).
        """
        st, n_entrants = load_state(path)
        try:
            pool = cls._from_state(st)
            if pool.n_entrants != n_entrants:
                raise ValueError("entrant count differs from the header")
        except ValueError as exc:
            msg = f"{os.fspath(path)!r} is corrupt: {exc}"
            raise ValueError(msg) from None
        return pool


#: (state key, accepted dtype kinds, dtype passed to the core).
_STATE_ARRAYS = (
    ("lengths", "iu", np.int64),
    ("k", "iu", np.int64),
    ("seeds", "iu", np.uint64),
    ("scores", "biuf", np.float64),
    ("probabilities", "biuf", np.float64),
    ("winners", "biu", np.int8),
)


def _state_array(st: dict[str, Any], key: str, kinds: str, dtype: Any) -> NDArray[Any]:
    """One history array of a state: 1-D, of the right kind, values that fit ``dtype``
    exactly (no silent wrap-around)."""
    if key not in st:
        msg = f"invalid LotteryPool state: no {key!r}"
        raise ValueError(msg)
    try:
        arr = np.asarray(st[key])
    except (TypeError, ValueError, OverflowError) as exc:
        msg = f"invalid LotteryPool state: {key} is not an array ({exc})"
        raise ValueError(msg) from None
    if arr.ndim != 1 or arr.dtype.kind not in kinds:
        msg = (f"invalid LotteryPool state: {key} must be a 1-D array of kind "
               f"{kinds!r}, got dtype {arr.dtype} and shape {arr.shape}")
        raise ValueError(msg)
    out = arr.astype(dtype)
    if arr.dtype.kind in "iu" and not np.array_equal(out, arr):
        msg = f"invalid LotteryPool state: {key} holds values out of range"
        raise ValueError(msg)
    return out


def _restored(st: dict[str, Any]) -> tuple[Any, Members]:
    """A new core and members from a state dict; ValueError (and nothing built) if
    any part of it is malformed. Counts are checked by the core before reading."""
    arrays = [_state_array(st, key, kinds, dt) for key, kinds, dt in _STATE_ARRAYS]
    if "ids" not in st:
        msg = "invalid LotteryPool state: no 'ids'"
        raise ValueError(msg)
    core = _core.LotteryPoolCore()
    core.restore(*arrays)
    members = Members.restored(st["ids"], int(core.n_entrants))
    return core, members
