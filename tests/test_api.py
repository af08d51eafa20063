from __future__ import annotations

import fastfair as ff
from fastfair import _core


def test_version_matches_compiled_module():
    # catches a stale compiled module left by an old build
    assert ff.__version__ == _core.__version__


def test_build_is_release_with_ndebug():
    assert _core.build_info["ndebug"] is True
    assert _core.build_info["native"] is False


def test_public_names_exported():
    for name in ["project_capped_simplex", "pipage_round"]:
        assert name in ff.__all__
        assert callable(getattr(ff, name))
    assert set(dir(ff)) == set(ff.__all__)
