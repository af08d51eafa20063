"""Projection, pipage and lottery outputs are bit-identical to the pre-SIMD kernels.

tests/data/sampling_golden.json holds sha256 digests (see tests/sampling_golden.py)
written by the kernels before the fused-pass / branch-free rewrite of issue 14; every
probability and every draw must reproduce them exactly (saved pools must verify).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # the instance generator beside this file
import sampling_golden  # noqa: E402

GOLDEN = Path(__file__).parent / "data" / "sampling_golden.json"


def test_outputs_bit_identical_to_pre_simd_kernels() -> None:
    expected = json.loads(GOLDEN.read_text())
    got = sampling_golden.compute(big=False)
    assert got.keys() == expected.keys()
    differ = sorted(name for name in got if got[name] != expected[name])
    assert not differ, f"{len(differ)} outputs changed, first: {differ[:5]}"
