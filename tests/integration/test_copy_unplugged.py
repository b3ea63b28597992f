"""An unplugged drive never becomes a folder on the system disk (issue 9 follow-up).

The copy engine used to create a missing destination whenever its parent existed, and
wrote into the empty mount-point folder an unmounted drive leaves behind: "verified"
copies on the system disk. Real tmpfs mounts (root only) inside a real mount-point
container (named through ``ALMC_MOUNT_CONTAINERS``, as a facility with its own mount
root does), the real CLI in a subprocess.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from almc_assistant.core.destinations import Destination, DestinationKind
from almc_assistant.core.preflight import preflight
from tests.integration.test_copy_cli import cli, make_run
from tests.portable import IS_ROOT


@pytest.fixture
def media(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A mount-point container (like /media) with a tmpfs "drive" mounted at usb/."""
    if not IS_ROOT:
        pytest.skip("needs root to mount a tmpfs")
    container = tmp_path / "media"
    usb = container / "usb"
    usb.mkdir(parents=True)
    monkeypatch.setenv("ALMC_MOUNT_CONTAINERS", str(container))
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(usb)], check=True)
    try:
        yield usb
    finally:
        subprocess.run(["umount", "-l", str(usb)], check=False)


@pytest.mark.root
def test_unmounted_drive_is_not_reachable_and_nothing_is_written(
    tmp_path: Path, media: Path
) -> None:
    run = make_run(tmp_path / "src")
    first = cli("copy", run, "--to", media, "--json", check_json=True)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["summary"]["verified"] == 2
    subprocess.run(["umount", str(media)], check=True)
    assert media.is_dir() and list(media.iterdir()) == []  # the empty mount point

    again = cli("copy", run, "--to", media)
    assert again.returncode != 0
    assert "not reachable" in again.stderr and "plugged in" in again.stderr, again.stderr
    assert "verified" not in again.stdout
    assert list(media.iterdir()) == []  # nothing on the system disk

    below = cli("copy", run, "--to", media / "backups")  # a folder on the drive
    assert below.returncode != 0 and "not reachable" in below.stderr
    assert list(media.iterdir()) == []

    media.rmdir()  # as udisks does on unplugging: the mount point is gone too
    gone = cli("copy", run, "--to", media)
    assert gone.returncode != 0 and "not reachable" in gone.stderr
    assert not media.exists()  # not created inside the container


@pytest.mark.root
def test_configured_destination_on_unmounted_drive_is_refused_by_the_gui_preflight(
    media: Path,
) -> None:
    dest = Destination("USB", media, DestinationKind.EXTERNAL_DRIVE)
    assert preflight(dest, []).reachable
    subprocess.run(["umount", str(media)], check=True)
    result = preflight(dest, [])
    assert not result.reachable
    assert "not reachable" in result.issues[0].message


def test_copy_to_a_new_folder_says_created(tmp_path: Path) -> None:
    run = make_run(tmp_path / "src")
    new = tmp_path / "new-backup"
    proc = cli("copy", run, "--to", new)
    assert proc.returncode == 0, proc.stderr
    assert f"created the destination folder {new}" in proc.stderr
    assert (new / "run1" / "a.nd2").read_bytes() == (run / "a.nd2").read_bytes()
    nested = cli("copy", run, "--to", tmp_path / "no" / "such" / "path")
    assert nested.returncode != 0 and "not reachable" in nested.stderr
    assert not (tmp_path / "no").exists()
