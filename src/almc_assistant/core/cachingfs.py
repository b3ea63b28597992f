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
- macOS (best effort, untested here: no macOS machine): ``statfs().f_fstypename``
  (``macfuse``, ``osxfuse``, ``fuse-t``...), folders under ``~/Library/CloudStorage``
  (File Provider: OneDrive, Google Drive, Dropbox, Box) and iCloud Drive
  (``~/Library/Mobile Documents``).
- Windows (the Windows lane runs these calls under Wine, where none of them fires):
  the volume's file-system name (``GetVolumeInformationW``: WinFsp-FUSE drives report
  ``FUSE-<name>``, rclone ``rclone``, WinFsp and Dokan drives their own names, listed
  below); a path under a cloud-files sync root (``CfGetSyncRootInfoByPath``: OneDrive,
  Dropbox, Box, iCloud for Windows, Google Drive's mirror mode); and the cloud-files
  attributes of the destination folder itself (``FILE_ATTRIBUTE_PINNED``/``UNPINNED``,
  ``RECALL_ON_OPEN``/``RECALL_ON_DATA_ACCESS``, ``OFFLINE``: set on placeholders of a
  sync engine), read by :func:`cloud_attribute_reason`.
- Everywhere: a OneDrive folder (the OneDrive client uploads it later).

**Not detectable** (a read-back there is called verified although it may prove only a
cache; the README says so): a user-mode drive whose driver reports an ordinary name
(several Dokan and WinFsp file systems, and Google Drive for desktop's streaming drive,
answer ``NTFS`` or ``FAT32``); Windows Offline Files (client-side caching of an SMB
share, which answers from the local cache while the server is away); fuse-t on macOS,
which mounts through a local NFS server (its ``f_fstypename`` is ``nfs``); a sync client
that does not use the cloud-files API or File Provider and watches an ordinary folder
(old Dropbox, Nextcloud, Syncthing): the copy there is real and local, its upload
unknown to us.
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
# Windows file-system names of user-mode drives (GetVolumeInformationW), lower case
_WINDOWS_USER_MODE = {"winfsp": "a WinFsp drive", "dokan": "a Dokan drive"}
# Cloud-files attributes of a placeholder or a synced folder (winnt.h)
_CLOUD_ATTRIBUTES = {
    0x00080000: "pinned",  # FILE_ATTRIBUTE_PINNED
    0x00100000: "unpinned",  # FILE_ATTRIBUTE_UNPINNED
    0x00040000: "recall on open",  # FILE_ATTRIBUTE_RECALL_ON_OPEN
    0x00400000: "recall on data access",  # FILE_ATTRIBUTE_RECALL_ON_DATA_ACCESS
    0x00001000: "offline",  # FILE_ATTRIBUTE_OFFLINE
}
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
    for prefix, what in _WINDOWS_USER_MODE.items():
        if kind.startswith(prefix):
            return f"the destination is {what} ({fs_type}), which may cache: {_WHY}"
    if onedrive:
        return f"the destination is a OneDrive folder: the OneDrive client {_WHY[3:]}"
    if sys.platform == "darwin" and _under_cloud_storage(real_path):  # pragma: no cover
        return f"the destination is a cloud-drive folder (File Provider or iCloud Drive): {_WHY}"
    if os.name == "nt":  # pragma: no cover - tested by the Windows lane
        if _windows_sync_root(real_path):
            return f"the destination is inside a cloud sync folder (OneDrive, Dropbox...): {_WHY}"
        return cloud_attribute_reason(_windows_attributes(real_path))
    return ""


def cloud_attribute_reason(attributes: int) -> str:
    """Why a Windows folder with these attributes is a sync engine's ("" if it is not)."""
    found = [word for bit, word in _CLOUD_ATTRIBUTES.items() if attributes & bit]
    if not found:
        return ""
    return f"the destination folder is managed by a cloud sync client ({', '.join(found)}): {_WHY}"


def _windows_attributes(real_path: str) -> int:  # pragma: no cover - Windows only
    import ctypes

    k32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
    k32.GetFileAttributesW.restype = ctypes.c_uint32
    attributes = int(k32.GetFileAttributesW(ctypes.c_wchar_p(real_path)))
    return 0 if attributes == 0xFFFFFFFF else attributes


def _under_cloud_storage(real_path: str) -> bool:  # pragma: no cover - macOS only
    """File Provider folders and iCloud Drive (whose files may be evicted to the cloud)."""
    library = Path.home() / "Library"
    for base in (library / "CloudStorage", library / "Mobile Documents"):
        if Path(real_path) == base or base in Path(real_path).parents:
            return True
    return False


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
