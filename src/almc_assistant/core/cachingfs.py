"""Caching and virtual file systems: where a read-back proves a local cache, not storage.

Thread contract: pure functions plus read-only OS queries; safe anywhere.

A copy is *verified* only when its bytes were read back from the storage that keeps
them. Some mounts answer reads from a local cache and upload later: ``rclone mount``
(``--vfs-cache-mode writes``: a copy read back in 0.26 s while the server had nothing
for 5 s), s3fs, gcsfuse, Google Drive for desktop, OneDrive Files On-Demand, WinFsp
drives, macOS File Provider folders. A copy there is **pending upload**: recorded and
reported with the reason, never called verified, never counted as safe.

:func:`pending_upload_reason` says why a destination is such a mount ("" when a read-back
there is honest). Known honest FUSE file systems are listed (sshfs sends every read
after a write to the server: measured, see the design note; ntfs-3g/exfat (``fuseblk``)
and mergerfs sit on local disks); any other FUSE file system is treated as caching,
because nothing tells us where its reads come from.

- Linux: the ``fstype`` of ``/proc/self/mountinfo`` (``fuse.rclone``, ``fuse.s3fs``...).
- macOS: ``statfs().f_fstypename`` (``macfuse``, ``osxfuse``, ``fuse-t``...) and folders
  under ``~/Library/CloudStorage`` (File Provider: iCloud, OneDrive, Google Drive,
  Dropbox). Best effort, untested here.
- Windows: the volume's file-system name (``GetVolumeInformationW``: WinFsp drives report
  ``FUSE-...``, rclone ``rclone``), and a path under a cloud-files sync root
  (``CfGetSyncRootInfoByPath``: OneDrive, Google Drive, Dropbox, iCloud). Best effort,
  untested here.
- Everywhere: a OneDrive folder (the OneDrive client uploads it later).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

_CACHING = {
    "fuse.rclone": "an rclone mount",
    "rclone": "an rclone mount",
    "fuse.s3fs": "an s3fs mount",
    "fuse.gcsfuse": "a gcsfuse mount",
    "fuse.goofys": "a goofys mount",
    "fuse.blobfuse": "a blobfuse mount",
    "fuse.blobfuse2": "a blobfuse mount",
    "fuse.mountpoint-s3": "a Mountpoint for S3 mount",
    "fuse.google-drive-ocamlfuse": "a Google Drive mount",
    "fuse.onedriver": "a OneDrive mount",
    "fuse.juicefs": "a JuiceFS mount",
    "davfs": "a davfs2 WebDAV mount",
    "fuse.davfs2": "a davfs2 WebDAV mount",
}
# FUSE file systems whose reads go to the storage (or which sit on local disks)
_HONEST_FUSE = {
    "fuse.sshfs",
    "fuseblk",
    "fuse.ntfs-3g",
    "fuse.exfat",
    "fuse.mergerfs",
    "fuse.gocryptfs",
    "fuse.encfs",
    "fuse.bindfs",
    "fuse.glusterfs",
    "fuse.lxcfs",
}
_MAC_FUSE = {"macfuse", "osxfuse", "fuse-t", "fusefs", "osxfusefs"}
_WHY = (
    "it answers reads from a local cache and uploads to the remote storage later, so "
    "reading the copy back proves the cache, not the remote copy"
)


def pending_upload_reason(fs_type: str, real_path: str, *, onedrive: bool = False) -> str:
    """Why a copy at ``real_path`` (on a file system of ``fs_type``) is only pending
    upload; ``""`` when a read-back there reaches the storage."""
    kind = fs_type.lower()
    if kind in _CACHING:
        return f"the destination is {_CACHING[kind]}: {_WHY}"
    if (kind == "fuse" or kind.startswith("fuse.")) and kind not in _HONEST_FUSE:
        return (
            f"the destination is a FUSE file system ({fs_type}) this program does not know; "
            "it may answer reads from a local cache, so a read-back there proves nothing"
        )
    if kind in _MAC_FUSE or kind.startswith("fuse-"):
        return f"the destination is a FUSE drive ({fs_type}): {_WHY}"
    if onedrive:
        return f"the destination is a OneDrive folder: the OneDrive client {_WHY[3:]}"
    if sys.platform == "darwin" and _under_cloud_storage(real_path):  # pragma: no cover
        return f"the destination is a cloud-drive folder (~/Library/CloudStorage): {_WHY}"
    if os.name == "nt" and _windows_sync_root(real_path):  # pragma: no cover
        return f"the destination is inside a cloud sync folder (OneDrive, Google Drive...): {_WHY}"
    return ""


def _under_cloud_storage(real_path: str) -> bool:  # pragma: no cover - macOS only
    base = Path.home() / "Library" / "CloudStorage"
    return Path(real_path) == base or base in Path(real_path).parents


def _windows_sync_root(real_path: str) -> bool:  # pragma: no cover - Windows only
    """Whether ``real_path`` lies under a cloud-files sync root (cldapi.dll)."""
    import ctypes

    try:
        cldapi = ctypes.WinDLL("cldapi.dll")  # type: ignore[attr-defined]
    except OSError:
        return False
    buf = ctypes.create_string_buffer(4096)
    returned = ctypes.c_ulong()
    hr = cldapi.CfGetSyncRootInfoByPath(
        ctypes.c_wchar_p(real_path), 0, buf, len(buf), ctypes.byref(returned)
    )
    more_data = ctypes.c_long(0x800700EA).value  # HRESULT_FROM_WIN32(ERROR_MORE_DATA)
    return bool(hr in (0, more_data))
