"""Static typing of the public API, as a user with ``mypy --strict`` sees it.

* stubtest: ``fastfair/_core.pyi`` matches the compiled module (names, signatures);
* ``tests/typing/ok_usage.py`` must pass ``mypy --strict``; ``bad_usage.py`` and
  ``bad_notion.py`` must fail exactly on their lines marked ``# expect: <code>``.

Skipped when mypy is not installed (it is in the ``test`` extra). The checks run on the
installed package (its ``py.typed`` and stubs), from a directory outside the checkout.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mypy", reason="mypy is not installed (pip install mypy)")


HERE = Path(__file__).resolve().parent / "typing"
TIMEOUT = 600
# pybind11 classes have the metaclass pybind11_type, which a stub cannot declare.
_STUBTEST_NOISE = re.compile(r"is inconsistent, metaclass differs")


def _mypy(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=TIMEOUT, check=False)


def _empty_config(directory: Path) -> Path:
    """A config file with no settings (the checkout's pyproject must not apply)."""
    path = directory / "mypy.ini"
    path.write_text("[mypy]\n", encoding="utf-8")
    return path


def test_stubtest_core(tmp_path: Path) -> None:
    proc = _mypy(["mypy.stubtest", "fastfair._core", "--mypy-config-file",
                  str(_empty_config(tmp_path)), "--concise"], cwd=tmp_path)
    errors = [line for line in proc.stdout.splitlines()
              if line.strip() and not _STUBTEST_NOISE.search(line)
              and not line.startswith("Found ")]
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    assert not errors, "\n".join(errors) + "\n" + proc.stderr


@pytest.fixture(scope="module")
def mypy_report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, set[tuple[int, str]]]:
    """One strict mypy run over every script: {file name: {(line, code)}}."""
    tmp = tmp_path_factory.mktemp("mypy")
    files = sorted(HERE.glob("*.py"))
    proc = _mypy(["mypy", "--strict", "--python-version", "3.11", "--no-pretty",
                  "--show-error-codes", "--no-error-summary", "--cache-dir",
                  str(tmp / "cache"), "--config-file", str(_empty_config(tmp)),
                  *map(str, files)], cwd=tmp)
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    found: dict[str, set[tuple[int, str]]] = {f.name: set() for f in files}
    for line in proc.stdout.splitlines():
        m = re.match(r"(.+?):(\d+): error: .*\[([a-z-]+)\]$", line)
        if m:
            found.setdefault(Path(m.group(1)).name, set()).add((int(m.group(2)), m.group(3)))
        elif ": error:" in line:
            found.setdefault("?", set()).add((0, line))
    return found


def _expected(name: str) -> set[tuple[int, str]]:
    lines = (HERE / name).read_text(encoding="utf-8").splitlines()
    return {(i, m.group(1)) for i, text in enumerate(lines, 1)
            if (m := re.search(r"# expect: ([a-z-]+)", text))}


def test_typed_script_passes(mypy_report: dict[str, set[tuple[int, str]]]) -> None:
    assert mypy_report["ok_usage.py"] == set()
    assert "?" not in mypy_report, mypy_report["?"]


def test_typed_mistakes_fail(mypy_report: dict[str, set[tuple[int, str]]]) -> None:
    expected = _expected("bad_usage.py")
    assert len(expected) >= 4
    assert mypy_report["bad_usage.py"] == expected


def test_misspelt_notion_fails(mypy_report: dict[str, set[tuple[int, str]]]) -> None:
    assert mypy_report["bad_notion.py"] == _expected("bad_notion.py")
