"""Every vector kernel the build contains gives the pre-SIMD kernels' bits.

`_core._set_simd_level` caps the runtime dispatch (0 = SSE2 baseline, 1 = AVX2,
2 = AVX-512F); each level this CPU runs is checked against the pinned digests of
tests/data/sampling_golden.json, with one and with several threads, and against the
other levels on large random instances.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

import fastfair as ff
from fastfair import _core

sys.path.insert(0, str(Path(__file__).parent))  # the instance generator beside this file
import sampling_golden  # noqa: E402

GOLDEN = Path(__file__).parent / "data" / "sampling_golden.json"
LEVELS = list(range(_core._simd_levels() + 1))


@pytest.fixture
def config():
    previous_level = _core._set_simd_level(2)
    previous_threads = _core._set_max_threads(1)
    yield
    _core._set_simd_level(previous_level)
    _core._set_max_threads(previous_threads)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("level", LEVELS)
def test_golden_digests_at_every_level(config, level, threads):
    _core._set_simd_level(level)
    _core._set_max_threads(threads)
    expected = json.loads(GOLDEN.read_text())
    got = sampling_golden.compute(big=False)
    differ = sorted(name for name in got if got[name] != expected[name])
    assert not differ, f"level {level}: {len(differ)} outputs changed, first: {differ[:5]}"


def test_levels_agree_on_large_random_instances(config):
    rng = np.random.default_rng(2027)
    for trial in range(6):
        n = int(rng.integers(2_049, 300_000))
        scale = [0.3, 1.0, 5.0, 1e-3, 1e6, 1.0][trial]
        y = rng.normal(size=n) * scale + rng.integers(-2, 3)
        if trial == 5:
            y = np.round(y * 4) / 4  # ties at the pivots
        k = float(rng.integers(1, n)) + (0.5 if trial % 2 else 0.0)
        outs = []
        for level in LEVELS:
            _core._set_simd_level(level)
            outs.append(ff.project_capped_simplex(y, min(k, n - 1)).tobytes())
        assert outs[1:] == outs[:1] * (len(outs) - 1), f"trial {trial}"


@pytest.mark.parametrize("level", LEVELS)
def test_non_finite_rejected_at_every_level(config, level):
    _core._set_simd_level(level)
    for where in (0, 3000, 9_998, 9_999):
        y = np.linspace(-1, 2, 10_000)
        y[where] = np.nan
        with pytest.raises(ValueError, match=rf"y must be finite.*index {where}"):
            ff.project_capped_simplex(y, 100.0)


def test_set_simd_level_rejects_negative():
    with pytest.raises(ValueError, match="level"):
        _core._set_simd_level(-1)
