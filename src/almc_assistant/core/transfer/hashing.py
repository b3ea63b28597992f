"""BLAKE3 of a file as stored: drop its cached pages, then read it with a reused buffer.

:func:`hash_existing` reads a file found at a destination name (to adopt it): it never
follows a link and never blocks on a FIFO planted there.
On Windows (no pages to drop) :func:`hash_existing` reads through a handle that
bypasses the cache (:mod:`unbuffered`) when the volume allows it.

Thread contract: a pure function; each caller passes its own buffer.
"""

from __future__ import annotations

import errno
import io
import os
import stat
from collections.abc import Callable
from pathlib import Path

import blake3

from almc_assistant.core.rawio import hash_upto
from almc_assistant.core.transfer import cache, unbuffered
from almc_assistant.core.transfer.folder import Folder

EXISTING = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
EXISTING |= getattr(os, "O_BINARY", 0)  # how a file found at a destination name is opened


def open_from_storage(folder: Folder, name: str, *, prefetch: bool = False) -> tuple[int, int]:
    """Open ``name`` in ``folder`` for reading (never through a link) with its cached
    pages dropped (so reads hit the storage); the descriptor and the file's size.

    With ``prefetch``, the storage read starts at once in the background (open several
    files this way, then :func:`hash_fd` each: their reads overlap).
    """
    fd = folder.open(name, EXISTING)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise IsADirectoryError(21, "not a regular file", str(folder.path / name))
        cache.evict(fd)
        if prefetch:
            cache.prefetch(fd)
    except BaseException:
        os.close(fd)
        raise
    return fd, st.st_size


def hash_fd(fd: int, buf: bytearray, stored: int | None = None) -> tuple[str, int]:
    """BLAKE3 hex and size of what remains to read on ``fd``; drops the pages after.

    ``stored``: the file's size as just found by ``fstat`` (:func:`open_from_storage`):
    reading stops once that much was read, without one more read to meet its end (a
    file that grew meanwhile still shows: a read takes what there is, up to the buffer).
    """
    digest = hash_upto(fd, memoryview(buf), stored)
    cache.evict(fd)
    return digest


def hash_existing(
    path: Path, buf: bytearray, checkpoint: Callable[[], None] | None = None
) -> str | None:
    """BLAKE3 hex of the regular file at ``path``, read from storage; ``None`` when the
    name holds a link or anything but a regular file (never followed, never blocking).

    Other errors raise :class:`OSError`. ``checkpoint`` runs between reads (cancel, pause).
    """
    direct = unbuffered.open_unbuffered(path)  # Windows only (bypasses the cache), else None
    if direct is not None:
        try:
            if not stat.S_ISREG(path.lstat().st_mode):
                return None
            hasher = blake3.blake3()
            direct.read_range(0, 1 << 62, buf, hasher.update)
            return hasher.hexdigest()
        except unbuffered.Unsupported:
            pass  # read it again through the cache
        finally:
            direct.close()
    try:
        fd = os.open(path, EXISTING)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return None
        raise
    return hash_open(fd, buf, checkpoint)


def hash_open(fd: int, buf: bytearray, checkpoint: Callable[[], None] | None = None) -> str | None:
    """As :func:`hash_existing`, on a descriptor opened with :data:`EXISTING` (closed here)."""
    with io.FileIO(fd, "r", closefd=True) as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        cache.evict(fd)
        cache.sequential(fd)
        view = memoryview(buf)
        hasher = blake3.blake3()
        while n := f.readinto(view):
            if checkpoint is not None:
                checkpoint()
            hasher.update(view[:n])
        cache.evict(fd)
    return hasher.hexdigest()
