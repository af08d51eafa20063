"""The entrants CSV reader of the command line (and CSV text for its outputs).

:func:`read_entrants` reads one entrant per row: an id and a score (tickets, weight).
:func:`add_csv_options` adds the options it understands to a command; any command that
reads entrants (``lottery draw``/``preview``, the tickets commands) uses both.

Rules (each violation is a :class:`~fastfair.cli.errors.CliError` naming the file and
the physical line, counted as an editor does, so quoted multi-line fields count):

- Encoding ``--encoding`` (default UTF-8, a UTF-8 byte-order mark is accepted); bytes
  that do not decode name their line and suggest ``--encoding``.
- Delimiter: ``--delimiter``, else detected among tab, ``;`` and ``,`` (the one that
  splits the first records into the same number (>= 2) of fields; ties go to tab, then
  ``;``, then ``,``).
- Header: ``--header auto`` (default) takes the first row as a header when it names an
  id column (id, bib, runner id, entrant, member, name, ...) and a score column (score,
  weight, tickets, entries, points, chances), or the columns given by name; ``yes`` /
  ``no`` force it. ``--id-column`` / ``--score-column`` take a header name or a
  1-based position (default: the recognised names, else columns 1 and 2). Extra
  columns are ignored; a row with more non-empty fields than the header is an error.
- Ids are stripped of surrounding whitespace, non-empty and unique; any length.
- Divisions (``lottery draw``/``preview`` with ``--division-column NAME|N``, read by
  :func:`read_entrant_table`): the label of every row, stripped of surrounding
  whitespace, non-empty (case matters: ``F`` and ``f`` are two divisions). A column
  given by name needs a header line; it must not be the id or score column.
- Scores are plain ASCII decimal or scientific notation (``3``, ``0.5``, ``2.5e-3``),
  finite and >= 0. Rejected: ``1_000``, non-ASCII digits, ``nan``, ``inf``, hex,
  values too large for a float64, and values that underflow to 0 (``1e-400``; write
  ``0`` to leave an entrant out).
- Only regular files are read (not a FIFO, a device such as ``/dev/zero``, a directory).
"""

from __future__ import annotations

import argparse
import codecs
import contextlib
import csv
import io
import os
import re
import stat
from typing import Any, Iterable, Iterator, NamedTuple, Optional, Sequence, Union

from .._atomic import atomic_write
from .errors import CliError

__all__ = [
    "Entrants", "add_csv_options", "csv_text", "parse_score", "read_entrant_table",
    "read_entrants",
]

ID_NAMES = (
    "id", "bib", "bib number", "bib no", "runner id", "entrant id", "entrant",
    "member id", "member", "participant id", "participant", "applicant id",
    "applicant", "runner", "number", "name",
)
"""Header names recognised as the id column (case, spaces, ``_-.#`` ignored), in order
of preference."""

SCORE_NAMES = ("score", "weight", "tickets", "ticket", "entries", "points", "chances")
"""Header names recognised as the score column, in order of preference."""

_DELIMITERS = {"tab": "\t", "\\t": "\t", "\t": "\t", ",": ",", ";": ";", "|": "|"}
_SNIFF_ORDER = ("\t", ";", ",")
_SNIFF_CHARS = 1 << 16
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z")
_INF = float("inf")
_FIELD_LIMIT = 2**31 - 1  # no practical limit on an id's length

ColumnSpec = Union[None, int, str]


# ---------------------------------------------------------------------------- options


def _column(text: str) -> Union[int, str]:
    text = text.strip()
    if text.isascii() and text.isdigit():
        if int(text) < 1:
            msg = f"column positions start at 1, got {text!r}"
            raise argparse.ArgumentTypeError(msg)
        return int(text) - 1
    if not text:
        raise argparse.ArgumentTypeError("expected a column name or a 1-based position")
    return text


def _delimiter(text: str) -> str:
    try:
        return _DELIMITERS[text.lower()]
    except KeyError:
        msg = f"expected one of ',', ';', 'tab', '|', got {text!r}"
        raise argparse.ArgumentTypeError(msg) from None


def _encoding(text: str) -> str:
    try:
        codecs.lookup(text)
    except LookupError:
        msg = f"unknown encoding {text!r} (e.g. utf-8, latin-1, cp1252, utf-16)"
        raise argparse.ArgumentTypeError(msg) from None
    return text


def add_csv_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--id-column``, ``--score-column``, ``--header``, ``--delimiter`` and
    ``--encoding`` (what :func:`read_entrants` reads from ``args``)."""
    g = parser.add_argument_group("entrants CSV")
    g.add_argument("--id-column", type=_column, default=None, metavar="NAME|N",
                   help="the id column: a header name or a 1-based position "
                        "(default: a column named id, bib, runner id, ..., else 1)")
    g.add_argument("--score-column", type=_column, default=None, metavar="NAME|N",
                   help="the score column: a header name or a 1-based position "
                        "(default: a column named score, weight, tickets, ..., else 2)")
    g.add_argument("--header", choices=["auto", "yes", "no"], default="auto",
                   help="is the first row a header? auto (default): when it names the "
                        "id and score columns")
    g.add_argument("--delimiter", type=_delimiter, default=None, metavar="CHAR",
                   help="field delimiter: ',', ';', 'tab' or '|' (default: detected)")
    g.add_argument("--encoding", type=_encoding, default="utf-8",
                   help="text encoding of the file (default utf-8; a BOM is accepted)")


# ----------------------------------------------------------------------------- scores


def parse_score(raw: str) -> float:
    """A score cell as a float: plain ASCII decimal/scientific notation, finite, >= 0,
    and not a non-zero value that underflows to 0. ``ValueError`` says why not."""
    if not _NUMBER.match(raw):
        msg = f"score {raw!r} is not a number (plain decimal like 3, 0.5 or 2.5e-3)"
        raise ValueError(msg)
    value = float(raw)
    if 0.0 < value < _INF:
        return value
    mantissa = re.split("[eE]", raw, maxsplit=1)[0]
    nonzero = any(c in "123456789" for c in mantissa)
    if value < 0 or (raw.startswith("-") and nonzero):
        msg = f"score must be a finite number >= 0, got {raw!r}"
        raise ValueError(msg)
    if value == _INF:
        msg = f"score {raw!r} is too large (the largest float64 is about 1.8e308)"
        raise ValueError(msg)
    if nonzero:
        msg = (
            f"score {raw!r} is too small: it underflows to 0 (the smallest float64 "
            "is about 4.9e-324); write 0 to leave the entrant out"
        )
        raise ValueError(msg)
    return 0.0


# ------------------------------------------------------------------------------ text


def _read_text(path: str, encoding: str) -> str:
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        msg = f"cannot read entrants file {path}: {exc.strerror or exc}"
        raise CliError(msg) from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            msg = f"entrants file {path} is not a regular file"
            raise CliError(msg)
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read()
    except OSError as exc:
        msg = f"cannot read entrants file {path}: {exc.strerror or exc}"
        raise CliError(msg) from None
    except MemoryError:
        msg = f"entrants file {path} is too large to read into memory"
        raise CliError(msg) from None
    finally:
        os.close(fd)
    codec = codecs.lookup(encoding).name
    if codec == "utf-8":
        codec = "utf-8-sig"
    try:
        return data.decode(codec)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        msg = (
            f"{path} line {line}: bytes that are not valid {encoding} (byte offset "
            f"{exc.start}); give the file's encoding with --encoding (e.g. --encoding "
            "cp1252 or --encoding latin-1)"
        )
        raise CliError(msg) from None


def _newlines(text: str) -> int:
    return text.count("\n") + text.count("\r") - text.count("\r\n")


def _sniff(text: str) -> str:
    head = text[:_SNIFF_CHARS]
    best, best_fields = ",", 0
    for cand in _SNIFF_ORDER:
        counts = []
        try:
            for row in csv.reader(io.StringIO(head, newline=""), delimiter=cand):
                if row and any(c.strip() for c in row):
                    counts.append(len(row))
                if len(counts) > 50:
                    break
        except csv.Error:
            continue
        if len(text) > len(head) and len(counts) > 1:
            counts.pop()  # the last record may be cut
        if counts and min(counts) == max(counts) >= 2 and counts[0] > best_fields:
            best, best_fields = cand, counts[0]
    return best


@contextlib.contextmanager
def _field_limit() -> Iterator[None]:
    old = csv.field_size_limit()
    csv.field_size_limit(_FIELD_LIMIT)
    try:
        yield
    finally:
        csv.field_size_limit(old)


def _records(text: str, delimiter: str, path: str) -> Iterator[tuple[int, list[str]]]:
    """(first physical line, fields) of every non-blank record."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    prev = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            msg = f"{path} line {reader.line_num}: malformed CSV ({exc})"
            raise CliError(msg) from None
        start, prev = prev + 1, reader.line_num
        if row and any(c.strip() for c in row):
            yield start, row


# ---------------------------------------------------------------------------- columns


def _norm(name: str) -> str:
    return " ".join(re.sub(r"[^0-9a-z]+", " ", name.lower()).split())


def _find(norm: list[str], spec: ColumnSpec, known: Sequence[str]) -> Optional[int]:
    if isinstance(spec, int):
        return spec if spec < len(norm) and norm[spec] in known else None
    if isinstance(spec, str):
        want = _norm(spec)
        return norm.index(want) if want in norm else None
    for name in known:
        if name in norm:
            return norm.index(name)
    return None


def _columns(
    first: list[str], id_spec: ColumnSpec, score_spec: ColumnSpec, header: str, where: str,
    named: bool = False,
) -> tuple[bool, int, int]:
    """(the first row is a header, id column, score column), 0-based. ``named``: some
    other column is given by name, so the first row must be a header."""
    norm = [_norm(c) for c in first]
    by_name = isinstance(id_spec, str) or isinstance(score_spec, str) or named
    if header == "no" and by_name:
        msg = "columns given by name need a header line (not --header no)"
        raise CliError(msg)
    found_id = _find(norm, id_spec, ID_NAMES)
    found_score = _find(norm, score_spec, SCORE_NAMES)
    is_header = header == "yes" or by_name or (
        header == "auto" and found_id is not None and found_score is not None
    )
    if not is_header:
        id_col = id_spec if isinstance(id_spec, int) else 0
        score_col = score_spec if isinstance(score_spec, int) else 1
        if id_col == score_col:
            msg = f"the id and score columns are both column {id_col + 1}"
            raise CliError(msg)
        return False, id_col, score_col
    cols = []
    for spec, found, role in ((id_spec, found_id, "id"), (score_spec, found_score, "score")):
        if isinstance(spec, int):
            cols.append(spec)
        elif found is not None:
            cols.append(found)
        elif isinstance(spec, str):
            msg = f"{where}: no column named {spec!r} in the header {first!r}"
            raise CliError(msg)
        elif len(first) == 2 and id_spec is None and score_spec is None:
            cols.append(0 if role == "id" else 1)
        else:
            msg = (
                f"{where}: cannot tell which column of the header {first!r} holds the "
                f"{role}; name it with --{role}-column"
            )
            raise CliError(msg)
    if cols[0] == cols[1]:
        msg = f"the id and score columns are both column {cols[0] + 1}"
        raise CliError(msg)
    return True, cols[0], cols[1]


def _extra_column(
    first: list[str], spec: Union[int, str], taken: dict[int, str], what: str, where: str
) -> int:
    """The 0-based position of a further column (e.g. the division) given by name or
    position; it must not be the id or score column (``taken``: position -> role)."""
    if isinstance(spec, str):
        want = _norm(spec)
        norm = [_norm(c) for c in first]
        if want not in norm:
            msg = f"{where}: no column named {spec!r} (--{what}-column) in the header {first!r}"
            raise CliError(msg)
        col = norm.index(want)
    else:
        col = spec
    if col in taken:
        msg = f"the {what} and {taken[col]} columns are both column {col + 1}"
        raise CliError(msg)
    return col


# ---------------------------------------------------------------------------- entrants


class Entrants(NamedTuple):
    """An entrants file as read: one item per row, in file order."""

    ids: list[str]
    scores: list[float]
    divisions: Optional[list[str]]
    """The division label of every row (``--division-column``), else None."""


def read_entrants(path: str, args: Optional[argparse.Namespace] = None) -> tuple[list[str], list[float]]:
    """Read an entrants CSV: (ids, scores) in file order (see the module docstring for
    the rules). ``args`` carries the options of :func:`add_csv_options` (missing
    attributes take their defaults). Every problem is a
    :class:`~fastfair.cli.errors.CliError` naming the file and the physical line.
    """
    table = read_entrant_table(path, args, divisions=False)
    return table.ids, table.scores


def read_entrant_table(
    path: str, args: Optional[argparse.Namespace] = None, divisions: bool = True
) -> Entrants:
    """Read an entrants CSV like :func:`read_entrants`, and with ``divisions`` also the
    division column ``args.division_column`` (a header name or a 0-based position;
    None: no divisions). Division labels are stripped of surrounding whitespace and
    must not be empty (an error naming the line)."""
    opt: Any = args if args is not None else argparse.Namespace()
    id_spec: ColumnSpec = getattr(opt, "id_column", None)
    score_spec: ColumnSpec = getattr(opt, "score_column", None)
    div_spec: ColumnSpec = getattr(opt, "division_column", None) if divisions else None
    header = getattr(opt, "header", "auto") or "auto"
    encoding = getattr(opt, "encoding", None) or "utf-8"
    try:
        codecs.lookup(encoding)
    except LookupError:
        msg = f"unknown encoding {encoding!r}"
        raise CliError(msg) from None
    path = os.fspath(path)
    text = _read_text(path, encoding)
    delimiter = getattr(opt, "delimiter", None) or _sniff(text)
    ids: list[str] = []
    scores: list[float] = []
    labels: Optional[list[str]] = None if div_spec is None else []
    seen: dict[str, int] = {}
    with _field_limit():
        records = _records(text, delimiter, path)
        first = next(records, None)
        if first is None:
            msg = f"{path}: no entrants (expected rows of id,score)"
            raise CliError(msg)
        where = f"{path} line {first[0]}"
        is_header, id_col, score_col = _columns(
            first[1], id_spec, score_spec, header, where, isinstance(div_spec, str)
        )
        div_col = -1
        if div_spec is not None:
            div_col = _extra_column(first[1], div_spec, {id_col: "id", score_col: "score"},
                                    "division", where)
        width = len(first[1])
        need = max(id_col, score_col, div_col) + 1
        like = "the header" if is_header else f"line {first[0]}"
        rows: Iterable[tuple[int, list[str]]] = records
        if not is_header:
            rows = _chain(first, records)
        for start, row in rows:
            if len(row) < need:
                msg = (
                    f"{path} line {start}: expected at least {need} fields, got "
                    f"{len(row)} (delimiter {_show(delimiter)})"
                )
                raise CliError(msg)
            if len(row) > width and any(c.strip() for c in row[width:]):
                msg = (
                    f"{path} line {start}: {len(row)} fields, more than the {width} of "
                    f"{like} (a quoting or delimiter problem?)"
                )
                raise CliError(msg)

            entrant = row[id_col].strip()
            raw = row[score_col].strip()
            try:
                score = parse_score(raw)
            except ValueError as exc:
                hint = ""
                if not is_header and start == first[0]:
                    hint = (" (if this line is a header, use --header yes or name the "
                            "columns with --id-column/--score-column)")
                if not raw:
                    exc = ValueError(f"empty score for id {_short(entrant)}")
                msg = f"{path} line {_line_of(start, row, score_col)}: {exc}{hint}"
                raise CliError(msg) from None
            if not entrant or entrant in seen:
                line = _line_of(start, row, id_col)
                if not entrant:
                    msg = f"{path} line {line}: empty id"
                else:
                    msg = (
                        f"{path} line {line}: duplicate id {_short(entrant)} "
                        f"(first on line {seen[entrant]})"
                    )
                raise CliError(msg)
            seen[entrant] = start if id_col == 0 else _line_of(start, row, id_col)
            if labels is not None:
                label = row[div_col].strip()
                if not label:
                    line = _line_of(start, row, div_col)
                    msg = f"{path} line {line}: empty division for id {_short(entrant)}"
                    raise CliError(msg)
                labels.append(label)
            ids.append(entrant)
            scores.append(score)
    if not ids:
        msg = f"{path}: no entrants (only a header line)"
        raise CliError(msg)
    return Entrants(ids, scores, labels)


def _line_of(start: int, row: list[str], col: int) -> int:
    """The physical line where field ``col`` of a record starting on ``start`` is."""
    return start + sum(_newlines(c) for c in row[:col])


def _chain(first: tuple[int, list[str]], rest: Iterator[tuple[int, list[str]]]) -> Iterator[tuple[int, list[str]]]:
    yield first
    yield from rest


def _short(text: str, limit: int = 60) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")


def _show(delimiter: str) -> str:
    return "tab" if delimiter == "\t" else repr(delimiter)


# ---------------------------------------------------------------------------- outputs


def write_text_atomic(path: str, text: str) -> None:
    """Write ``text`` to ``path`` atomically (see :func:`fastfair._atomic.atomic_write`);
    an existing ``path`` that is not a regular file (a device, a FIFO) is refused."""
    from .staging import refuse_special_file

    refuse_special_file(os.fspath(path))
    with atomic_write(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """Rows as CSV text (``\\n`` line endings)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()
