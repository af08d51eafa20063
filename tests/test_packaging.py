"""The package as users get it: sdist -> wheel -> fresh venv -> import and smoke test.

One build from the sdist (about a minute on the 2-core development machine), so the
sdist is proven complete: a file missing from it fails the build or the smoke test.
Skipped, with the reason, only when no C++ compiler or no CMake can be found.
"""

from __future__ import annotations

import email
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 900  # seconds per subprocess: a hung build fails instead of blocking CI


def _have_compiler() -> bool:
    names = [os.environ.get("CXX", ""), "c++", "g++", "clang++", "cl"]
    return any(name and shutil.which(name.split()[0]) for name in names)


def _have_cmake() -> bool:
    if shutil.which("cmake"):
        return True
    try:
        import cmake  # noqa: F401  (the PyPI package ships the binary)
    except ImportError:
        return False
    return True


pytestmark = [
    pytest.mark.skipif(not _have_compiler(), reason="no C++17 compiler on PATH"),
    pytest.mark.skipif(not _have_cmake(), reason="CMake not found (pip install cmake)"),
]


def _run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=TIMEOUT, check=False)
    assert proc.returncode == 0, (
        f"{cmd} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return proc.stdout


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    pytest.importorskip("scikit_build_core", reason="the build backend is not installed")
    pytest.importorskip("pybind11", reason="pybind11 is not installed")
    tmp = tmp_path_factory.mktemp("packaging")
    dist = tmp / "dist"
    dist.mkdir()
    # The PEP 517 hook itself (what `python -m build --sdist` calls), from the checkout.
    name = _run([sys.executable, "-c",
                 "import sys, scikit_build_core.build as b; "
                 "print(b.build_sdist(sys.argv[1]))", str(dist)], cwd=ROOT).split()[-1]
    sdist = dist / name
    env = dict(os.environ, CMAKE_BUILD_PARALLEL_LEVEL=os.environ.get(
        "CMAKE_BUILD_PARALLEL_LEVEL", str(os.cpu_count() or 2)))
    # The wheel is built from the sdist (not the checkout), with this environment's
    # scikit-build-core and pybind11 (no download), in a temporary build directory.
    _run([sys.executable, "-m", "pip", "wheel", "--no-build-isolation", "--no-deps",
          "-q", "-w", str(dist), str(sdist)], cwd=tmp, env=env)
    (wheel,) = dist.glob("fastfair-*.whl")
    return {"tmp": tmp, "sdist": sdist, "wheel": wheel}


def test_sdist_contents(built: dict[str, Path]) -> None:
    with tarfile.open(built["sdist"]) as tar:
        names = [m.name.split("/", 1)[1] for m in tar.getmembers() if "/" in m.name]
    assert "LICENSE" in names and "pyproject.toml" in names and "README.md" in names
    assert "cpp/include/fastfair/potential.hpp" in names
    assert "python/fastfair/py.typed" in names
    assert not [n for n in names if n == ".ci" or n.startswith(".ci/")], names
    assert ".gitignore" not in names
    assert not [n for n in names if n.startswith(("build/", "_skbuild/"))]


def test_wheel_contents_and_metadata(built: dict[str, Path]) -> None:
    with zipfile.ZipFile(built["wheel"]) as whl:
        names = whl.namelist()
        (meta_name,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        meta = email.message_from_string(whl.read(meta_name).decode())
        licence = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
        assert licence, names
        assert b"MIT License" in whl.read(licence[0])
    assert "fastfair/py.typed" in names and "fastfair/_core.pyi" in names
    assert any(n.startswith("fastfair/_core.") and not n.endswith(".pyi") for n in names)
    assert meta["License-Expression"] == "MIT"
    classifiers = meta.get_all("Classifier")
    assert "Typing :: Typed" in classifiers
    for minor in (10, 11, 12, 13):
        assert f"Programming Language :: Python :: 3.{minor}" in classifiers
    assert meta["Requires-Python"] == ">=3.10"
    assert meta.get_all("Project-URL")


def test_fresh_venv_install_and_smoke(built: dict[str, Path]) -> None:
    venv = built["tmp"] / "venv"
    # --system-site-packages: numpy comes from the base interpreter (no download);
    # fastfair itself is installed into the venv, which shadows any other copy.
    _run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)],
         cwd=built["tmp"])
    bindir = venv / ("Scripts" if os.name == "nt" else "bin")
    python = bindir / ("python.exe" if os.name == "nt" else "python")
    # --ignore-installed: a fastfair of the same version in the base site-packages
    # would otherwise satisfy the requirement and the new wheel would not be installed.
    _run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index",
          "--ignore-installed", str(built["wheel"])], cwd=built["tmp"])
    # cwd outside the checkout, so the source tree cannot be imported by accident
    out = _run([str(python), str(ROOT / "tests" / "smoke.py")], cwd=built["tmp"])
    assert "smoke test passed" in out
    assert str(venv.resolve()) in out or str(venv) in out, out
    help_text = _run([str(bindir / "fastfair"), "--help"], cwd=built["tmp"])
    assert "usage" in help_text.lower()
