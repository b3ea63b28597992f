"""Which storage a device number stands for: one disk or server seen through several mounts.

Thread contract: :class:`StorageKeys` is thread-safe (a lock around its cache); the
parsing functions are pure.

Copies count once per *storage*, not per device number: two btrfs subvolumes of one disk
have two device numbers, two mounts of one NFS server or SMB share too. On Linux the
mount table (``/proc/self/mountinfo``, read at most once a minute) says what each device
number is: a network file system is keyed by its server, a file system on a block device
by that device (``/dev/sda2``), anything else (tmpfs, overlay, FUSE without a server) by
the device number itself. Elsewhere the device number is the key.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable

NETWORK_TYPES = ("nfs", "nfs4", "cifs", "smb3", "smbfs", "fuse.sshfs", "9p", "ceph", "afs")


def parse_mountinfo(text: str) -> dict[str, tuple[str, str]]:
    """``"major:minor"`` -> (file system type, mount source), from mountinfo text."""
    out: dict[str, tuple[str, str]] = {}
    for line in text.splitlines():
        left, _, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if len(fields) >= 3 and len(tail) >= 2:
            out[fields[2]] = (tail[0], tail[1])
    return out


def key_for(dev_id: str, fs_type: str, source: str) -> str:
    """The storage key of one mount (see the module docstring)."""
    if fs_type in NETWORK_TYPES or fs_type.startswith(("nfs", "fuse.sshfs")):
        host = source.lstrip("/").split("/")[0].split(":")[0]
        return f"server:{host.split('@')[-1].lower()}" if host else f"dev:{dev_id}"
    if source.startswith("/dev/"):
        return f"disk:{os.path.realpath(source)}"
    return f"dev:{dev_id}"


class StorageKeys:
    """Maps a device number to its storage key, from the mount table (cached ``ttl`` s)."""

    def __init__(
        self,
        ttl: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        read: Callable[[], str] | None = None,
    ) -> None:
        self._ttl, self._clock = ttl, clock
        self._read = read or _read_mountinfo
        self._table: dict[str, tuple[str, str]] = {}
        self._at: float | None = None
        self._lock = threading.Lock()

    def __call__(self, dev: int) -> str:
        dev_id = f"{os.major(dev)}:{os.minor(dev)}" if hasattr(os, "major") else str(dev)
        with self._lock:
            now = self._clock()
            if self._at is None or now - self._at >= self._ttl:
                self._table, self._at = parse_mountinfo(self._read()), now
            mount = self._table.get(dev_id)
        return key_for(dev_id, *mount) if mount else f"dev:{dev_id}"


def _read_mountinfo() -> str:
    if not sys.platform.startswith("linux"):
        return ""
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return ""
