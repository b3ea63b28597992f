"""Choosing polling versus native observers: mount tables, drive types, forced choice."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from almc_assistant.core.events import ListSink
from almc_assistant.core.watch import Watcher, filesystem_type, use_polling
from almc_assistant.core.watch.filesystems import (
    DRIVE_REMOTE,
    drive_type_is_remote,
    fs_type_from_mountinfo,
)
from tests.portable import IS_ROOT

MOUNTINFO = r"""22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw
40 27 0:40 / /mnt/scope\040data rw,relatime - cifs //nas/scope rw,vers=3.1.1
41 27 0:41 / /mnt/petalibrary rw,relatime - nfs4 pl:/export rw
42 41 0:42 / /mnt/petalibrary/local rw,relatime - ext4 /dev/sdb1 rw
43 27 0:43 / /media/usb rw,relatime - exfat /dev/sdc1 rw
44 27 0:44 / /home/u/remote rw,relatime shared:5 - fuse.sshfs u@h:/data rw
"""


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/", "ext4"),
        ("/home/user/data", "ext4"),
        ("/mnt/scope data/2026/a.nd2", "cifs"),  # \040 is a space in mountinfo
        ("/mnt/scope data", "cifs"),
        ("/mnt/scope datax", "ext4"),  # a prefix of the name is not the mount
        ("/mnt/petalibrary/x", "nfs4"),
        ("/mnt/petalibrary/local/x", "ext4"),  # the longest mount point wins
        ("/media/usb/acq", "exfat"),
        ("/home/u/remote/x", "fuse.sshfs"),  # optional fields before " - "
    ],
)
def test_mount_type_comes_from_the_longest_mount_point(path: str, expected: str) -> None:
    assert fs_type_from_mountinfo(MOUNTINFO, path) == expected


def test_a_later_mount_on_the_same_point_hides_the_earlier_one() -> None:
    text = MOUNTINFO + "50 27 0:50 / /media/usb rw - nfs srv:/x rw\n"
    assert fs_type_from_mountinfo(text, "/media/usb/acq") == "nfs"


def test_garbage_lines_are_skipped() -> None:
    assert fs_type_from_mountinfo("nonsense\n\n1 2 3\n", "/x") is None


def test_windows_unc_paths_and_remote_drive_letters_are_network() -> None:
    # GetDriveTypeW cannot be reached here: a fake stands in for the Windows API.
    types = {"Z:\\": DRIVE_REMOTE, "C:\\": 3}
    asked: list[str] = []

    def get_drive_type(root: str) -> int:
        asked.append(root)
        return types.get(root, 1)

    assert drive_type_is_remote("\\\\nas\\scope\\data", get_drive_type)
    assert drive_type_is_remote("//nas/scope/data", get_drive_type)
    assert not asked  # UNC paths need no API call
    if sys.platform == "win32":  # pragma: no cover - splitdrive only knows letters there
        assert drive_type_is_remote("Z:\\acq", get_drive_type)
        assert not drive_type_is_remote("C:\\acq", get_drive_type)


def test_forced_choice_wins_and_auto_polls_only_network_file_systems(tmp_path: Path) -> None:
    assert use_polling(tmp_path, True, fs_type=lambda _: "ext4")
    assert not use_polling(tmp_path, False, fs_type=lambda _: "cifs")
    assert use_polling(tmp_path, None, fs_type=lambda _: "cifs")
    assert use_polling(tmp_path, None, fs_type=lambda _: "NFS4")
    assert use_polling(tmp_path, None, fs_type=lambda _: "smbfs")  # macOS
    assert use_polling(tmp_path, None, fs_type=lambda _: "remote")  # Windows
    assert not use_polling(tmp_path, None, fs_type=lambda _: "ext4")
    assert not use_polling(tmp_path, None, fs_type=lambda _: None)  # unknown: native


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/mountinfo")
def test_the_real_file_system_of_a_temporary_folder_is_named(tmp_path: Path) -> None:
    kind = filesystem_type(tmp_path)
    assert kind is not None and kind != ""
    assert not use_polling(tmp_path)


@pytest.mark.root
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mount(8) on Linux")
def test_a_real_tmpfs_mount_is_recognised(tmp_path: Path) -> None:

    if not IS_ROOT or shutil.which("mount") is None:
        pytest.skip("needs root to mount a tmpfs")
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], check=True)
    try:
        assert filesystem_type(mnt / "sub") == "tmpfs"
        watcher = Watcher([mnt], ListSink(), polling=None)
        assert not watcher.polls(mnt)
        assert Watcher([mnt], ListSink(), polling=True).polls(mnt)
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=True)
