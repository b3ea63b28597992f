"""packaging/pyinstaller/build_info.py: the version the builds carry, and the Windows
version resource (built and parsed back when PyInstaller's Windows utilities are here)."""

from __future__ import annotations

import importlib.util
import tomllib
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load() -> ModuleType:
    path = ROOT / "packaging" / "pyinstaller" / "build_info.py"
    spec = importlib.util.spec_from_file_location("build_info", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build_info = _load()


def test_version_comes_from_pyproject() -> None:
    with open(ROOT / "pyproject.toml", "rb") as fh:
        expected = tomllib.load(fh)["project"]["version"]
    assert build_info.project_version(ROOT) == expected


@pytest.mark.parametrize(
    ("version", "numbers"),
    [
        ("0.1.0", (0, 1, 0, 0)),
        ("1.2", (1, 2, 0, 0)),
        ("2.10.3rc1", (2, 10, 3, 0)),
        ("1.0.0+local.5", (1, 0, 0, 0)),
    ],
)
def test_version_numbers_windows_keeps(version: str, numbers: tuple[int, ...]) -> None:
    assert build_info.version_numbers(version) == numbers


def test_windows_version_resource_round_trips(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Runs where PyInstaller and pefile are installed (a build environment); elsewhere
    skipped. Off Windows, PyInstaller lacks ``win32api``, which building and parsing
    the resource do not use: a placeholder lets the module import."""
    try:
        import pefile  # noqa: F401
        from PyInstaller import compat
    except ImportError:
        pytest.skip("PyInstaller and pefile (a build environment) are not installed")
    monkeypatch.setattr(compat, "win32api", None, raising=False)
    from PyInstaller.utils.win32 import versioninfo as vi

    info = build_info.windows_version_info("0.1.0", "almc-assistant-cli.exe", "the CLI")
    raw = info.toRaw()
    # PyInstaller's own loader (what EXE(version="file") uses) reads it back the same.
    path = tmp_path / "version.txt"
    path.write_text(str(info), encoding="utf-8")
    assert vi.load_version_info_from_text_file(str(path)).toRaw() == raw
    for text in ("VS_VERSION_INFO", "ProductVersion", "0.1.0", "almc-assistant-cli.exe"):
        assert text.encode("utf-16-le") in raw
    assert info.ffi.fileVersionMS == 1 and info.ffi.fileVersionLS == 0  # 0.1 / 0.0
