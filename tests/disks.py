"""A second real disk for tests where a copy must be independent of the source's disk.

The policy counts copies per device and never counts one on the acquisition disk, so a
test whose destination must make files safe needs the destination on another device:
``other_disk(path)`` mounts a small tmpfs there (root only; the test skips cleanly
otherwise) and unmounts it when the test ends.
"""

from __future__ import annotations

import os
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


def physical_offset(path: Path) -> int:
    """Where the first byte of ``path`` lies on its device (``FS_IOC_FIEMAP``)."""
    import fcntl
    import struct

    head = struct.pack("=QQIIII", 0, 1 << 62, 1, 0, 1, 0)  # FIEMAP_FLAG_SYNC, one extent
    buf = bytearray(head + bytes(56))
    with open(path, "rb") as f:
        fcntl.ioctl(f.fileno(), 0xC020660B, buf)
    mapped = struct.unpack_from("=I", buf, 20)[0]
    assert mapped == 1, "the partial has no extent on the device"
    logical, physical = struct.unpack_from("=QQ", buf, 32)
    assert logical == 0
    return int(physical)


@pytest.fixture
def ext4(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """A real ext4 file system on a loop device: (its mount point, its image file)."""
    import shutil

    if not IS_ROOT:
        pytest.skip("mounting an ext4 image needs root")
    if shutil.which("mkfs.ext4") is None:
        pytest.skip("mkfs.ext4 is not installed (Debian: e2fsprogs)")
    image, mnt = tmp_path / "ext4.img", tmp_path / "ext4"
    mnt.mkdir()
    image.write_bytes(b"")
    os.truncate(image, 64 << 20)
    steps = {  # no inline data: a small partial has a block of its own on the device
        "mkfs.ext4 failed": ["mkfs.ext4", "-q", "-O", "^inline_data", str(image)],
        "cannot loop-mount": ["mount", "-o", "loop", str(image), str(mnt)],
    }
    for failed, argv in steps.items():
        done = subprocess.run(argv, capture_output=True)
        if done.returncode:
            pytest.skip(f"{failed}: {done.stderr.decode().strip()}")
    try:
        yield mnt, image
    finally:
        subprocess.run(["umount", str(mnt)], check=False)
