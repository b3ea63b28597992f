"""The file-system type of a path from the kernel itself (Linux ``statfs(2)``).

Thread contract: one system call, safe anywhere.

``/proc/self/mountinfo`` is the usual source (it names the mount point too), but inside a
chroot or a container whose root is not a mount point of its own, mountinfo omits the
mounts that hold the root (the kernel hides mount points outside the process's root),
and every path inside reads as "unknown". ``statfs`` answers there: its ``f_type`` magic
number names the file system, as ``stat -f`` does.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
import sys

# f_type magic numbers (linux/magic.h) and the names mountinfo uses for them.
LINUX_MAGIC: dict[int, str] = {
    0xEF53: "ext4",  # ext2, ext3 and ext4 share it
    0x01021994: "tmpfs",
    0x58465342: "xfs",
    0x9123683E: "btrfs",
    0x794C7630: "overlay",
    0x2FC12FC1: "zfs",
    0xF2F52010: "f2fs",
    0x73717368: "squashfs",
    0x858458F6: "ramfs",
    0x6969: "nfs",
    0xFF534D42: "cifs",
    0xFE534D42: "smb3",
    0x517B: "smbfs",
    0x01021997: "9p",
    0x00C36400: "ceph",
    0x4D44: "vfat",
    0x2011BAB0: "exfat",
    0x5346544E: "ntfs",
    0x7366746E: "ntfs3",
    0x65735546: "fuse",
    0x9FA0: "proc",
    0x62656572: "sysfs",
}


# File systems with no storage under the page cache: their cached pages *are* the file.
MEMORY_BACKED = frozenset({"tmpfs", "ramfs"})


@functools.cache
def _libc() -> ctypes.CDLL | None:
    """The C library, loaded once (``find_library`` runs ``ldconfig``: a process)."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None


def linux_fs_type(path: str | os.PathLike[str] | int) -> str | None:
    """The file system holding ``path`` (or the open descriptor ``path``, by
    ``fstatfs``) by ``statfs``'s magic number, or ``None``."""
    if not sys.platform.startswith("linux"):
        return None
    libc = _libc()
    if libc is None:
        return None
    buf = ctypes.create_string_buffer(256)  # struct statfs is 120 bytes on 64-bit Linux
    if isinstance(path, int):
        failed = libc.fstatfs(path, buf) != 0
    else:
        failed = libc.statfs(os.fsencode(os.fspath(path)), buf) != 0
    if failed:
        return None
    magic = ctypes.c_long.from_buffer(buf).value & 0xFFFFFFFF  # f_type, the first field
    return LINUX_MAGIC.get(magic, f"0x{magic:x}")


def memory_backed(path: str | os.PathLike[str] | int) -> bool:
    """Whether ``path`` (or the open descriptor) is on tmpfs or ramfs: its cached pages
    are the file, so a re-read reads the copy itself and there is nothing to evict."""
    return linux_fs_type(path) in MEMORY_BACKED
