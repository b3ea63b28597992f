"""Destination kinds, guidance, cloud-sync detection, and preflight on real folders."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path, PurePath, PurePosixPath, PureWindowsPath

import pytest

from almc_assistant.core.destinations import (
    KIND_INFO,
    CloudProvider,
    Destination,
    DestinationKind,
    detect_cloud_sync,
    guess_kind,
    is_university_account,
)
from almc_assistant.core.preflight import (
    IssueSeverity,
    PlannedFile,
    plan_files,
    preflight,
)
from tests.portable import IS_ROOT


@pytest.mark.parametrize(
    ("path", "provider"),
    [
        (PureWindowsPath(r"C:\Users\ann\OneDrive - University of Colorado\x"), "OneDrive"),
        (PureWindowsPath(r"C:\Users\ann\OneDrive"), "OneDrive"),
        (PureWindowsPath(r"G:\My Drive\data"), "Google Drive"),
        (
            PurePosixPath("/Users/a/Library/CloudStorage/GoogleDrive-a@colorado.edu/My Drive"),
            "Google Drive",
        ),
        (PurePosixPath("/home/ann/Dropbox (Team)/x"), "Dropbox"),
        (PurePosixPath("/Users/a/Library/Mobile Documents/com~apple~CloudDocs"), "iCloud Drive"),
        (PurePosixPath("/home/ann/dropbox-backup-notes"), None),
        (PurePosixPath("/mnt/nas/onedrivefoo"), None),
        (PurePosixPath("/mnt/nas/data"), None),
    ],
)
def test_cloud_sync_detection(path: PurePosixPath, provider: str | None) -> None:
    found = detect_cloud_sync(path)
    assert (found.value if found else None) == provider


def test_every_kind_has_guidance_and_only_institutional_is_backed_up() -> None:
    assert set(KIND_INFO) == set(DestinationKind)
    assert [k for k, i in KIND_INFO.items() if i.backed_up] == [DestinationKind.INSTITUTIONAL]
    assert "pending upload" in KIND_INFO[DestinationKind.CLOUD_SYNC].guidance
    assert "never" in KIND_INFO[DestinationKind.EXTERNAL_DRIVE].guidance.lower()
    assert "another copy" in KIND_INFO[DestinationKind.RESEARCH].guidance


def test_university_account_and_kind_guess() -> None:
    p = PureWindowsPath(r"C:\Users\ann\OneDrive - University of Colorado")
    assert is_university_account(p, ("University of Colorado",))
    assert not is_university_account(PureWindowsPath(r"C:\Users\ann\OneDrive"), ("colorado",))
    assert guess_kind(p) is DestinationKind.CLOUD_SYNC
    d = Destination("x", p, DestinationKind.CLOUD_SYNC)
    assert d.cloud_provider is CloudProvider.ONEDRIVE


def _planned(tmp: Path, names_sizes: dict[str, int]) -> list[PlannedFile]:
    return [PlannedFile(tmp / n, s, PurePosixPath(n)) for n, s in names_sizes.items()]


def test_preflight_of_a_reachable_local_folder(tmp_path: Path) -> None:
    src = tmp_path / "acq"
    src.mkdir()
    (src / "a.nd2").write_bytes(b"x" * 1000)
    dest = Destination("Other", tmp_path / "backup" / "new", DestinationKind.OTHER)
    (tmp_path / "backup" / "new").mkdir(parents=True)  # a missing root is not reachable
    files = plan_files([src / "a.nd2"], roots=[src])
    assert files == [PlannedFile(src / "a.nd2", 1000, PurePath("a.nd2"))]
    result = preflight(dest, files)
    assert result.reachable and result.ok and result.needed_bytes == 1000
    assert result.free_bytes and result.free_bytes > 1000
    assert result.filesystem != "unknown"
    same = [i for i in result.issues if "same disk" in i.message]
    assert same and same[0].severity is IssueSeverity.WARNING


def test_unreachable_destination(tmp_path: Path) -> None:
    dest = Destination("Share", tmp_path / "not" / "mounted", DestinationKind.INSTITUTIONAL)
    result = preflight(dest, [])
    assert not result.reachable and not result.ok
    assert "not reachable" in result.issues[0].message
    assert str(dest.path) in result.issues[0].message


def test_cloud_names_sizes_and_case_collisions(tmp_path: Path) -> None:
    root = tmp_path / "OneDrive - University of Colorado"
    root.mkdir()
    dest = Destination("OD", root, DestinationKind.CLOUD_SYNC, university_managed=True)
    files = _planned(
        tmp_path,
        {
            "ok.nd2": 1,
            "bad:name.tif": 1,
            "CON.tif": 1,
            "trailing. ": 1,
            "Cell.TIF": 1,
            "cell.tif": 1,
            "desktop.ini": 1,
        },
    )
    files.append(PlannedFile(tmp_path / "huge.nd2", 251 * 10**9, PurePosixPath("huge.nd2")))
    files.append(PlannedFile(tmp_path / "deep", 1, PurePosixPath("d" * 100, "e" * 100, "f" * 200)))
    result = preflight(dest, files)
    messages = {i.message.split(" ")[1]: i for i in result.issues}
    text = " | ".join(i.message for i in result.issues)
    assert "larger than the 250 GB" in text
    names = next(i for i in result.issues if "name(s) cannot be stored" in i.message)
    assert set(names.paths) == {
        str(tmp_path / n)
        for n in ("bad:name.tif", "CON.tif", "trailing. ", "desktop.ini", "deep")  # deep: 400+
    }
    case = next(i for i in result.issues if "upper/lower case" in i.message)
    assert set(case.paths) == {str(tmp_path / "Cell.TIF"), str(tmp_path / "cell.tif")}
    from almc_assistant.core.preflight import filesystem_of

    fs = filesystem_of(dest, root)
    assert fs.profile == "onedrive" and fs.max_path == 400
    assert "pending upload" in text and "deleted when you" in text
    assert not result.ok and messages


@pytest.mark.root
@pytest.mark.skipif(not IS_ROOT, reason="mounting a FAT32 image needs root")
def test_fat32_refuses_files_over_4_gib() -> None:
    work = Path(tempfile.mkdtemp(prefix="almc-fat-"))
    image, mount = work / "fat.img", work / "mnt"
    mount.mkdir()
    with open(image, "wb") as fh:
        fh.truncate(40 * 2**20)
    if shutil.which("mkfs.vfat") is None:
        pytest.skip("mkfs.vfat is not installed (Debian: dosfstools)")
    made = subprocess.run(["mkfs.vfat", "-F", "32", str(image)], capture_output=True)
    if made.returncode:
        pytest.skip(f"mkfs.vfat failed: {made.stderr.decode().strip()}")
    done = subprocess.run(["mount", "-o", "loop", str(image), str(mount)], capture_output=True)
    if done.returncode:
        pytest.skip(f"cannot loop-mount: {done.stderr.decode().strip()}")
    try:
        dest = Destination("USB", mount, DestinationKind.EXTERNAL_DRIVE)
        files = _planned(work, {"small.tif": 10, "big.nd2": 5 * 2**30})
        result = preflight(dest, files)
        text = " | ".join(i.message for i in result.issues)
        assert "larger than the 4 GiB" in text and "Not enough free space" in text
        assert "never let an external drive hold the only copy" in text
    finally:
        subprocess.run(["umount", str(mount)], check=False)
        image.unlink()
        mount.rmdir()
        work.rmdir()


def test_fat32_limits_where_no_fat32_can_be_mounted(tmp_path: Path) -> None:
    """The same rule as above, fed the file-system type this kernel cannot mount."""
    from almc_assistant.core.fslimits import filesystem_for_type
    from almc_assistant.core.preflight import _limits

    dest = Destination("USB", tmp_path, DestinationKind.EXTERNAL_DRIVE)
    files = _planned(tmp_path, {"small.tif": 10, "big.nd2": 4 * 2**30, "A.tif": 1, "a.tif": 1})
    issues = _limits(dest, tmp_path, filesystem_for_type("vfat"), files)
    big = next(i for i in issues if "larger than the 4 GiB" in i.message)
    assert big.paths == (str(tmp_path / "big.nd2"),) and big.severity is IssueSeverity.ERROR
    assert any("upper/lower case" in i.message for i in issues)
    assert "exFAT or NTFS" in big.message
    assert _limits(dest, tmp_path, filesystem_for_type("ext4"), files) == []
