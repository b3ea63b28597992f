"""Which file system holds a folder, and whether watching it needs polling.

Thread contract: pure functions plus read-only OS queries; safe anywhere.

Native change notifications (inotify, FSEvents, ReadDirectoryChangesW) only see changes
made through the local kernel. On a network share (SMB/CIFS, NFS, AFP, FUSE remotes) a
file written by the acquisition PC or another client produces no event here, so such
folders are watched by polling. :func:`use_polling` is the one place that decides.
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path

from almc_assistant.core.fslimits import macos_statfs
from almc_assistant.core.statfs import linux_fs_type

log = logging.getLogger(__name__)

NETWORK_FS_TYPES = frozenset(
    {
        # Linux (/proc/self/mountinfo)
        "cifs",
        "smb3",
        "smbfs",
        "nfs",
        "nfs4",
        "afs",
        "ncpfs",
        "9p",
        "ceph",
        "glusterfs",
        "fuse.glusterfs",
        "lustre",
        "gpfs",
        "beegfs",
        "davfs",
        "fuse.sshfs",
        "fuse.rclone",
        "fuse.s3fs",
        "fuse.gcsfuse",
        # macOS (statfs f_fstypename)
        "afpfs",
        "webdav",
        # Windows (GetDriveTypeW == DRIVE_REMOTE, see drive_type_is_remote)
        "remote",
    }
)

DRIVE_REMOTE = 4  # GetDriveTypeW


def _unescape_mountinfo(field: str) -> str:
    """Mount points in mountinfo escape space, tab, newline and backslash as octal."""
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and field[i + 1 : i + 4].isdigit() and i + 3 < len(field):
            out.append(chr(int(field[i + 1 : i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def fs_type_from_mountinfo(mountinfo: str, path: str) -> str | None:
    """The type of the mount holding ``path`` (absolute, resolved), from mountinfo text.

    The longest mount point that contains ``path`` wins; later lines win ties (a later
    mount on the same point hides the earlier one).
    """
    best: tuple[int, str] | None = None
    for line in mountinfo.splitlines():
        left, sep, right = line.partition(" - ")
        fields = left.split()
        if not sep or len(fields) < 5 or not right.split():
            continue
        mount_point = _unescape_mountinfo(fields[4])
        inside = path == mount_point or path.startswith(mount_point.rstrip("/") + "/")
        if inside and (best is None or len(mount_point) >= best[0]):
            best = (len(mount_point), right.split()[0])
    return None if best is None else best[1]


def drive_type_is_remote(path: str, get_drive_type: Callable[[str], int]) -> bool:
    """Windows: a UNC path, or a drive letter that ``GetDriveTypeW`` calls remote."""
    if path.startswith(("\\\\", "//")):
        return True
    drive = os.path.splitdrive(path)[0]
    return bool(drive) and get_drive_type(drive + "\\") == DRIVE_REMOTE


def filesystem_type(folder: Path) -> str | None:
    """The file system type holding ``folder`` ("ext4", "cifs", "remote", ...) or None."""
    path = os.path.realpath(folder)
    try:
        if sys.platform.startswith("linux"):
            with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as f:
                found = fs_type_from_mountinfo(f.read(), path)
            # A chroot or container: mountinfo hides the mounts holding its root.
            return found if found is not None else linux_fs_type(path)
        if sys.platform == "win32":  # pragma: no cover - Windows only
            get_drive_type = ctypes.windll.kernel32.GetDriveTypeW
            return "remote" if drive_type_is_remote(path, get_drive_type) else "local"
        if sys.platform == "darwin":  # pragma: no cover - macOS only
            found = macos_statfs(path)
            return None if found is None else found[0]
    except (OSError, AttributeError, ValueError) as exc:
        log.debug("cannot tell the file system of %s: %s", folder, exc)
    return None


def use_polling(
    folder: Path,
    polling: bool | None = None,
    *,
    fs_type: Callable[[Path], str | None] = filesystem_type,
) -> bool:
    """Whether to watch ``folder`` by polling: forced by ``polling``, else auto.

    Auto polls network file systems (see :data:`NETWORK_FS_TYPES`) and uses the native
    observer everywhere else, including when the type cannot be told.
    """
    if polling is not None:
        return polling
    kind = fs_type(folder)
    return kind is not None and (kind.lower() in NETWORK_FS_TYPES)
