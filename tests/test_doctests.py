"""The Examples sections of the public docstrings run and give what they show."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import fastfair

MODULES = sorted(
    m.name
    for m in pkgutil.iter_modules(fastfair.__path__, "fastfair.")
    if not m.name.split(".")[-1].startswith("_") and m.name != "fastfair.__main__"
)


def test_there_are_public_modules():
    assert "fastfair.sampling" in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_module_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
