"""``fastfair bench``: fastfair against NumPy references, the blog and the baselines.

Speed is reported as ratios measured in the same run (the machines these run on are
shared and noisy, so absolute times vary); fairness side by side on the same streams.
``--quick`` finishes in well under a minute; ``--json`` prints one JSON document.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from dataclasses import asdict
from typing import Any, Callable, Optional

import numpy as np

from .bench_common import FairnessRow, MemoryRow, Progress, SpeedRow, best_time

__all__ = [
    "FairnessRow", "MemoryRow", "Progress", "SpeedRow", "best_time", "format_markdown",
    "format_table", "run_all",
]


# Each section: (name, function(quick, progress) -> rows, number of progress steps).
Section = tuple[str, Callable[[bool, Progress], list[Any]], Callable[[bool], int]]


def _sections() -> list[Section]:
    from . import bench_sections as bs
    from . import bench_tickets as bt

    return [
        ("sampling", bs.sampling, bs.sampling_steps),
        ("lottery", bs.lottery, bs.lottery_steps),
        ("online", bs.online, bs.online_steps),
        ("efk", bs.efk, bs.efk_steps),
        ("tickets", bt.tickets, bt.tickets_steps),
    ]


def run_all(
    quick: bool, progress_enabled: bool, only: Optional[list[str]] = None
) -> dict[str, Any]:
    """Run every (or the named) section; return the JSON-ready report."""
    sections = [s for s in _sections() if only is None or s[0] in only]
    progress = Progress(sum(steps(quick) for _, _, steps in sections), progress_enabled)
    speed: list[dict[str, Any]] = []
    fairness: list[dict[str, Any]] = []
    memory: list[dict[str, Any]] = []
    for _name, fn, _steps in sections:
        for row in fn(quick, progress):
            d = asdict(row)
            if isinstance(row, SpeedRow):
                d["speedup"] = row.speedups()
                d["vs_floor"] = row.floor_ratios()
                speed.append(d)
            elif isinstance(row, MemoryRow):
                memory.append(d)
            else:
                fairness.append(d)
    import fastfair

    return {
        "fastfair_version": fastfair.__version__,
        "build": dict(fastfair._core.build_info),
        "machine": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "platform": platform.platform(),
            "processor": platform.machine(),
        },
        "environment": {k: v for k, v in sorted(os.environ.items()) if k.startswith("FASTFAIR_")},
        "quick": quick,
        "sections": [s[0] for s in sections],
        "speed": speed,
        "fairness": fairness,
        "memory": memory,
    }


def _fmt_time(s: float) -> str:
    if s < 1e-6:
        return f"{s * 1e9:.0f} ns"
    if s < 1e-3:
        return f"{s * 1e6:.1f} us"
    if s < 1:
        return f"{s * 1e3:.2f} ms"
    return f"{s:.2f} s"


def _fmt_num(x: Optional[float]) -> str:
    if x is None:
        return "-"
    if isinstance(x, float) and not np.isfinite(x):
        return str(x)
    return f"{x:.4g}"


def format_table(report: dict[str, Any]) -> str:
    """The human-readable table of a report."""
    lines = [
        f"fastfair {report['fastfair_version']} ({report['build'].get('build_type')}), "
        f"numpy {report['machine']['numpy']}, {report['machine']['platform']}",
        "",
        "SPEED (minimum wall time; ratio = other / fastfair, same run)",
        f"{'section':<9} {'case':<44} {'fastfair':>10}  others",
    ]
    for r in report["speed"]:
        parts = [f"{k} {_fmt_time(v)} ({r['speedup'][k]:.1f}x)" for k, v in r["others_s"].items()]
        parts += [
            f"{k} {_fmt_time(v)} (fastfair = {r['vs_floor'][k]:.1f}x floor)"
            for k, v in r.get("floors_s", {}).items()
        ]
        if r.get("goal"):
            parts.append(f"goal {r['goal']}: {'met' if r['goal_met'] else 'NOT met'}")
        lines.append(
            f"{r['section']:<9} {r['case']:<44} {_fmt_time(r['fastfair_s']):>10}  "
            + ", ".join(parts)
        )
    lines += [
        "",
        "FAIRNESS (same instance for every method; lower is fairer)",
        f"{'section':<9} {'case':<46} {'metric':<22} {'fastfair':>9} {'bound':>9}  others",
    ]
    for r in report["fairness"]:
        others = ", ".join(f"{k} {_fmt_num(v)}" for k, v in r["others"].items())
        lines.append(
            f"{r['section']:<9} {r['case']:<46} {r['metric']:<22} "
            f"{_fmt_num(r['fastfair']):>9} {_fmt_num(r['bound']):>9}  {others}"
        )
    if report.get("memory"):
        lines += ["", "MEMORY (RSS growth, fresh subprocess)"]
        for r in report["memory"]:
            value = "-" if r["bytes_per_unit"] is None else f"{r['bytes_per_unit']:.1f}"
            later = r["detail"].get("later_lotteries_b_per_entrant_and_lottery")
            extra = "" if later is None else f" (lotteries after the first: {later:.1f})"
            lines.append(f"{r['section']:<9} {r['case']:<46} {value} {r['unit']}{extra}")
    return "\n".join(lines) + "\n"


def _md_ratio(x: float) -> str:
    return f"{x:,.0f}x" if x >= 100 else (f"{x:.1f}x" if x >= 1 else f"{x:.2f}x")


def _is_headline(r: dict[str, Any]) -> bool:
    """The rows of issue 14's table: a goal, or an online rule against its loop."""
    return bool(r.get("goal")) or "numpy-vectorised" in r["others_s"]


def _md_speed_rows(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| what | fastfair | yardstick (same run) | ratio | goal | met |",
        "|---|---:|---|---:|---|---|",
    ]
    for r in rows:
        cells = [f"{k} {_fmt_time(v)}" for k, v in r["others_s"].items()]
        ratios = [
            f"{_md_ratio(r['speedup'][k])} faster" if r["speedup"][k] >= 1
            else f"{_md_ratio(1 / r['speedup'][k])} slower"
            for k in r["others_s"]
        ]
        cells += [f"{k} {_fmt_time(v)}" for k, v in r.get("floors_s", {}).items()]
        ratios += [f"{_md_ratio(r['vs_floor'][k])} the floor" for k in r.get("floors_s", {})]
        goal = r.get("goal") or ""
        met = "" if r.get("goal_met") is None else ("met" if r["goal_met"] else "**not met**")
        lines.append(
            f"| {r['section']}: {r['case']} | {_fmt_time(r['fastfair_s'])} | "
            f"{'; '.join(cells) or '-'} | {'; '.join(ratios) or '-'} | {goal} | {met} |"
        )
    return lines


def format_markdown(report: dict[str, Any]) -> str:
    """The report as Markdown tables (the README's): the rows of issue 14 (each with
    its yardsticks, ratios and goal), the memory rows, every other speed row, then the
    fairness rows."""
    m = report["machine"]
    lines = [
        f"fastfair {report['fastfair_version']} ({report['build'].get('build_type')}, "
        f"{report['build'].get('compiler', '?')}), Python {m['python']}, NumPy {m['numpy']}"
        f"{', --quick sizes' if report.get('quick') else ''}"
        + "".join(f", {k}={v}" for k, v in report.get("environment", {}).items()) + ".",
        "",
    ]
    head = [r for r in report["speed"] if _is_headline(r)]
    rest = [r for r in report["speed"] if not _is_headline(r)]
    lines += _md_speed_rows(head)
    for r in report.get("memory", []):
        value = "-" if r["bytes_per_unit"] is None else f"{r['bytes_per_unit']:.1f}"
        later = r["detail"].get("later_lotteries_b_per_entrant_and_lottery")
        note = "" if later is None else f"{later:.1f} B for each lottery after the first"
        lines.append(f"| memory: {r['case']} (RSS growth) | {value} {r['unit']} | "
                     f"{note} | | | |")
    if rest:
        lines += ["", "More sizes and the other kernels, same run:", ""]
        lines += _md_speed_rows(rest)
    if report.get("fairness"):
        lines += [
            "",
            "Fairness on the same instances (lower is fairer):",
            "",
            "| instance | measure | fastfair | guarantee | others |",
            "|---|---|---:|---:|---|",
        ]
        for r in report["fairness"]:
            others = "; ".join(f"{k} {_fmt_num(v)}" for k, v in r["others"].items())
            bound = _fmt_num(r["bound"]) if r["bound"] is not None else ""
            metric = r["metric"].replace("|", "\\|")
            lines.append(f"| {r['section']}: {r['case']} | {metric} | "
                         f"{_fmt_num(r['fastfair'])} | {bound} | {others} |")
    return "\n".join(lines) + "\n"


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "bench",
        help="benchmark fastfair against NumPy references, the blog and baselines",
        description=__doc__.replace("``", ""),
    )
    p.add_argument("--quick", action="store_true", help="small sizes: under a minute")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.add_argument("--markdown", action="store_true",
                   help="print the speed rows as a Markdown table (yardsticks, ratios, goals)")
    p.add_argument(
        "--section",
        action="append",
        choices=["sampling", "lottery", "online", "efk", "tickets"],
        help="run only this section (repeatable)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    report = run_all(args.quick, not args.no_progress, args.section)
    if args.json:
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
    elif args.markdown:
        sys.stdout.write(format_markdown(report))
    else:
        sys.stdout.write(format_table(report))
    return 0
