"""``fastfair lottery report POOL [--html FILE]``: a readable audit of a pool.

For every lottery: its entrants (and how many were new), the number of winners k, the
divisions (when drawn by division: each one's seats, entrants and largest
|wins - deserved| after the lottery among its entrants), the seed, the SHA-256 input hash of the lottery's ids and scores, the largest
|wins - deserved| after it, the waitlist and the declines (when the pool records them),
and whether ``verify`` re-derives it exactly. ``--html FILE`` also writes the same
audit as one self-contained HTML page. Exit status 0 when every lottery verifies, 1
when one does not, 2 on bad input.

Input hash: SHA-256 (hex) of the UTF-8 JSON text
``json.dumps(sorted([id, score] for every entrant with score > 0),
ensure_ascii=False, separators=(",", ":"))``, scores as float64 (JSON prints the
shortest round-trip decimal): anyone can recompute it from the published entrants file.

Extension point: a lottery row is a function ``(LotteryView) -> Field | None``
registered with :func:`lottery_field`; the report loop calls every registered function
for every lottery and shows the non-None results, in registration order, in both the
text and the HTML report. A new pool feature adds its row by registering one function.
"""

from __future__ import annotations

import argparse
import hashlib
import html
import json
import os
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

import numpy as np
from numpy.typing import NDArray

from .divisions import division_info, labels_of, member_divisions
from .errors import CliError

__all__ = [
    "Field",
    "LotteryView",
    "add_parser",
    "input_hash",
    "lottery_field",
    "pool_field",
    "report_html",
    "report_text",
]

#: How many ids a text report lists before "... (N in all)".
TEXT_LIST_LIMIT = 10


@dataclass(frozen=True)
class Field:
    """One row of the report: a label, a short text, optionally the full list.

    ``items`` (e.g. every id of a waitlist) is shown in full in the HTML report and
    shortened to :data:`TEXT_LIST_LIMIT` entries in the text report. ``problem`` marks
    a value an auditor must look at (shown in red in HTML).
    """

    label: str
    text: str
    items: Optional[Sequence[str]] = None
    problem: bool = False


@dataclass
class LotteryView:
    """What a lottery row sees: the pool, the lottery and arrays computed once."""

    pool: Any
    t: int  # 0-based index of the lottery
    ids: list[str]
    scores: NDArray[np.float64]  # (entrants, lotteries)
    winners: NDArray[np.int8]
    unfairness_after: NDArray[np.float64]  # (lotteries,): max |wins - deserved| after t
    mismatches: list[str]  # verify's findings for this lottery
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def number(self) -> int:
        """The lottery's number (1 = the first)."""
        return self.t + 1

    @property
    def entered(self) -> NDArray[np.bool_]:
        """Who entered this lottery (score > 0), in pool order."""
        return self.scores[:, self.t] > 0


LotteryRow = Callable[[LotteryView], Optional[Field]]
PoolRow = Callable[[Any, dict[str, Any]], Optional[Field]]

_LOTTERY_ROWS: list[tuple[str, LotteryRow]] = []
_POOL_ROWS: list[tuple[str, PoolRow]] = []


def lottery_field(name: str) -> Callable[[LotteryRow], LotteryRow]:
    """Register a per-lottery row (decorator). Re-registering a name replaces it."""

    def register(fn: LotteryRow) -> LotteryRow:
        for j, (existing, _) in enumerate(_LOTTERY_ROWS):
            if existing == name:
                _LOTTERY_ROWS[j] = (name, fn)
                return fn
        _LOTTERY_ROWS.append((name, fn))
        return fn

    return register


def pool_field(name: str) -> Callable[[PoolRow], PoolRow]:
    """Register a row of the pool summary (decorator): ``fn(pool, context)``."""

    def register(fn: PoolRow) -> PoolRow:
        for j, (existing, _) in enumerate(_POOL_ROWS):
            if existing == name:
                _POOL_ROWS[j] = (name, fn)
                return fn
        _POOL_ROWS.append((name, fn))
        return fn

    return register


def input_hash(ids: Sequence[str], scores: Sequence[float]) -> str:
    """SHA-256 (hex) of a lottery's input: its entrants' ids and scores (see module)."""
    pairs = sorted([str(i), float(s)] for i, s in zip(ids, scores) if float(s) > 0)
    text = json.dumps(pairs, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _count(n: int, one: str, many: Optional[str] = None) -> str:
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


def _label_ids(view: LotteryView, entries: Any) -> list[str]:
    """Ids for a list of entrants given as ids or as pool positions."""
    out = []
    for e in entries:
        if isinstance(e, (int, np.integer)) and not isinstance(e, bool):
            i = int(e)
            out.append(view.ids[i] if 0 <= i < len(view.ids) else str(i))
        else:
            out.append(str(e))
    return out


def _per_lottery(pool: Any, names: Sequence[str], t: int) -> Any:
    """The first of ``names`` the pool has, read for lottery ``t``: a method called
    with ``t`` or a per-lottery sequence indexed by ``t``; None if the pool has none."""
    for name in names:
        attr = getattr(pool, name, None)
        if attr is None:
            continue
        if callable(attr):
            return attr(t)
        try:
            return attr[t]
        except (IndexError, KeyError, TypeError):
            return None
    return None


# ---- the built-in lottery rows (in report order) ------------------------------------


@lottery_field("entrants")
def _entrants(v: LotteryView) -> Field:
    entered = v.entered
    n = int(np.count_nonzero(entered))
    if v.t == 0:
        new = n
    else:
        if "entered_by" not in v.cache:  # entered lottery t or an earlier one
            v.cache["entered_by"] = np.logical_or.accumulate(v.scores > 0, axis=1)
        before = v.cache["entered_by"][:, v.t - 1]
        new = int(np.count_nonzero(entered & ~before))
    return Field("entrants", f"{n:,} ({new:,} new)")


@lottery_field("winners")
def _winners(v: LotteryView) -> Field:
    k = int(v.pool.lottery_sizes[v.t])
    return Field("winners (k)", f"{k:,}")


@lottery_field("divisions")
def _divisions(v: LotteryView) -> Optional[Field]:
    """A lottery drawn by division: per division its seats, entrants and the largest
    |wins - deserved| after it among that division's entrants."""
    info = division_info(v.pool, v.t)
    if info is None:
        return None
    labels = member_divisions(v.pool, v.t) or []
    if "deviation" not in v.cache:  # wins - deserved after each lottery, per member
        v.cache["deviation"] = np.abs(
            np.cumsum(v.winners, axis=1, dtype=np.float64)
            - np.cumsum(v.pool.deserved, axis=1))
    after = v.cache["deviation"][:, v.t]
    worst: dict[str, float] = {}
    for j, label in enumerate(labels):
        if label is not None:
            worst[label] = max(worst.get(label, 0.0), float(after[j]))
    items = [f"{label}: {int(d['k']):,} of {int(d['entrants']):,} (max |wins - deserved| "
             f"{worst.get(label, 0.0):.3f})" for label, d in info.items()]
    return Field("divisions: seats of entrants", _count(len(items), "division"),
                 items=items)


@lottery_field("seed")
def _seed(v: LotteryView) -> Field:
    seed = int(v.pool.seeds[v.t])
    text = _per_lottery(v.pool, ("seed_strings", "seed_texts", "seed_text"), v.t)
    if text:
        return Field("seed", f"{seed} (from the string {str(text)!r})")
    return Field("seed", str(seed))


@lottery_field("input")
def _input(v: LotteryView) -> Field:
    col = v.scores[:, v.t]
    rows = np.flatnonzero(col > 0)
    ids = [v.ids[i] for i in rows.tolist()]
    return Field("input SHA-256", input_hash(ids, col[rows].tolist()))


@lottery_field("unfairness")
def _unfairness(v: LotteryView) -> Field:
    return Field("max |wins - deserved| after", f"{v.unfairness_after[v.t]:.3f}")


@lottery_field("waitlist")
def _waitlist(v: LotteryView) -> Optional[Field]:
    try:
        wl = _per_lottery(v.pool, ("waitlist",), v.t)
    except Exception as exc:  # noqa: BLE001 - a failing feature must not hide the rest
        return Field("waitlist", f"cannot read: {exc}", problem=True)
    if wl is None or len(wl) == 0:
        return None
    items = _label_ids(v, wl)
    labels = labels_of(v.pool, list(wl), v.t) if division_info(v.pool, v.t) else None
    if labels is not None:  # drawn by division: each alternate's division
        items = [f"{x} ({label})" for x, label in zip(items, labels)]
    return Field("waitlist", _count(len(items), "alternate"), items=items)


def _describe_decline(v: LotteryView, d: Any) -> str:
    if isinstance(d, dict):
        who = d.get("entrant", d.get("decliner", d.get("id")))
        by = d.get("replacement", d.get("replaced_by", d.get("by")))
        if who is not None:
            who_s = _label_ids(v, [who])[0]
            return f"{who_s} -> {_label_ids(v, [by])[0]}" if by is not None else (
                f"{who_s} -> nobody (waitlist exhausted)")
        return ", ".join(f"{k}={val}" for k, val in d.items())
    if isinstance(d, (tuple, list)) and len(d) == 2:
        who_s = _label_ids(v, [d[0]])[0]
        by_s = "nobody (waitlist exhausted)" if d[1] is None else _label_ids(v, [d[1]])[0]
        return f"{who_s} -> {by_s}"
    return str(d)


@lottery_field("declines")
def _declines(v: LotteryView) -> Optional[Field]:
    try:
        ds = _per_lottery(v.pool, ("declines",), v.t)
    except Exception as exc:  # noqa: BLE001
        return Field("declines", f"cannot read: {exc}", problem=True)
    if ds is None or len(ds) == 0:
        return None
    items = [_describe_decline(v, d) for d in ds]
    return Field("declines (decliner -> replacement)", _count(len(items), "decline"),
                 items=items)


@lottery_field("verify")
def _verify(v: LotteryView) -> Field:
    if not v.mismatches:
        return Field("verify", "ok (re-derived exactly)")
    return Field("verify", "FAILED: " + "; ".join(v.mismatches), problem=True)


# ---- the pool summary rows ----------------------------------------------------------


@pool_field("name")
def _p_name(pool: Any, ctx: dict[str, Any]) -> Field:
    return Field("pool", str(pool.name))


@pool_field("members")
def _p_members(pool: Any, ctx: dict[str, Any]) -> Field:
    return Field("members", f"{pool.n_entrants:,}")


@pool_field("retired")
def _p_retired(pool: Any, ctx: dict[str, Any]) -> Optional[Field]:
    retired = getattr(pool, "retired", None)
    if retired is None:
        return None
    try:
        n = len(retired() if callable(retired) else retired)
    except Exception:  # noqa: BLE001
        return None
    return Field("retired members", f"{n:,}") if n else None


@pool_field("lotteries")
def _p_lotteries(pool: Any, ctx: dict[str, Any]) -> Field:
    sizes = pool.lottery_sizes
    return Field("lotteries", f"{pool.n_lotteries:,} ({int(sizes.sum()):,} seats in all)")


@pool_field("unfairness")
def _p_unfairness(pool: Any, ctx: dict[str, Any]) -> Optional[Field]:
    if pool.n_lotteries == 0:
        return None
    u = np.abs(pool.unfairness)
    return Field("max |wins - deserved| now", f"{float(u.max()) if u.size else 0.0:.3f}")


@pool_field("verify")
def _p_verify(pool: Any, ctx: dict[str, Any]) -> Field:
    bad = ctx["bad_lotteries"]
    if not bad:
        return Field("verify", f"ok: all {pool.n_lotteries:,} lotteries re-derive exactly")
    listed = ", ".join(str(t + 1) for t in bad)
    return Field("verify", f"FAILED: lotter{'y' if len(bad) == 1 else 'ies'} {listed}",
                 problem=True)


# ---- building the report ------------------------------------------------------------


@dataclass
class Report:
    """The audit as data: pool rows, then one list of rows per lottery."""

    pool_rows: list[Field]
    lotteries: list[list[Field]]
    ok: bool


def build_report(pool: Any) -> Report:
    """Run every registered row over the pool (uses only public pool attributes)."""
    audit = pool.verify()
    by_lottery: dict[int, list[str]] = {}
    for t, what in audit.mismatches:
        by_lottery.setdefault(int(t), []).append(str(what))
    ctx = {"bad_lotteries": sorted(by_lottery)}
    pool_rows = [f for _, fn in list(_POOL_ROWS) if (f := fn(pool, ctx)) is not None]
    lotteries: list[list[Field]] = []
    if pool.n_lotteries:
        ids = pool.ids
        ids = [str(i) for i in range(pool.n_entrants)] if ids is None else list(ids)
        scores = pool.scores
        winners = pool.winners
        dev = np.cumsum(winners, axis=1, dtype=np.float64) - np.cumsum(pool.deserved, axis=1)
        after = np.abs(dev).max(axis=0) if dev.size else np.zeros(pool.n_lotteries)
        cache: dict[str, Any] = {}
        for t in range(pool.n_lotteries):
            view = LotteryView(pool, t, ids, scores, winners, after,
                               by_lottery.get(t, []), cache)
            rows = [f for _, fn in list(_LOTTERY_ROWS) if (f := fn(view)) is not None]
            lotteries.append(rows)
    return Report(pool_rows, lotteries, bool(audit))


def _text_value(f: Field) -> str:
    if not f.items:
        return f.text
    shown = list(f.items[:TEXT_LIST_LIMIT])
    more = len(f.items) - len(shown)
    tail = f", ... ({len(f.items):,} in all)" if more > 0 else ""
    return f"{f.text}: {', '.join(shown)}{tail}"


def report_text(pool: Any, report: Optional[Report] = None) -> str:
    """The audit as plain text."""
    rep = build_report(pool) if report is None else report
    out: list[str] = ["fastfair lottery audit", ""]
    width = max([len(f.label) for f in rep.pool_rows] +
                [len(f.label) for rows in rep.lotteries for f in rows] + [1])
    out += [f"{f.label:<{width}}  {_text_value(f)}" for f in rep.pool_rows]
    for t, rows in enumerate(rep.lotteries):
        out += ["", f"Lottery {t + 1}"]
        out += [f"  {f.label:<{width}}  {_text_value(f)}" for f in rows]
    if not rep.lotteries:
        out += ["", "no lotteries recorded yet"]
    return "\n".join(out) + "\n"


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em;color:#222}
h1{font-size:1.4em} h2{font-size:1.1em;margin-top:1.6em}
table{border-collapse:collapse;margin:.5em 0}
th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}
th{background:#f3f3f3} td.num{text-align:right}
code{font-size:.85em;word-break:break-all} .bad{color:#b00020;font-weight:bold}
details{max-width:40em} details li{font-family:monospace}
""".strip()


def _html_cell(f: Field) -> str:
    cls = ' class="bad"' if f.problem else ""
    text = html.escape(f.text)
    if f.label == "input SHA-256":
        text = f"<code>{text}</code>"
    if f.items:
        lis = "".join(f"<li>{html.escape(x)}</li>" for x in f.items)
        return (f"<td{cls}><details><summary>{text}</summary><ol>{lis}</ol>"
                f"</details></td>")
    return f"<td{cls}>{text}</td>"


def report_html(pool: Any, report: Optional[Report] = None) -> str:
    """The audit as one self-contained HTML page (no scripts, no external files;
    every value is escaped)."""
    rep = build_report(pool) if report is None else report
    title = html.escape(f"Lottery audit: {pool.name}")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{title}</title><style>{_CSS}</style></head><body>",
        f"<h1>{title}</h1>",
        "<table>",
    ]
    for f in rep.pool_rows:
        parts.append(f"<tr><th>{html.escape(f.label)}</th>{_html_cell(f)}</tr>")
    parts.append("</table>")
    if rep.lotteries:
        labels: list[str] = []
        for rows in rep.lotteries:
            for f in rows:
                if f.label not in labels:
                    labels.append(f.label)
        parts.append("<h2>Lotteries</h2><table><tr><th>lottery</th>")
        parts += [f"<th>{html.escape(lab)}</th>" for lab in labels]
        parts.append("</tr>")
        for t, rows in enumerate(rep.lotteries):
            cells = {f.label: f for f in rows}
            parts.append(f'<tr><td class="num">{t + 1}</td>')
            parts += [_html_cell(cells[lab]) if lab in cells else "<td></td>"
                      for lab in labels]
            parts.append("</tr>")
        parts.append("</table>")
    else:
        parts.append("<p>No lotteries recorded yet.</p>")
    parts.append(
        "<p><small>Input SHA-256: hex SHA-256 of the UTF-8 text "
        "<code>json.dumps(sorted([id, score] for every entrant with score &gt; 0), "
        "ensure_ascii=False, separators=(&quot;,&quot;, &quot;:&quot;))</code>. "
        "Generated by <code>fastfair lottery report</code>.</small></p>"
    )
    parts.append("</body></html>\n")
    return "\n".join(parts)


# ---- command line -------------------------------------------------------------------


def add_parser(lsub: Any) -> None:
    r = lsub.add_parser(
        "report",
        help="a readable audit of every lottery of a pool (text, or HTML with --html)",
        description=__doc__.split("Extension point:")[0].replace("``", ""),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    r.add_argument("pool", help="the pool file")
    r.add_argument("--html", metavar="FILE", help="also write the audit as an HTML page")
    r.set_defaults(run=_run_report)


def _run_report(args: argparse.Namespace) -> int:
    from ..lottery import LotteryPool

    try:
        pool = LotteryPool.load(args.pool)
    except (OSError, ValueError) as exc:
        msg = f"cannot load pool {args.pool}: {exc}"
        raise CliError(msg) from None
    rep = build_report(pool)
    if args.html is not None:
        if os.path.abspath(args.html) == os.path.abspath(args.pool):
            msg = f"--html {args.html} is the pool file; choose another file"
            raise CliError(msg)
        from .._atomic import atomic_write

        try:
            with atomic_write(args.html, "w", encoding="utf-8", newline="\n") as fh:
                fh.write(report_html(pool, rep))
        except OSError as exc:
            msg = f"cannot write {args.html}: {exc.strerror or exc}"
            raise CliError(msg) from None
        print(f"HTML audit written to {args.html}", file=sys.stderr)
    sys.stdout.write(report_text(pool, rep))
    return 0 if rep.ok else 1
