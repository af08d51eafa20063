"""Benchmarks refuse to time a debug build: such numbers would be meaningless."""

from __future__ import annotations

import os

import pytest

from fastfair import _core

#: Set FASTFAIR_BENCH_FULL=1 for the full size range (the default keeps the untimed
#: smoke run inside `python -m pytest` fast).
FULL = os.environ.get("FASTFAIR_BENCH_FULL", "") not in ("", "0")


def pytest_collection_modifyitems(config, items):  # noqa: ARG001
    if not _core.build_info.get("ndebug", False):
        skip = pytest.mark.skip(reason="fastfair._core is not a Release (NDEBUG) build")
        for item in items:
            if "bench" in str(item.fspath):
                item.add_marker(skip)
