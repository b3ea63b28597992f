"""BLAKE3 of a file as stored: drop its cached pages, then read it with a reused buffer.

Thread contract: a pure function; each caller passes its own buffer.
"""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

import blake3

from almc_assistant.core.transfer import cache


def hash_from_storage(path: Path, buf: bytearray) -> tuple[str, int]:
    """BLAKE3 hex and size of ``path``, read with its cached pages dropped first.

    Dirty pages cannot be dropped: make the file durable before calling this.
    """
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
