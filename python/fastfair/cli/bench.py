"""``fastfair bench``: fastfair against NumPy references, the blog and the baselines.

Speed is reported as ratios measured in the same run (the machines these run on are
shared and noisy, so absolute times vary); fairness side by side on the same streams.
``--quick`` finishes in well under a minute; ``--json`` prints one JSON document.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from dataclasses import asdict
from typing import Any, Callable, Optional

import numpy as np

from .bench_common import FairnessRow, Progress, SpeedRow, best_time

__all__ = ["FairnessRow", "Progress", "SpeedRow", "best_time", "run_all", "format_table"]


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
    for _name, fn, _steps in sections:
        for row in fn(quick, progress):
            d = asdict(row)
            if isinstance(row, SpeedRow):
                d["speedup"] = row.speedups()
                speed.append(d)
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
        "quick": quick,
        "sections": [s[0] for s in sections],
        "speed": speed,
        "fairness": fairness,
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
        others = ", ".join(
            f"{k} {_fmt_time(v)} ({r['speedup'][k]:.1f}x)" for k, v in r["others_s"].items()
        )
        lines.append(
            f"{r['section']:<9} {r['case']:<44} {_fmt_time(r['fastfair_s']):>10}  {others}"
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
    return "\n".join(lines) + "\n"


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "bench",
        help="benchmark fastfair against NumPy references, the blog and baselines",
        description=__doc__.replace("``", ""),
    )
    p.add_argument("--quick", action="store_true", help="small sizes: under a minute")
    p.add_argument("--json", action="store_true", help="print one JSON document")
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
    else:
        sys.stdout.write(format_table(report))
    return 0
