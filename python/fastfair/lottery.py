"""Fair repeated lotteries: fair win probabilities and an auditable lottery pool.

The fairness objective is the one of the fair-repeated-lotteries blog (after Bailey
Flanigan): before lottery ``T`` choose the win probabilities ``pi`` minimising

    || (cumulative deserved seats, lottery T included) - (wins so far) - pi ||_2

over ``{0 <= pi_i <= 1, sum pi = k}``, restricted to the entrants of lottery ``T``
(score > 0; everyone else gets exactly 0). The minimiser is one exact Euclidean
projection onto the capped simplex, computed in O(n) by the C++ core; the winners are
then drawn by randomized pipage rounding (exactly ``k`` winners, marginals ``pi``).
"""

from __future__ import annotations

import hashlib
import json
import numbers
import os
import struct
import warnings
from dataclasses import dataclass, field
from typing import IO, Any, Optional, Sequence, Union

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _core
from ._atomic import atomic_write
from ._seed import SeedLike, resolve_seed
from ._validate import as_float_vector

__all__ = ["AuditReport", "LotteryPool", "SolverInfo", "fair_probabilities"]

PathLike = Union[str, "os.PathLike[str]"]

#: First bytes of a saved pool.
SAVE_MAGIC = b"FFLOTPL\x00"
#: Version of the save format written by this release (documented in the README).
SAVE_VERSION = 1
_HEAD = struct.Struct("<8sIQ")  # magic, format version, header length
_DIGEST = 32  # SHA-256


def _as_count(k: Any, name: str = "k") -> int:
    """A whole number of winners: an int, or a float with an integral value."""
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, numbers.Real):
        msg = f"{name} must be an int, got {type(k).__name__}"
        raise TypeError(msg)
    if isinstance(k, numbers.Integral):
        value = int(k)
    else:
        kf = float(k)
        if not np.isfinite(kf) or kf != int(kf):
            msg = f"{name} must be a whole number of winners, got {kf}"
            raise ValueError(msg)
        value = int(kf)
    if not 0 <= value < 2**62:
        msg = f"{name} must be >= 0 (and a sane number of winners), got {value}"
        raise ValueError(msg)
    return value


@dataclass(frozen=True)
class SolverInfo:
    """How :func:`fair_probabilities` solved the problem.

    Attributes
    ----------
    solver : str
        ``"exact"`` or ``"pgd"``.
    iterations : int
        Projected-gradient iterations (0 for the exact solver).
    converged : bool
        Whether the stopping rule was met (always True for the exact solver).
    last_change : float
        Largest change of a probability in the last iteration (0 for ``"exact"``).

    Items are also readable as ``info["converged"]``.
    """

    solver: str
    iterations: int
    converged: bool
    last_change: float

    def __getitem__(self, key: str) -> Any:
        return getattr(self, key)


def fair_probabilities(
    deserved: ArrayLike,
    received: ArrayLike,
    k: float,
    eligible: Optional[ArrayLike] = None,
    solver: str = "exact",
    *,
    return_info: bool = False,
    start: Optional[ArrayLike] = None,
    step: float = 1.0,
    tol: float = 1e-10,
    max_iter: int = 10_000,
) -> Any:
    """Win probabilities that minimise the blog's unfairness objective.

    Minimises ``|| deserved - received - pi ||_2`` over ``0 <= pi <= 1``,
    ``sum(pi) = k``, with ``pi_i = 0`` exactly for every non-eligible entrant.

    Parameters
    ----------
    deserved : array_like, shape (n,)
        Cumulative deserved seats, the coming lottery included (finite, >= 0).
    received : array_like, shape (n,)
        Seats received (wins) so far (finite, >= 0).
    k : float
        Number of seats of the coming lottery, ``0 <= k <= number of eligible``.
    eligible : array_like of bool, shape (n,), optional
        Who entered this lottery (default: everyone). Others get probability 0.
    solver : {"exact", "pgd"}
        ``"exact"``: one exact projection onto the capped simplex (O(n)).
        ``"pgd"``: the blog's projected gradient descent on the squared objective
        (gradient ``pi - target``, L = 1) with its sort-based simplex-clip projection,
        in C++; a cross-check and baseline.
    return_info : bool
        Also return a :class:`SolverInfo` (iterations, converged).
    start : array_like, shape (n,), optional
        PGD start (default: ``k / #eligible`` for every eligible entrant).
    step : float
        PGD step size in ``(0, 1]``; 1 (= 1/L) converges in one step, smaller steps
        contract the error by ``1 - step`` per iteration.
    tol : float
        PGD stops once no probability changes by more than ``tol``.
    max_iter : int
        PGD iteration limit. Without ``return_info`` a PGD run that hits it emits a
        :class:`RuntimeWarning`.

    Returns
    -------
    pi : numpy.ndarray of float64, shape (n,)
    info : SolverInfo
        Only with ``return_info=True``.

    Raises
    ------
    ValueError
        Wrong shapes, NaN/inf or negative values, ``k`` outside
        ``[0, #eligible]``, unknown ``solver``, bad PGD parameters.

    Examples
    --------
    >>> import fastfair as ff
    >>> ff.fair_probabilities([0.3, 0.5, 0.9, 0.1], [0, 0, 0, 0], 2).round(3).tolist()
    [0.35, 0.55, 0.95, 0.15]
    """
    d = as_float_vector(deserved, "deserved")
    r = as_float_vector(received, "received")
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, numbers.Real):
        msg = f"k must be a real number, got {type(k).__name__}"
        raise TypeError(msg)
    if not isinstance(solver, str):
        msg = f"solver must be 'exact' or 'pgd', got {solver!r}"
        raise TypeError(msg)
    el = None
    if eligible is not None:
        el_arr = np.asarray(eligible)
        if el_arr.ndim != 1:
            msg = f"eligible must be a 1-dimensional array, got shape {el_arr.shape}"
            raise ValueError(msg)
        if el_arr.dtype != np.bool_ and not (
            el_arr.dtype.kind in "iuf" and np.isin(el_arr, (0, 1)).all()
        ):
            msg = "eligible must be a boolean mask (True/False or 1/0)"
            raise ValueError(msg)
        el = el_arr.astype(np.uint8)
    start_arr = None if start is None else as_float_vector(start, "start")
    if isinstance(max_iter, (bool, np.bool_)) or not isinstance(max_iter, numbers.Integral):
        msg = f"max_iter must be an int, got {type(max_iter).__name__}"
        raise TypeError(msg)
    pi, iterations, converged, last_change = _core.fair_probabilities(
        d, r, float(k), el, solver, start_arr, float(step), float(tol), int(max_iter)
    )
    info = SolverInfo(solver, int(iterations), bool(converged), float(last_change))
    if return_info:
        return pi, info
    if not converged:
        msg = (
            f"solver='pgd' stopped at max_iter={max_iter} before converging "
            f"(last change {last_change:.3g} > tol {tol:.3g}); use solver='exact'"
        )
        warnings.warn(msg, RuntimeWarning, stacklevel=2)
    return pi


@dataclass(frozen=True)
class AuditReport:
    """Result of :meth:`LotteryPool.verify`.

    Attributes
    ----------
    n_lotteries : int
        Number of lotteries checked.
    mismatches : list of (int, str)
        ``(lottery index, what differs)`` for every inconsistency found; empty when
        every recorded draw re-derives exactly. ``bool(report)`` is True when empty.
    """

    n_lotteries: int
    mismatches: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every recorded lottery re-derives exactly."""
        return not self.mismatches

    def __bool__(self) -> bool:
        return self.ok


_FLAG_TEXT = (
    (8, "recorded scores or k are invalid"),
    (2, "probabilities differ from those re-derived from the history"),
    (4, "winners differ from a re-draw with the recorded probabilities and seed"),
)


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
    Objects are not thread-safe; on large pools the C++ work of a lottery and of
    :meth:`verify` runs with the GIL released, so separate pools can run in separate
    threads.

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
        self._ids: Optional[list[str]] = None
        self._index: dict[str, int] = {}

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
        return None if self._ids is None else list(self._ids)

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
    def _pool_scores(
        self, scores: ArrayLike, ids: Optional[Sequence[str]]
    ) -> tuple[NDArray[np.float64], Optional[NDArray[np.intp]], list[str]]:
        """Scores in pool order, the positions of the caller's rows, and new ids."""
        arr = as_float_vector(scores, "scores")
        if ids is None:
            if self._ids is not None and arr.size != self.n_entrants:
                msg = (
                    f"ids: this pool identifies its {self.n_entrants} entrants by id; "
                    "pass ids= (or exactly one score per member, in pool order)"
                )
                raise ValueError(msg)
            return arr, None, []
        if isinstance(ids, (str, bytes)):
            msg = "ids must be a sequence of str, not a single string"
            raise TypeError(msg)
        id_list = list(ids)
        if len(id_list) != arr.size:
            msg = f"ids must have one entry per score ({arr.size}), got {len(id_list)}"
            raise ValueError(msg)
        for x in id_list:
            if not isinstance(x, str):
                msg = f"ids must be str, got {type(x).__name__}"
                raise TypeError(msg)
        if len(set(id_list)) != len(id_list):
            msg = "ids must be unique"
            raise ValueError(msg)
        if self._ids is None and self.n_entrants > 0:
            msg = "ids: this pool was started without ids; entrants are positions"
            raise ValueError(msg)
        known = self._index
        new_ids = [x for x in id_list if x not in known]
        n_total = self.n_entrants + len(new_ids)
        new_pos = {x: self.n_entrants + j for j, x in enumerate(new_ids)}
        pos = np.fromiter(
            (known[x] if x in known else new_pos[x] for x in id_list),
            dtype=np.intp,
            count=len(id_list),
        )
        full = np.zeros(n_total)
        full[pos] = arr
        return full, pos, new_ids

    def preview(
        self, scores: ArrayLike, k: int, ids: Optional[Sequence[str]] = None
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
        """
        full, pos, _ = self._pool_scores(scores, ids)
        kk = _as_count(k)
        pi = self._core.preview(full, kk)
        return pi if pos is None else pi[pos]

    def run_lottery(
        self,
        scores: ArrayLike,
        k: int,
        seed: SeedLike = None,
        ids: Optional[Sequence[str]] = None,
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
        ids : sequence of str, optional
            Entrant ids of the rows of ``scores``. Known ids keep their pool position,
            unknown ids join the pool (in order), pool members not listed get score 0.
            A pool uses ids from its first lottery on, or never.

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
        full, pos, new_ids = self._pool_scores(scores, ids)
        kk = _as_count(k)
        n_before = self.n_entrants
        self._core.prepare(full, kk)  # validates; the state is untouched until commit
        seed_value = resolve_seed(seed)
        winners = self._core.draw(seed_value)
        n_new = full.size - n_before
        if n_new > 0 and self.n_lotteries > 0:
            msg = (
                f"{n_new} new member(s) joined pool {self._name!r}: their scores, win "
                f"probabilities and wins in the {self.n_lotteries} earlier "
                "lotteries are set to zero"
            )
            warnings.warn(msg, UserWarning, stacklevel=2)
        self._core.commit()
        if ids is not None:
            if self._ids is None:
                self._ids = []
            for x in new_ids:
                self._index[x] = len(self._ids)
                self._ids.append(x)
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
        flags = self._core.verify()
        mismatches = [
            (t, text) for t, f in enumerate(flags) for bit, text in _FLAG_TEXT if f & bit
        ]
        return AuditReport(len(flags), mismatches)

    # ---- persistence -------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        lengths, ks, seeds, scores, pi, winners = self._core.state()
        return {
            "name": self._name,
            "ids": None if self._ids is None else list(self._ids),
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
        pool._restore(st)
        return pool

    def _restore(self, st: dict[str, Any]) -> None:
        core = _core.LotteryPoolCore()
        core.restore(
            st["lengths"], st["k"], st["seeds"], st["scores"], st["probabilities"],
            st["winners"],
        )
        ids = st["ids"]
        if ids is not None:
            ids = [str(x) for x in ids]
            if len(ids) != core.n_entrants or len(set(ids)) != len(ids):
                msg = "ids do not match the pool's entrants"
                raise ValueError(msg)
        self._core = core
        self._ids = ids
        self._index = {} if ids is None else {x: j for j, x in enumerate(ids)}

    def __getstate__(self) -> dict[str, Any]:
        st = self._state()
        st["format"] = SAVE_VERSION
        return st

    def __setstate__(self, st: dict[str, Any]) -> None:
        if st.get("format") != SAVE_VERSION:
            msg = f"unsupported LotteryPool pickle format {st.get('format')!r}"
            raise ValueError(msg)
        self._name = st["name"]
        self._restore(st)

    def save(self, path: PathLike) -> None:
        """Save the pool to ``path``: lossless, atomic, versioned, checksummed.

        The file is written to a temporary file in the same directory, flushed and
        fsynced, then renamed over ``path``: a crash leaves either the old or the new
        file, never a mix. Floats are stored as raw little-endian float64 (bit-exact).
        The format (version :data:`SAVE_VERSION`) is described in the README.
        """
        st = self._state()
        arrays = [
            np.ascontiguousarray(st["lengths"], dtype="<i8"),
            np.ascontiguousarray(st["k"], dtype="<i8"),
            np.ascontiguousarray(st["seeds"], dtype="<u8"),
            np.ascontiguousarray(st["scores"], dtype="<f8"),
            np.ascontiguousarray(st["probabilities"], dtype="<f8"),
            np.ascontiguousarray(st["winners"], dtype="i1"),
        ]
        header = json.dumps(
            {
                "name": st["name"],
                "ids": st["ids"],
                "n_entrants": self.n_entrants,
                "n_lotteries": self.n_lotteries,
                "n_values": int(arrays[3].size),
            },
            ensure_ascii=True,
        ).encode("ascii")
        with atomic_write(path, "wb") as fh:
            digest = hashlib.sha256()
            _write(fh, digest, _HEAD.pack(SAVE_MAGIC, SAVE_VERSION, len(header)))
            _write(fh, digest, header)
            for a in arrays:
                _write(fh, digest, a.tobytes())
            fh.write(digest.digest())

    @classmethod
    def load(cls, path: PathLike) -> LotteryPool:
        """Load a pool saved by :meth:`save`.

        Raises
        ------
        ValueError
            The file is not a fastfair lottery pool, has an unsupported version, or
            is corrupt or truncated (checksum or size mismatch).
        """
        with open(os.fspath(path), "rb") as fh:
            data = fh.read()
        where = f"{os.fspath(path)!r}"
        if len(data) < _HEAD.size + _DIGEST or data[:8] != SAVE_MAGIC:
            msg = f"{where} is not a fastfair lottery pool file (or is truncated)"
            raise ValueError(msg)
        magic, version, header_len = _HEAD.unpack_from(data, 0)
        if version != SAVE_VERSION:
            msg = (
                f"{where} has lottery pool format version {version}; this fastfair "
                f"reads version {SAVE_VERSION}"
            )
            raise ValueError(msg)
        body, stored = data[:-_DIGEST], data[-_DIGEST:]
        if hashlib.sha256(body).digest() != stored:
            msg = f"{where} is corrupt or truncated (SHA-256 checksum mismatch)"
            raise ValueError(msg)
        try:
            off = _HEAD.size
            header = json.loads(body[off : off + header_len].decode("ascii"))
            off += header_len
            t_count = int(header["n_lotteries"])
            n_values = int(header["n_values"])
            out = []
            for dtype, count in (
                ("<i8", t_count), ("<i8", t_count), ("<u8", t_count),
                ("<f8", n_values), ("<f8", n_values), ("i1", n_values),
            ):
                size = np.dtype(dtype).itemsize * count
                if count < 0 or off + size > len(body):
                    raise ValueError("arrays run past the end of the file")
                out.append(np.frombuffer(body, dtype=dtype, count=count, offset=off).copy())
                off += size
            if off != len(body):
                raise ValueError("unexpected bytes after the arrays")
            st = {
                "name": str(header["name"]),
                "ids": header["ids"],
                "lengths": out[0],
                "k": out[1],
                "seeds": out[2],
                "scores": out[3],
                "probabilities": out[4],
                "winners": out[5],
            }
            pool = cls._from_state(st)
            if pool.n_entrants != int(header["n_entrants"]):
                raise ValueError("entrant count differs from the header")
        except (KeyError, TypeError, ValueError, UnicodeDecodeError) as exc:
            msg = f"{where} is corrupt: {exc}"
            raise ValueError(msg) from None
        return pool


def _write(fh: IO[bytes], digest: Any, chunk: bytes) -> None:
    digest.update(chunk)
    fh.write(chunk)
