"""The :class:`LotteryPool` class: composes membership, draw, audit and file format."""

from __future__ import annotations

import contextlib
import os
import threading
import warnings
from typing import Any, Iterable, Iterator, Mapping, Optional, Sequence, Union

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .. import _core, _pandas
from .._seed import StrSeedLike
from .._validate import as_float_vector
from . import divisions as _divisions
from . import draw as _draw
from . import waitlist as _waitlist
from .audit import AuditReport, audit
from .fileformat import READ_VERSIONS, dense_to_sparse, load_state, save_state, version_of
from .members import Members

PathLike = Union[str, "os.PathLike[str]"]
#: Seats (or alternates) per lottery: one whole number, or division label -> count.
#: Two Mapping types, not ``Mapping[str | int, int]``: Mapping is invariant in its key
#: type, so a ``dict[str, int]`` would not match that.
Counts = Union[int, Mapping[str, int], Mapping[int, int]]


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
        self._seed_strings: list[Optional[str]] = []
        self._waitlists: list[list[int]] = []  # per lottery: alternates' positions
        self._declines: list[list[tuple[int, Optional[int]]]] = []  # (decliner, by)
        self._division_labels: list[Optional[list[str]]] = []  # per lottery, sorted
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
    def seed_strings(self) -> list[Optional[str]]:
        """The string seed of each lottery, or None where the seed was not a str
        (a copy, one entry per lottery). :attr:`seeds` holds the 64-bit seed each
        string hashed to (see :meth:`run_lottery`)."""
        return list(self._seed_strings)

    def lottery_info(self, t: int = -1) -> dict[str, Any]:
        """What lottery ``t`` (default: the last) recorded, for reports.

        Returns
        -------
        dict
            ``lottery`` (1-based number), ``k``, ``entrants`` (scores > 0),
            ``pool_size`` (members at that lottery), ``seed`` (the 64-bit seed) and
            ``seed_string`` (the str seed, or None), and ``divisions``: None for an
            undivided lottery, else ``{label: {"k": seats, "entrants": count}}`` in
            code order (docs/divisions.md).
        """
        t = self._lottery_index(t)
        pool_size, _pos, scores, _pi, _won = self._core.column(t)
        codes, seats = self._core.column_divisions(t)
        labels = self._division_labels[t]
        per = None
        if labels is not None:
            entrants = np.bincount(codes[scores > 0], minlength=len(labels))
            per = {x: {"k": int(seats[j]), "entrants": int(entrants[j])}
                   for j, x in enumerate(labels)}
        return {
            "lottery": t + 1,
            "k": int(self.lottery_sizes[t]),
            "entrants": int(np.count_nonzero(scores > 0)),
            "pool_size": int(pool_size),
            "seed": int(self.seeds[t]),
            "seed_string": self._seed_strings[t],
            "divisions": per,
        }

    def division_labels(self, t: int = -1) -> list[Optional[str]]:
        """Each pool member's division label at lottery ``t`` (default: the last), in
        pool order; None for members who did not enter it (score 0) and for every
        member of an undivided lottery. Members may change division between
        lotteries (their running totals are their own: docs/divisions.md)."""
        with self._exclusive():
            tt = self._lottery_index(t)
            _size, pos, scores, _pi, _won = self._core.column(tt)
            codes, _seats = self._core.column_divisions(tt)
            return _divisions.member_labels(self.n_entrants, pos, scores, codes,
                                            self._division_labels[tt])

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
        last = ""
        if self._seed_strings:
            text = self._seed_strings[-1]
            last = f", last_seed={text!r}" if text is not None else (
                f", last_seed={int(self.seeds[-1])}")
        return (
            f"LotteryPool(name={self._name!r}, entrants={self.n_entrants}, "
            f"lotteries={self.n_lotteries}{last})"
        )

    # ---- lotteries ---------------------------------------------------------------
    def preview(
        self,
        scores: ArrayLike,
        k: Counts,
        ids: Optional[Iterable[Union[str, int]]] = None,
        divisions: Optional[Iterable[Union[str, int]]] = None,
    ) -> NDArray[np.float64]:
        """The win probabilities a lottery with these scores would use; no draw.

        Parameters
        ----------
        scores, k, ids, divisions
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
            entries = self._members.align(scores, id_list, self.n_entrants)
            dplan = self._division_plan(scores, k, divisions, series)
            pi = _draw.preview(self._core, entries, k, dplan)
        return _pandas.rewrap(pi, series)  # type: ignore[no-any-return]

    def run_lottery(
        self,
        scores: ArrayLike,
        k: Counts,
        seed: StrSeedLike = None,
        ids: Optional[Iterable[Union[str, int]]] = None,
        waitlist: Counts = 0,
        divisions: Optional[Iterable[Union[str, int]]] = None,
    ) -> NDArray[np.int8]:
        """Run one lottery: draw exactly ``k`` winners and record everything.

        Parameters
        ----------
        scores : array_like, shape (n,)
            Scores (finite, >= 0; 0 = did not enter). Without ``ids``: one per pool
            member in pool order, ``n >= n_entrants``; extra entries are new members.
            Weighted lotteries: an entrant with twice the score deserves twice the
            seats (capped at one seat per lottery).
        k : int, or mapping division label -> int
            Number of winners, ``0 <= k <= number of scores > 0``. ``k`` equal to
            that number: everyone who entered wins (recorded like any lottery).
            With ``divisions``: the seats of each division (every label of an
            entrant must be a key, every key must label a row; ``0 <= seats <=``
            the division's entrants).
        seed : int, str, numpy.random.Generator or None
            An int in ``[0, 2**64)`` seeds the portable C++ generator; None or a
            Generator first draws a 64-bit seed. A str (e.g. the published lottery
            numbers or a public beacon value, at most 65,536 characters) is hashed to
            the 64-bit seed: the first 8 bytes of the SHA-256 of its UTF-8 bytes,
            read little-endian; the string itself is recorded in
            :attr:`seed_strings` (and saved). The seed used is recorded
            (:attr:`seeds`).
        ids : sequence of str (or of integer labels), optional
            Entrant ids of the rows of ``scores``. Known ids keep their pool position,
            unknown ids join the pool (in order), pool members not listed get score 0.
            A pool uses ids from its first lottery on, or never. Integer labels are
            stored as their decimal text. A pandas Series as ``scores`` (duck typed:
            ``.index`` and ``.to_numpy()``) uses its index as ``ids`` unless ``ids``
            is given, and the winners come back as a Series with that index.

        waitlist : int, optional
            Also draw this many ordered alternates among the entrants who did not
            win (``0 <= waitlist <= entrants - k``), by the same fairness rule: each
            alternate is a fair one-seat draw among those still waiting, from a seed
            derived from the lottery's seed (docs/waitlists.md). Read them with
            :meth:`waitlist`; :meth:`decline` promotes them. With ``divisions``: an
            int is that many alternates per division, a mapping ``label -> count``
            sets each division's own (absent labels: 0); each division's alternates
            are drawn among its own entrants (docs/divisions.md).
        divisions : sequence of str (or of integer labels), optional
            The division of each row of ``scores`` (e.g. ``"F"``, ``"M"``,
            ``"masters"``; a pandas Series is fine). Deserved seats, fair
            probabilities and the draw then run within each division, so every
            division gets exactly its seats; an entrant's running totals are its
            own, whichever division it enters (docs/divisions.md). Read them back
            with :meth:`lottery_info` and :meth:`division_labels`.

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
            winners = self._run_lottery(scores, k, seed, id_list, waitlist, divisions, series)
        return _pandas.rewrap(winners, series)  # type: ignore[no-any-return]

    def _division_plan(self, scores: Any, k: Any, divisions: Any,
                       series: Any) -> Optional[_divisions.DivisionPlan]:
        if divisions is None and not isinstance(k, Mapping):
            return None
        return _divisions.plan(divisions, k, as_float_vector(scores, "scores"), series)

    def _run_lottery(
        self,
        scores: ArrayLike,
        k: Counts,
        seed: StrSeedLike,
        ids: Optional[Sequence[str]],
        waitlist: Any = 0,
        divisions: Any = None,
        series: Any = None,
    ) -> NDArray[np.int8]:
        entries = self._members.align(scores, ids, self.n_entrants)
        dplan = self._division_plan(scores, k, divisions, series)
        if dplan is not None:
            return self._run_divided(entries, dplan, seed, ids, waitlist)
        m = _draw.as_count(waitlist, "waitlist")
        kk = _draw.as_count(k)
        entered = int(np.count_nonzero(
            (entries.dense if entries.dense is not None else entries.scores) > 0))
        if m and kk <= entered < kk + m:
            msg = (f"waitlist must be <= entrants - k = {entered - kk} (the entrants who "
                   f"do not win), got {m}")
            raise ValueError(msg)
        winners, seed_string = _draw.draw(self._core, entries, k, seed,
                                          self._warn_new_members(entries, 5))
        self._members.extend(entries.new_ids, ids is not None)
        self._seed_strings.append(seed_string)
        self._waitlists.append(self._draw_alternates(m) if m else [])
        self._declines.append([])
        self._division_labels.append(None)
        return winners

    def _warn_new_members(self, entries: Any, stacklevel: int) -> Any:
        """The warning (run just before the commit) about members joining a pool with
        past lotteries; ``stacklevel`` points at the user's call."""
        n_before, t_before = self.n_entrants, self.n_lotteries

        def warn() -> None:
            n_new = entries.n_total - n_before
            if n_new > 0 and t_before > 0:
                msg = (
                    f"{n_new} new member(s) joined pool {self._name!r}: their scores, "
                    f"win probabilities and wins in the {t_before} earlier "
                    "lotteries are set to zero"
                )
                warnings.warn(msg, UserWarning, stacklevel=stacklevel)

        return warn

    def _run_divided(self, entries: Any, dplan: _divisions.DivisionPlan, seed: StrSeedLike,
                     ids: Optional[Sequence[str]], waitlist: Any) -> NDArray[np.int8]:
        counts = _divisions.waitlist_counts(waitlist, dplan)
        winners, seed_string = _draw.draw(self._core, entries, None, seed,
                                          self._warn_new_members(entries, 6), dplan)
        self._members.extend(entries.new_ids, ids is not None)
        self._seed_strings.append(seed_string)
        t = self.n_lotteries - 1
        self._waitlists.append(_waitlist.draw_division_alternates(
            self._core, t, counts) if counts.any() else [])
        self._declines.append([])
        self._division_labels.append(list(dplan.labels))
        return winners

    def _draw_alternates(self, m: int) -> list[int]:
        """The ordered alternates of the lottery just committed."""
        t = self.n_lotteries - 1
        _size, pos, scores, _pi, won = self._core.column(t)
        waiting = np.zeros(self.n_entrants, dtype=bool)
        waiting[pos[(scores > 0) & (won == 0)]] = True
        return _waitlist.draw_alternates(self._core.cumulative_deserved, self._core.wins,
                                         waiting, m, int(self._core.seeds[t]))

    # ---- waitlists and declines --------------------------------------------------
    def _lottery_index(self, t: Any) -> int:
        n_t = self.n_lotteries
        if isinstance(t, (bool, np.bool_)) or not isinstance(t, (int, np.integer)):
            msg = f"t must be an int, got {type(t).__name__}"
            raise TypeError(msg)
        if not -n_t <= t < n_t:
            msg = f"t must lie in [-{n_t}, {n_t}) for a pool of {n_t} lotteries, got {t}"
            raise IndexError(msg)
        return int(t) % n_t

    def waitlist(self, t: int = -1) -> list[Union[str, int]]:
        """The ordered alternates of lottery ``t`` (default: the last), as drawn:
        ids, or positions in a pool without ids (promoted ones included; see
        :meth:`declines`). Empty when the lottery was drawn without a waitlist."""
        with self._exclusive():
            tt = self._lottery_index(t)
            return [self._members.label(p) for p in self._waitlists[tt]]

    def declines(self, t: int = -1) -> list[tuple[Union[str, int], Optional[Union[str, int]]]]:
        """The declines of lottery ``t`` in order: ``(decliner, replacement)``."""
        with self._exclusive():
            tt = self._lottery_index(t)
            label = self._members.label
            return [(label(d), None if r is None else label(r))
                    for d, r in self._declines[tt]]

    def decline(self, entrant: Union[str, int], t: int = -1) -> Union[str, int]:
        """A winner of lottery ``t`` declines the seat: it goes to the next alternate.

        In a divided lottery the seat goes to the next alternate of the decliner's
        division, so every division keeps exactly its seats.

        Accounting: the replacement is counted as a winner of lottery ``t`` (the win
        enters its wins and so its future odds); the decliner is counted as not having
        won it (as if it had lost). The decline is recorded, saved and checked by
        :meth:`verify`.

        Parameters
        ----------
        entrant : str or int
            The winner who declines (an id; a position in a pool without ids).
        t : int
            The lottery; only the last one takes declines (the next lottery's odds
            depend on its winners), so ``t`` must be ``-1`` or ``n_lotteries - 1``.

        Returns
        -------
        str or int
            The replacement (id, or position in a pool without ids).

        Raises
        ------
        ValueError, TypeError, IndexError
            Not the last lottery, not a member, not a winner of that lottery, or no
            alternate still waiting (the seat then stays counted as the decliner's:
            a lottery always records exactly ``k`` winners); the pool is then
            unchanged.
        """
        with self._exclusive():
            tt = self._lottery_index(t)
            if tt != self.n_lotteries - 1:
                msg = (f"t: only the last lottery ({self.n_lotteries}) takes declines; "
                       f"lottery {tt + 1} is settled because a later one was drawn")
                raise ValueError(msg)
            pos = self._members.position_of(entrant, self.n_entrants)
            state: list[Any] = list(self._core.state())
            lengths, positions, winners = state[1], state[4], state[7]
            start = int(lengths[:tt].sum())
            col = slice(start, start + int(lengths[tt]))
            where = {int(p): start + j for j, p in enumerate(positions[col].tolist())}
            if pos not in where or winners[where[pos]] != 1:
                msg = f"entrant: {entrant!r} is not a winner of lottery {tt + 1}"
                raise ValueError(msg)
            promoted = {r for _d, r in self._declines[tt] if r is not None}
            codes, _seats = self._core.column_divisions(tt)
            same = codes[where[pos] - start] if codes.size else None  # the division
            nxt = next((a for a in self._waitlists[tt]
                        if a not in promoted and winners[where[a]] == 0
                        and (same is None or codes[where[a] - start] == same)), None)
            if nxt is None and same is not None:
                label = (self._division_labels[tt] or [])[int(same)]
                msg = (f"entrant: no alternate of division {label!r} of lottery {tt + 1} is "
                       f"still waiting, so {entrant!r} keeps the seat (draw with a longer "
                       "waitlist for that division)")
                raise ValueError(msg)
            if nxt is None:
                msg = (f"entrant: no alternate of lottery {tt + 1} is still waiting, so "
                       f"{entrant!r} keeps the seat (draw with a longer waitlist)")
                raise ValueError(msg)
            winners = winners.copy()
            winners[where[pos]] = 0
            winners[where[nxt]] = 1
            core = _core.LotteryPoolCore()
            sizes, lengths, ks, seeds, positions, scores = state[:6]
            core.restore(sizes, lengths, ks, seeds, positions, scores, state[6], winners,
                         *self._core.division_state())
            self._core = core
            self._declines[tt].append((pos, nxt))
            return self._members.label(nxt)

    # ---- members who left --------------------------------------------------------
    def retire(self, members: Sequence[Union[str, int]]) -> int:
        """Retire members who left: they never enter a lottery again.

        Their history is kept (past scores, probabilities, wins, and their ids), but
        later lotteries record nothing for them: the history stores one sparse column
        per lottery holding only that lottery's entrants, so neither the saved file
        nor the cost of a lottery grows with members who left (with ids, a lottery
        costs O(its entrants); a positional pool still passes one score per member).

        Parameters
        ----------
        members : sequence of str (ids) or of int (positions, in a pool without ids)
            Members to retire; already retired ones are ignored.

        Returns
        -------
        int
            How many members were newly retired.

        Raises
        ------
        ValueError, TypeError
            An unknown id or position, or the wrong kind; nothing is retired then.

        Notes
        -----
        A later :meth:`run_lottery` (or :meth:`preview`) that gives a retired member a
        score > 0 is a ValueError naming them (a score of 0, or leaving them out of
        ``ids``, is fine): a retirement is never undone silently. :meth:`verify`
        checks that no retired member entered after retiring.
        """
        with self._exclusive():
            positions = self._members.positions_to_retire(members, self.n_entrants)
            self._members.retire(positions, self.n_lotteries)
            return len(positions)

    @property
    def retired(self) -> list[Union[str, int]]:
        """Retired members (ids, or positions in a pool without ids), by position."""
        return [self._members.label(p) for p in sorted(self._members.retired_at)]

    # ---- audit -------------------------------------------------------------------
    def verify(self) -> AuditReport:
        """Re-derive every recorded lottery and report any mismatch.

        For every lottery, the probabilities are re-derived from the recorded scores,
        k and the recorded history before it (bit for bit), and the winners are
        re-drawn from the recorded probabilities and seed (bit for bit). A recorded
        seed string must hash to the recorded seed.

        Returns
        -------
        AuditReport
            Truthy when everything matches.
        """
        with self._exclusive():
            report = audit(self._core, self._seed_strings, self._members.retired_at)
            checked: AuditReport = _waitlist.audit_records(
                self._core, self._waitlists, self._declines, report)
            return checked

    # ---- persistence -------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        sizes, lengths, ks, seeds, positions, scores, pi, winners = self._core.state()
        return {
            "name": self._name,
            "ids": self._members.ids,
            "sizes": sizes,
            "lengths": lengths,
            "k": ks,
            "seeds": seeds,
            "positions": positions,
            "scores": scores,
            "probabilities": pi,
            "winners": winners,
            "seed_strings": list(self._seed_strings),
            "retired": self._members.retired_state(),
            "waitlists": [list(w) for w in self._waitlists],
            "declines": [[[d, r] for d, r in ds] for ds in self._declines],
            **_divisions.state_of(self._core, self._division_labels),
        }

    @classmethod
    def _from_state(cls, st: dict[str, Any]) -> LotteryPool:
        pool = cls(st["name"])
        pool._core, pool._members, pool._seed_strings, pool._division_labels = _restored(st)
        pool._waitlists, pool._declines = _waitlist.check_records(
            st.get("waitlists"), st.get("declines"), pool.n_lotteries, pool.n_entrants)
        return pool

    def __getstate__(self) -> dict[str, Any]:
        with self._exclusive():
            st = self._state()
        st["format"] = version_of(st)
        return st

    def __setstate__(self, st: dict[str, Any]) -> None:
        """Restore a pickled pool: all-or-nothing (a bad state is a ValueError and
        leaves the object exactly as it was)."""
        if not isinstance(st, dict):
            msg = f"invalid LotteryPool state: expected a dict, got {type(st).__name__}"
            raise ValueError(msg)
        fmt = st.get("format")
        if isinstance(fmt, bool) or fmt not in READ_VERSIONS:
            msg = f"unsupported LotteryPool pickle format {fmt!r}"
            raise ValueError(msg)
        name = st.get("name")
        if not isinstance(name, str):
            msg = f"invalid LotteryPool state: name must be a str, got {type(name).__name__}"
            raise ValueError(msg)
        busy = self.__dict__.get("_busy")
        if busy is None:  # unpickling: a fresh object
            self._busy = threading.Lock()
        with self._exclusive():
            core, members, seed_strings, division_labels = _restored(st)
            waitlists, declines = _waitlist.check_records(
                st.get("waitlists"), st.get("declines"), int(core.n_lotteries),
                int(core.n_entrants))
            self._name, self._core, self._members = name, core, members
            self._seed_strings, self._division_labels = seed_strings, division_labels
            self._waitlists, self._declines = waitlists, declines

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
        The format (version :data:`~fastfair.pool.fileformat.SAVE_VERSION`, or
        :data:`~fastfair.pool.fileformat.DIVISIONS_VERSION` for a pool with a divided
        lottery) is described in docs/pool-format.md.
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


#: (state key, accepted dtype kinds, dtype passed to the core), in the core's order.
_STATE_ARRAYS = (
    ("sizes", "iu", np.uint64),
    ("lengths", "iu", np.int64),
    ("k", "iu", np.int64),
    ("seeds", "iu", np.uint64),
    ("positions", "iu", np.uint32),
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
    if arr.dtype.kind in "iu" and arr.size:
        info = np.iinfo(dtype)
        if (arr.dtype.kind == "i" and int(arr.min()) < info.min) or int(arr.max()) > info.max:
            msg = f"invalid LotteryPool state: {key} holds values out of range"
            raise ValueError(msg)
    return out


def _seed_strings(st: dict[str, Any], n_lotteries: int) -> list[Optional[str]]:
    """The recorded seed strings (absent before format 2: all None)."""
    raw = st.get("seed_strings")
    if raw is None:
        return [None] * n_lotteries
    if not isinstance(raw, (list, tuple)) or len(raw) != n_lotteries:
        msg = "invalid LotteryPool state: seed_strings must be a list, one per lottery"
        raise ValueError(msg)
    if not all(x is None or isinstance(x, str) for x in raw):
        msg = "invalid LotteryPool state: seed_strings must hold str or None"
        raise ValueError(msg)
    return list(raw)


def _restored(
    st: dict[str, Any],
) -> tuple[Any, Members, list[Optional[str]], list[Optional[list[str]]]]:
    """A new core, members, seed strings and division labels from a state dict (format
    3-4, or the dense columns of formats 1-2, converted); ValueError (and nothing
    built) if any part of it is malformed. Counts are checked before anything is read."""
    if "sizes" not in st and "positions" not in st:
        st = dict(st)
        st.update(dense_to_sparse(
            _state_array(st, "lengths", "iu", np.int64),
            _state_array(st, "scores", "biuf", np.float64),
            _state_array(st, "probabilities", "biuf", np.float64),
            _state_array(st, "winners", "biu", np.int8),
        ))
    arrays = [_state_array(st, key, kinds, dt) for key, kinds, dt in _STATE_ARRAYS]
    if "ids" not in st:
        msg = "invalid LotteryPool state: no 'ids'"
        raise ValueError(msg)
    labels, div_arrays = _divisions.restored_state(st, int(arrays[1].size), _state_array)
    core = _core.LotteryPoolCore()
    core.restore(*arrays, *div_arrays)
    n_t = int(core.n_lotteries)
    members = Members.restored(st["ids"], int(core.n_entrants), st.get("retired"), n_t)
    return core, members, _seed_strings(st, n_t), labels
