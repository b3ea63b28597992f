"""Helpers for the copy-engine tests: real trees, real tmpfs mounts (root only)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import blake3
import pytest

from almc_assistant.core.events import ListSink
from almc_assistant.core.transfer import CopyRequest, JobResult, run_copy
from tests.disks import physical_offset
from tests.portable import IS_ROOT


def write(path: Path, data: bytes, mtime_ns: int | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if mtime_ns is not None:
        os.utime(path, ns=(mtime_ns, mtime_ns))
    return path


def digest(path: Path) -> str:
    return blake3.blake3(path.read_bytes()).hexdigest()


def tree_files(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (relative path -> bytes), the engine's records excluded."""
    out = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        if p.is_file() and not rel.startswith("almc-") and not p.name.startswith(".almc-"):
            out[rel] = p.read_bytes()
    return out


def partials(root: Path) -> list[Path]:
    return [p for p in root.rglob(".almc-partial-*")]


def copy(sources: list[Path], dests: list[Path], **kw: object) -> tuple[JobResult, ListSink]:
    sink = ListSink()
    kw.setdefault("create_missing", True)  # as the CLI's copy --to NEW
    result = run_copy(CopyRequest(sources=sources, destinations=dests, **kw), sink)  # type: ignore[arg-type]
    return result, sink


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[object]:
    """``tmpfs(size)`` mounts a small tmpfs and returns its path; unmounted afterwards."""
    if not IS_ROOT:
        pytest.skip("needs root to mount a tmpfs")
    mounted: list[Path] = []

    def make(size: str, name: str = "mnt") -> Path:
        mnt = tmp_path / name
        mnt.mkdir()
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mnt)], check=True
        )
        mounted.append(mnt)
        return mnt

    yield make
    for mnt in reversed(mounted):
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def flip_on_device(image: Path, path: Path, at: int) -> None:
    """Flip a bit of byte ``at`` of ``path`` where it lies on the device (the loop
    image ``image`` of :func:`tests.disks.ext4`), under any page the file system has cached."""
    where = physical_offset(path) + at
    fd = os.open(image, os.O_RDWR)
    try:
        byte = os.pread(fd, 1, where)
        os.pwrite(fd, bytes([byte[0] ^ 1]), where)
        os.fsync(fd)
    finally:
        os.close(fd)
