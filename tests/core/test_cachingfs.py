"""Caching mounts on every platform: what is told apart from honest storage.

The Linux mounts are tested for real in ``tests/integration/test_copy_caching_mount.py``.
Here: the decisions for the names Windows and macOS report (no macOS machine here; the
names are as documented by WinFsp, Dokan, macFUSE), the cloud-files attributes of a
Windows folder, and, in the Windows lane, that an ordinary drive of Wine's is not taken
for a caching one (Wine has no sync engine: a positive cannot be made there).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from almc_assistant.core.cachingfs import cloud_attribute_reason, pending_upload_reason
from almc_assistant.core.fslimits import detect_filesystem
from tests.portable import WINDOWS


@pytest.mark.parametrize(
    ("fs_type", "words"),
    [
        ("FUSE-rclone", "FUSE drive"),  # WinFsp-FUSE (cgofuse): rclone mount on Windows
        ("rclone", "rclone mount"),
        ("WinFsp-Memfs", "WinFsp drive"),
        ("Dokan", "Dokan drive"),
        ("macfuse", "FUSE drive"),
        ("osxfuse", "FUSE drive"),
    ],
)
def test_user_mode_drives_of_windows_and_macos_are_pending_upload(fs_type: str, words: str) -> None:
    assert words in pending_upload_reason(fs_type, "X:\\\\lab")


@pytest.mark.parametrize("fs_type", ["NTFS", "ReFS", "exFAT", "FAT32", "apfs", "smbfs", "cifs"])
def test_ordinary_file_systems_are_not(fs_type: str) -> None:
    assert pending_upload_reason(fs_type, "X:\\\\lab") == ""


def test_cloud_files_attributes_of_a_folder_mark_a_sync_engine() -> None:
    assert cloud_attribute_reason(0x10) == ""  # a plain folder
    assert "unpinned" in cloud_attribute_reason(0x10 | 0x00100000)
    assert "recall on data access" in cloud_attribute_reason(0x00400000)
    assert "pinned" in cloud_attribute_reason(0x00080000)
    assert "offline" in cloud_attribute_reason(0x1000)


@pytest.mark.skipif(not WINDOWS, reason="Windows volume and sync-root calls (the Windows lane)")
def test_on_windows_an_ordinary_drive_is_not_a_caching_one(tmp_path: Path) -> None:
    """GetVolumeInformationW, CfGetSyncRootInfoByPath (absent in Wine: not a sync root)
    and GetFileAttributesW all run, and none calls Wine's drive a cache."""
    fs = detect_filesystem(tmp_path)
    assert fs.type == "ntfs" and fs.pending_upload == ""
