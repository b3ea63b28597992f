"""Test-wide fixtures and guards.

- ``ALMC_BLOCK_QT=1`` makes PySide6 unimportable, proving the core runs without Qt.
- Every test gets its own ``ALMC_HOME`` so nothing touches the real user folders.
- A test that leaves a non-daemon thread running fails.
"""

from __future__ import annotations

import importlib.abc
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

# A second real disk (tmpfs, root only) where copies must be independent of the source's.
from tests.disks import other_disk  # noqa: F401

# Two real unprivileged accounts for shared-workstation tests (root on Linux; else skip).
from tests.multiuser import _accounts, shared_root, users  # noqa: F401

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"


class _BlockQt(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path, target=None):
        if fullname.split(".")[0] in {"PySide6", "shiboken6"}:
            raise ImportError(f"{fullname} is blocked: the core must run without Qt")
        return None


if os.environ.get("ALMC_BLOCK_QT") == "1":
    sys.meta_path.insert(0, _BlockQt())


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    home = tmp_path_factory.mktemp("almc-home")
    monkeypatch.setenv("ALMC_HOME", str(home))
    # Start-at-login entries (core/autostart) go below the test's folder, never into the
    # real ~/.config/autostart.
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "xdg-config"))
    monkeypatch.setenv("XDG_CONFIG_DIRS", str(home / "xdg-system"))
    monkeypatch.delenv("ALMC_FACILITY_CONFIG", raising=False)
    # Never the developer's own keyring (core/remote/vault): tests that need one set theirs.
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    return home


@pytest.fixture(autouse=True)
def _no_leaked_threads() -> Iterator[None]:
    before = set(threading.enumerate())
    yield
    leaked = []
    for t in threading.enumerate():
        if t in before or t.daemon or not t.is_alive():
            continue
        t.join(timeout=5)
        if t.is_alive():
            leaked.append(t.name)
    assert not leaked, f"test left threads running: {leaked}"


@pytest.fixture
def corpus() -> Path:
    """The shared corpus of real files; skips the test when it is absent."""
    if not (CORPUS / "CATALOG.tsv").is_file():
        pytest.skip(f"shared corpus not present at {CORPUS}")
    return CORPUS
