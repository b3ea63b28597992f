"""A second real disk for tests where a copy must be independent of the source's disk.

The policy counts copies per device and never counts one on the acquisition disk, so a
test whose destination must make files safe needs the destination on another device:
``other_disk(path)`` mounts a small tmpfs there (root only; the test skips cleanly
otherwise) and unmounts it when the test ends.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.portable import IS_ROOT


def mount_tmpfs(path: Path, size: str = "64m") -> Path:
    """Mount a tmpfs (its own device, mode 0755) at ``path`` (root only); returns it."""
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(path)], check=True
    )
    return path


def unmount(path: Path) -> None:
    subprocess.run(["umount", "-l", str(path)], check=False)


@pytest.fixture
def other_disk() -> Iterator[Callable[[Path], Path]]:
    mounted: list[Path] = []

    def mount(path: Path, *, required: bool = True) -> Path:
        """``required=False``: without root, a plain folder (copies there do not count)."""
        if not IS_ROOT:
            if required:
                pytest.skip("needs root to mount a second disk (copies on one disk do not count)")
            path.mkdir(parents=True, exist_ok=True)
            return path
        mounted.append(mount_tmpfs(path))
        return path

    yield mount
    for path in reversed(mounted):
        unmount(path)
