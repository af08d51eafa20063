"""Atomic file writes and the entrants CSV reader of the command line."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Iterable, Sequence

from .._atomic import atomic_write
from .errors import CliError


def read_entrants(path: str) -> tuple[list[str], list[float]]:
    """Read ``id,score`` rows; a header line ``id,score`` is optional.

    Every problem names the file and line: an empty id, a duplicate id, a score that is
    not a finite number >= 0, a row without exactly two fields.
    """
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as exc:
        msg = f"cannot read entrants file {path}: {exc.strerror or exc}"
        raise CliError(msg) from None
    ids: list[str] = []
    scores: list[float] = []
    seen: dict[str, int] = {}
    for line_no, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row or all(not cell.strip() for cell in row):
            continue
        if line_no == 1 and [c.strip().lower() for c in row] == ["id", "score"]:
            continue
        where = f"{path} line {line_no}"
        if len(row) != 2:
            msg = f"{where}: expected 2 fields (id,score), got {len(row)}"
            raise CliError(msg)
        entrant, raw = row[0].strip(), row[1].strip()
        if not entrant:
            msg = f"{where}: empty id"
            raise CliError(msg)
        if entrant in seen:
            msg = f"{where}: duplicate id {entrant!r} (first on line {seen[entrant]})"
            raise CliError(msg)
        try:
            score = float(raw)
        except ValueError:
            msg = f"{where}: score {raw!r} is not a number"
            raise CliError(msg) from None
        if not math.isfinite(score) or score < 0:
            msg = f"{where}: score must be a finite number >= 0, got {raw!r}"
            raise CliError(msg)
        seen[entrant] = line_no
        ids.append(entrant)
        scores.append(score)
    if not ids:
        msg = f"{path}: no entrants (expected rows of id,score)"
        raise CliError(msg)
    return ids, scores


def write_text_atomic(path: str, text: str) -> None:
    """Write ``text`` to ``path`` atomically (see :func:`fastfair._atomic.atomic_write`)."""
    with atomic_write(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """Rows as CSV text (``\\n`` line endings)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()
