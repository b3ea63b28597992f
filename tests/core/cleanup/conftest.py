"""Fixtures for the cleanup tests: a real workstation of tmpfs disks (root only)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.core.cleanup.world import World, tmpfs_mounts


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with tmpfs_mounts() as mounted:
        w = World(tmp_path, mounted)
        yield w
        w.catalog.close()
