"""Shared fixtures for fastfair's tests."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded NumPy generator so every test is reproducible."""
    return np.random.default_rng(20261124)
