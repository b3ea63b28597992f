"""Whole-file reads, hashes and ``syncfs`` on raw descriptors, shared by the copy's
threads (:mod:`transfer.grouped`, :mod:`transfer.hashing`) and its worker processes
(:mod:`smallcopy`, which start on this module, :mod:`blake3` and :mod:`identity` alone:
nothing of the engine).

Thread contract: stateless functions; each caller passes its own buffer.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
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


DIRECT_ALIGN = 4096  # bytes: O_DIRECT transfers are whole multiples of it (direct.ALIGN)
O_DIRECT: int = getattr(os, "O_DIRECT", 0)  # 0 where there is none


def direct_round_up(n: int) -> int:
    """``n`` rounded up to whole :data:`DIRECT_ALIGN` blocks."""
    return -(-n // DIRECT_ALIGN) * DIRECT_ALIGN


def set_direct(fd: int, on: bool) -> bool:
    """Set (``on``) or clear ``O_DIRECT`` on ``fd`` (``fcntl``); whether it is set now.

    The caller decides whether the file system honours it (``transfer.direct.suits``)."""
    if not O_DIRECT:
        return False
    try:
        import fcntl

        flags = fcntl.fcntl(fd, fcntl.F_GETFL)
        fcntl.fcntl(fd, fcntl.F_SETFL, flags | O_DIRECT if on else flags & ~O_DIRECT)
    except OSError:
        return False
    return on


def fill_direct(fd: int, view: memoryview, stop: int | None = None) -> tuple[int, bool]:
    """As :func:`fill`, on ``fd`` with ``O_DIRECT`` set and a page-aligned ``view`` whose
    length is a whole number of :data:`DIRECT_ALIGN` blocks: the bytes read, and whether
    every one came by a direct read.

    A direct read short of a whole block is the file's end (the next offset could not be
    read direct); ``stop``: no further read once that many bytes are in. A refused read
    (``EINVAL``: a misaligned buffer, a file system that will not) clears the flag and
    the rest is read through the cache, never an error."""
    total = 0
    direct = True
    while total < len(view):
        try:
            n = read_into(fd, view[total:])
        except OSError as exc:
            if not direct or exc.errno != errno.EINVAL:
                raise
            direct = set_direct(fd, False)  # False: read on through the cache
            continue
        if not n:
            break
        total += n
        if (stop is not None and total >= stop) or (direct and total % DIRECT_ALIGN):
            break
    return total, direct


def write_direct(fd: int, data: memoryview) -> bool:
    """Write all of ``data`` (page aligned) to ``fd``, which has ``O_DIRECT`` set: its
    whole blocks direct, the tail (``len % DIRECT_ALIGN``) through the cache (the flag
    cleared first), everything through the cache if a direct write is refused
    (``EINVAL``). Whether the blocks went direct. The flag is left cleared if a tail
    was written."""
    body = len(data) - len(data) % DIRECT_ALIGN
    done = 0
    direct = True
    try:
        while done < body:
            done += os.write(fd, data[done:body])
    except OSError as exc:
        if exc.errno != errno.EINVAL:
            raise
        direct = False
    if done < len(data):
        set_direct(fd, False)
        while done < len(data):
            done += os.write(fd, data[done:])
    return direct


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
