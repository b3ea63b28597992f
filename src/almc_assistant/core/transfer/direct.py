"""Direct I/O (Linux ``O_DIRECT``) for the bytes of large files: device to our buffers and
back, not through the page cache.

Thread contract: stateless functions on file descriptors, callable from any worker; a
buffer from :func:`buffer` belongs to whoever allocated it.

Why. A buffered copy makes the kernel copy every byte between the page cache and our
buffers on each read and each write, and allocate and free those pages: for one 2 GiB
file that was 2.4 s of system time of a 3.5 s job here (a buffered ``dd`` read of it:
1.3-1.8 s system; the same read with ``O_DIRECT``: 0.04 s). With ``O_DIRECT`` the device
moves the bytes itself, the CPUs only hash, and the page cache (which the acquisition
software and the desktop need) is left alone. The read-back gains too: a read with
``O_DIRECT`` comes from the device, never from a cached page.

How. A descriptor gets the flag by ``fcntl(F_SETFL)`` (:func:`enable`), so the same file
opened the usual way (``O_NOFOLLOW``, ``O_EXCL``, relative to its folder) is used. Only on
file systems of block devices known to honour it (:data:`DIRECT_FS`): not tmpfs (its
pages are the file), not network or FUSE mounts (whose ``O_DIRECT`` means other things),
not ZFS (which accepted the flag and still cached before 2.3). The kernel asks for
aligned buffers, offsets and lengths: buffers come from :func:`buffer` (page aligned),
chunks are whole multiples of :data:`ALIGN`, and what is not (a file's tail, a short read)
goes through the cache again (:func:`disable`), as does anything the kernel refuses
(``EINVAL``): callers fall back, never fail, on a refusal. Nothing here is needed for
honesty: the read-back still flushes and evicts before it reads (:mod:`readback`), so a
file system that quietly ignores the flag is read from storage all the same.
"""

from __future__ import annotations

import errno
import mmap
import os
import sys

from almc_assistant.core.rawio import DIRECT_ALIGN, O_DIRECT, direct_round_up, set_direct
from almc_assistant.core.statfs import linux_fs_type

ALIGN = DIRECT_ALIGN  # bytes: the largest logical block size of disks in use (4Kn drives)

# file systems whose O_DIRECT goes to the block device (statfs names)
DIRECT_FS = frozenset({"ext4", "xfs", "btrfs", "f2fs", "vfat", "exfat", "ntfs3"})

Buffer = bytearray | mmap.mmap  # what a copier reads into: page aligned when an mmap


def buffer(size: int) -> mmap.mmap:
    """``size`` bytes of anonymous, page-aligned memory (pages are touched only when used)."""
    return mmap.mmap(-1, size)


def available() -> bool:
    """Whether this platform has ``O_DIRECT`` (Linux) and it is not switched off."""
    return bool(O_DIRECT) and sys.platform.startswith("linux") and _wanted()


def _wanted() -> bool:
    # ALMC_DIRECT_IO=0 turns it off: for comparing the two ways (bench/alternate_copy.sh)
    return os.environ.get("ALMC_DIRECT_IO", "1") != "0"


def suits(fd: int) -> bool:
    """Whether the file open as ``fd`` is on a file system where :func:`enable` is worth it."""
    return available() and linux_fs_type(fd) in DIRECT_FS


def enable(fd: int) -> bool:
    """Give ``fd`` the ``O_DIRECT`` flag if its file system :func:`suits`; whether it has it."""
    return suits(fd) and set_direct(fd, True)


def disable(fd: int) -> None:
    """Take the ``O_DIRECT`` flag off ``fd`` (reads and writes go through the cache again)."""
    set_direct(fd, False)


def refused(exc: OSError) -> bool:
    """Whether ``exc`` is the kernel refusing a direct transfer (then go through the cache)."""
    return exc.errno == errno.EINVAL


def aligned(n: int) -> bool:
    return n % ALIGN == 0


round_up = direct_round_up
