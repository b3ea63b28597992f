"""The grouped path's and cleanup's reads where ``os.readv`` is missing (Windows).

On Windows every small file copied to a remote failed with "Internal error ... no
attribute 'readv'" (the grouped path read sources with ``os.readv``): the reads go through
:func:`rawio.read_into`, ``readv`` where the system has it, ``os.read`` and a copy where
not. Here the second branch runs on this system's real files; the Windows lane runs the
remote copies themselves (tests/core/remote/test_backends.py)."""

from __future__ import annotations

import os
from pathlib import Path

import blake3
import pytest

from almc_assistant.core import rawio
from almc_assistant.core.transfer import hashing


@pytest.mark.parametrize("without_readv", [False, True])
@pytest.mark.parametrize("size", [0, 1, 4095, 65536, 300_001])
def test_hash_fd_reads_every_byte_with_and_without_readv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: int, without_readv: bool
) -> None:
    if without_readv:
        monkeypatch.setattr(rawio, "_READV", None)
    data = os.urandom(size)
    (tmp_path / "f").write_bytes(data)
    fd = os.open(tmp_path / "f", os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        assert hashing.hash_fd(fd, bytearray(65536)) == (blake3.blake3(data).hexdigest(), size)
    finally:
        os.close(fd)


def test_read_into_without_readv_fills_the_view_and_stops_at_the_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rawio, "_READV", None)
    (tmp_path / "f").write_bytes(b"abcdef")
    buf = bytearray(b"\0" * 8)
    fd = os.open(tmp_path / "f", os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        assert rawio.read_into(fd, memoryview(buf)[2:]) == 6
        assert rawio.read_into(fd, memoryview(buf)) == 0
    finally:
        os.close(fd)
    assert bytes(buf) == b"\0\0abcdef"
