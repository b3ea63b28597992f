"""Whole-file reads, hashes and ``syncfs`` on raw descriptors, shared by the copy's
threads (:mod:`transfer.grouped`, :mod:`transfer.hashing`) and its worker processes
(:mod:`smallcopy`, which start on this module, :mod:`blake3` and :mod:`identity` alone:
nothing of the engine).

Thread contract: stateless functions; each caller passes its own buffer.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from collections.abc import Callable

import blake3

_READV: Callable[[int, list[memoryview]], int] | None = getattr(os, "readv", None)


def read_into(fd: int, view: memoryview) -> int:
    """Read from ``fd`` into ``view`` (one read; 0 at the end), the bytes counted.

    POSIX: ``os.readv`` straight into the buffer. Windows has no ``readv``: ``os.read``
    and one copy into the buffer (small files to a remote and cleanup's hashes go
    through here there too)."""
    if _READV is not None:
        return _READV(fd, [view])
    data = os.read(fd, len(view))
    view[: len(data)] = data
    return len(data)


def fill(fd: int, view: memoryview) -> int:
    """Read until ``view`` is full or the file ends; the bytes read."""
    total = 0
    while total < len(view) and (n := read_into(fd, view[total:])):
        total += n
    return total


def hash_upto(fd: int, view: memoryview, stored: int | None = None) -> tuple[str, int]:
    """BLAKE3 hex and size of what remains to read on ``fd``, read through ``view``.

    ``stored``: the file's size as just found by ``fstat``: reading stops once that much
    was read, without one more read to meet its end (a file that grew meanwhile still
    shows: a read takes what there is, up to the buffer)."""
    hasher = blake3.blake3()
    size = 0
    while n := read_into(fd, view):
        hasher.update(view[:n])
        size += n
        if stored is not None and size >= stored:
            break
    return hasher.hexdigest(), size


def load_syncfs() -> Callable[[int], int] | None:
    """Linux's ``syncfs(fd)`` from libc (0 or -1 with ``ctypes.get_errno()``); ``None``
    elsewhere or where libc has none."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        call: Callable[[int], int] = libc.syncfs
    except (OSError, AttributeError):
        return None
    return call
