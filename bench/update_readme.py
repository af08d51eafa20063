"""Write the tables of one ``fastfair bench --json`` run into README.md.

    python -m fastfair bench --json > bench.json
    python bench/update_readme.py bench.json [--readme README.md]

Replaces what lies between ``<!-- bench:tables:begin -->`` and
``<!-- bench:tables:end -->`` with ``fastfair bench --markdown``'s tables of that run,
and the memory figure between ``<!-- bench:memory:begin -->`` and
``<!-- bench:memory:end -->``, so every number there comes from the run (none typed
by hand).
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from fastfair.cli.bench import format_markdown


def _between(text: str, name: str, body: str) -> str:
    pat = re.compile(rf"(<!-- bench:{name}:begin -->)(.*?)(<!-- bench:{name}:end -->)", re.S)
    if not pat.search(text):
        msg = f"README has no bench:{name} markers"
        raise SystemExit(msg)
    return pat.sub(lambda m: m.group(1) + body + m.group(3), text, count=1)


def memory_sentence(report: dict) -> str:
    (mem,) = [m for m in report["memory"] if m["bytes_per_unit"] is not None] or [None]
    if mem is None:
        return "not measured on this platform"
    later = mem["detail"]["later_lotteries_b_per_entrant_and_lottery"]
    return (f"{mem['bytes_per_unit']:.1f} B per entrant and lottery for a {mem['case']} "
            f"(RSS growth; {later:.1f} B for each lottery after the first, which also "
            f"allocates the running sums)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("report", type=Path)
    ap.add_argument("--readme", type=Path, default=Path(__file__).resolve().parents[1] / "README.md")
    args = ap.parse_args()
    report = json.loads(args.report.read_text(encoding="utf-8"))
    if report.get("quick"):
        msg = "refusing a --quick report: the README shows the full sizes"
        raise SystemExit(msg)
    text = args.readme.read_text(encoding="utf-8")
    text = _between(text, "tables", "\n" + format_markdown(report) + "\n")
    text = _between(text, "memory", memory_sentence(report))
    args.readme.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
