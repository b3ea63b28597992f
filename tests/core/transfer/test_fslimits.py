"""fslimits: detection on this machine's real mounts, and the limit decisions per type.

vfat cannot be mounted in this container (the kernel has no vfat module: `mount -o loop`
of an mkfs.vfat image fails with "unknown filesystem type"), so FAT32 decisions are
tested on the profile directly, and end to end with the detection pointed at FAT32.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from almc_assistant.core.fslimits import (
    FAT32_MAX_FILE,
    case_collisions,
    detect_filesystem,
    filesystem_for_type,
    name_problems,
    onedrive_profile,
    size_problem,
)
from almc_assistant.core.statfs import linux_fs_type
from tests.portable import IS_ROOT

FAT = filesystem_for_type("vfat")
EXT4 = filesystem_for_type("ext4")


def test_detects_the_real_type_of_a_tmpfs_mount(tmp_path: Path) -> None:

    if not IS_ROOT:
        pytest.skip("needs root to mount a tmpfs")
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], check=True)
    try:
        fs = detect_filesystem(mnt / "not" / "yet" / "there")
        assert fs.type == "tmpfs"
        assert fs.mount_point == str(mnt)
        assert fs.case_sensitive and fs.max_file_size is None
    finally:
        subprocess.run(["umount", str(mnt)], check=True)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc/self/mountinfo is Linux's")
def test_detects_root_filesystem_type_from_mountinfo() -> None:
    fs = detect_filesystem("/")
    with open("/proc/self/mountinfo") as f:
        root_types = {line.split(" - ")[1].split()[0] for line in f if line.split()[4] == "/"}
    if not root_types:  # a chroot: mountinfo hides the mount holding its root
        root_types = {linux_fs_type("/") or ""}
    assert "unknown" not in root_types
    assert fs.type in root_types


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("CON.tif", "reserved name"),
        ("lpt1", "reserved name"),
        ("aux.nd2", "reserved name"),
        ("a:b.tif", "':'"),
        ("what?.tif", "'?'"),
        ('say "hi".tif', "'\"'"),
        ("tab\there", "'\\t'"),
        ("back\\slash.tif", "'\\\\'"),
        ("trailing.", "ends with a dot or a space"),
        ("trailing ", "ends with a dot or a space"),
    ],
)
def test_fat_refuses_windows_names_with_the_reason(name: str, fragment: str) -> None:
    problems = name_problems(f"run1/{name}", FAT)
    assert problems, name
    assert any(fragment in p for p in problems), problems
    assert all("FAT32" in p for p in problems)
    assert name_problems(f"run1/{name}", EXT4) == []


def test_ordinary_names_are_fine_everywhere() -> None:
    for fs in (FAT, EXT4, filesystem_for_type("exfat"), filesystem_for_type("ntfs")):
        assert name_problems("run1/well 01/Plate_A01 (2).ome.tif", fs) == []
    assert name_problems("CONSOLE.tif", FAT) == []  # only the exact device names


def test_long_names_and_paths() -> None:
    long_name = "x" * 256
    assert any("longer than the 255" in p for p in name_problems(f"a/{long_name}", EXT4))
    # 255 UTF-16 units fit NTFS even when the UTF-8 bytes are more
    assert name_problems("é" * 200, filesystem_for_type("ntfs")) == []
    assert name_problems("é" * 200, EXT4) != []
    windows = onedrive_profile(EXT4)
    deep = "/".join(["folder"] * 60) + "/file.tif"
    problems = name_problems(deep, windows, root="/home/user/OneDrive")
    assert any("400" in p for p in problems)


def test_fat32_size_limit_is_4_gib_minus_one() -> None:
    assert size_problem(FAT32_MAX_FILE, FAT) is None
    problem = size_problem(FAT32_MAX_FILE + 1, FAT)
    assert problem is not None and "4 GiB" in problem and "FAT32" in problem
    assert size_problem(10 * FAT32_MAX_FILE, filesystem_for_type("exfat")) is None


def test_onedrive_profile_limits() -> None:
    od = onedrive_profile(EXT4)
    assert od.label == "ext4 (OneDrive folder)"
    assert size_problem(250 * 10**9, od) is None
    problem = size_problem(250 * 10**9 + 1, od)
    assert problem is not None and "250 GB" in problem
    assert any("OneDrive refuses" in p for p in name_problems("desktop.ini", od))
    assert any("OneDrive refuses" in p for p in name_problems("~$draft.docx", od))
    assert any("starts with a space" in p for p in name_problems(" lead.tif", od))


def test_onedrive_folder_is_recognised_by_path(tmp_path: Path) -> None:
    folder = tmp_path / "OneDrive - University" / "backup"
    folder.mkdir(parents=True)
    assert detect_filesystem(folder).profile == "onedrive"
    assert detect_filesystem(tmp_path).profile is None


def test_case_collisions() -> None:
    clashes = case_collisions(["run/A.tif", "run/b.tif", "run/a.tif", "RUN/b.tif"])
    # folders collide too: RUN and run are one folder there
    assert clashes == [("run/A.tif", "run/a.tif"), ("run/b.tif", "RUN/b.tif")]
    assert case_collisions(["x/Data.nd2", "X/data.ND2"]) == [("x/Data.nd2", "X/data.ND2")]
