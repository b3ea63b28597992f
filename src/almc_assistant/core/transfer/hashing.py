"""BLAKE3 of a file as stored: drop its cached pages, then read it with a reused buffer.

On Windows (no pages to drop) :func:`hash_from_storage` reads through a handle that
bypasses the cache (:mod:`unbuffered`) when the volume allows it.

Thread contract: a pure function; each caller passes its own buffer.
"""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

import blake3

from almc_assistant.core.transfer import cache, unbuffered


def open_from_storage(path: Path, *, prefetch: bool = False) -> int:
    """Open ``path`` for reading with its cached pages dropped (so reads hit the storage).

    With ``prefetch``, the storage read starts at once in the background (open several
    files this way, then :func:`hash_fd` each: their reads overlap).
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise IsADirectoryError(21, "not a regular file", str(path))
        cache.evict(fd)
        if prefetch:
            cache.prefetch(fd)
    except BaseException:
        os.close(fd)
        raise
    return fd


def hash_fd(fd: int, buf: bytearray) -> tuple[str, int]:
    """BLAKE3 hex and size of what remains to read on ``fd``; drops the pages after.

    POSIX only (``os.readv``): used by the grouped small-file path, which runs on Linux.
    """
    view = memoryview(buf)
    hasher = blake3.blake3()
    size = 0
    while n := os.readv(fd, [view]):
        hasher.update(view[:n])
        size += n
    cache.evict(fd)
    return hasher.hexdigest(), size


def hash_from_storage(path: Path, buf: bytearray) -> tuple[str, int]:
    """BLAKE3 hex and size of ``path``, read with its cached pages dropped first.

    Dirty pages cannot be dropped: make the file durable before calling this.
    """
    direct = unbuffered.open_unbuffered(path)  # Windows only, else None
    if direct is not None:
        hasher = blake3.blake3()
        try:
            if not stat.S_ISREG(path.stat().st_mode):
                raise IsADirectoryError(21, "not a regular file", str(path))
            size = direct.read_range(0, 1 << 62, buf, hasher.update)
            return hasher.hexdigest(), size
        except unbuffered.Unsupported:
            pass  # read it again through the cache
        finally:
            direct.close()
    view = memoryview(buf)
    hasher = blake3.blake3()
    size = 0
    with io.FileIO(path, "r") as f:
        fd = f.fileno()
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise IsADirectoryError(21, "not a regular file", str(path))
        cache.evict(fd)
        cache.sequential(fd)
        while n := f.readinto(view):
            hasher.update(view[:n])
            size += n
        cache.evict(fd)
    return hasher.hexdigest(), size
