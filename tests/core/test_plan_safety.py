"""The policy's answer for a planned copy, as the service gives it with the preflight.

Issue 9: the destinations page said "✓ These copies make your data safe" beside "a copy
there is not a backup" (same disk), and "has 1 verified copy" before anything was copied.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest

from almc_assistant.core import service_events as ev
from almc_assistant.core.config import PolicySettings
from almc_assistant.core.destinations import Destination, DestinationKind
from almc_assistant.core.events import ListSink
from almc_assistant.core.paths import AppPaths
from almc_assistant.core.plan_safety import plan_safety
from almc_assistant.core.policy import Policy
from almc_assistant.core.service import Service
from tests.core.catalog.test_catalog_faults import _tmpfs
from tests.portable import IS_ROOT


def _file(tmp: Path) -> Path:
    f = tmp / "acq" / "a.nd2"
    f.parent.mkdir(parents=True)
    f.write_bytes(b"a" * 100)
    return f


def test_a_destination_on_the_files_disk_is_not_counted(tmp_path: Path) -> None:
    share = Destination("Share", tmp_path / "share", DestinationKind.INSTITUTIONAL)
    policy = Policy(PolicySettings(), [share])
    answer = plan_safety(policy, [_file(tmp_path)], [share])
    assert not answer.safe and answer.counted == ()
    assert answer.not_counted == (
        "Share: on the same disk as your files, so a copy there is not a backup",
    )
    assert answer.after_copying() == "after copying: no copy that counts"
    assert answer.requirement == (
        "1 verified copy on backed-up institutional storage or 2 verified copies on "
        "independent destinations"
    )


def test_a_remote_destination_is_judged_as_its_remote_not_as_a_folder_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A remote's ``path`` is its folder on the remote (``lab/me``), never a folder here:
    planned as the copy will be recorded (``research:lab/me``, one storage per remote),
    not as ``lab/me`` below the working folder (which is on the files' own disk here)."""
    monkeypatch.chdir(tmp_path)
    f = _file(tmp_path)

    def remote(name: str, spec: str, kind: DestinationKind) -> Destination:
        return Destination(name, PurePosixPath(spec.partition(":")[2]), kind, remote=spec)

    inst = remote("Storage", "storage:lab/me", DestinationKind.INSTITUTIONAL)
    research = remote("Research", "research:lab/me", DestinationKind.RESEARCH)
    again = remote("Research again", "research:lab/you", DestinationKind.RESEARCH)
    policy = Policy(PolicySettings(), [inst, research, again])
    one = plan_safety(policy, [f], [inst])
    assert one.safe and one.counted == ("Storage",) and one.not_counted == ()
    same = plan_safety(policy, [f], [research, again])  # two folders on one remote
    assert not same.safe and same.counted == ("Research",)
    assert same.not_counted == (
        "Research again: on the same disk as Research; copies on one disk count once",
    )


@pytest.mark.root
@pytest.mark.skipif(not IS_ROOT, reason="needs root to mount a tmpfs")
def test_destinations_on_their_own_disks_count_as_the_policy_says(tmp_path: Path) -> None:
    f = _file(tmp_path)
    with _tmpfs("1m") as share_disk, _tmpfs("1m") as usb_disk, _tmpfs("1m") as cloud_disk:
        share = Destination("Share", share_disk, DestinationKind.INSTITUTIONAL)
        usb = Destination("USB", usb_disk / "backup", DestinationKind.EXTERNAL_DRIVE)
        cloud = Destination("OneDrive", cloud_disk, DestinationKind.CLOUD_SYNC)
        policy = Policy(PolicySettings(), [share, usb, cloud])
        assert plan_safety(policy, [f], [share]).safe
        one = plan_safety(policy, [f], [usb])  # not there yet: planned under the root
        assert not one.safe and one.after_copying() == "after copying: 1 copy that counts, on USB"
        both = plan_safety(policy, [f], [usb, share])
        assert both.safe and both.counted == ("USB", "Share")
        twice = Destination("USB again", usb_disk / "other", DestinationKind.EXTERNAL_DRIVE)
        one_disk = plan_safety(policy, [f], [usb, twice])  # two folders, one drive
        assert not one_disk.safe and one_disk.counted == ("USB",)
        assert one_disk.not_counted == (
            "USB again: on the same disk as USB; copies on one disk count once",
        )
        with_cloud = plan_safety(policy, [f], [usb, cloud])
        assert not with_cloud.safe and with_cloud.counted == ("USB",)
        assert "OneDrive: a cloud-sync folder" in with_cloud.not_counted[0]


def test_the_service_publishes_the_answer_with_the_preflight(tmp_path: Path) -> None:
    f = _file(tmp_path)
    (tmp_path / "bit").mkdir()
    paths = AppPaths.under(tmp_path / "home").ensure()
    paths.facility_config.write_text(
        f'[watch]\nfolders = [{str(tmp_path / "acq")!r}]\n[[destinations]]\nname = "BIT"\n'
        f'path = {str(tmp_path / "bit")!r}\nkind = "institutional"\n'
    )
    sink = ListSink()
    service = Service(paths, sink, inline=True)
    try:
        request = service.preflight([f], service.destinations())
        [done] = sink.of_type(ev.PreflightFinished)
        assert done.request_id == request and done.safety is not None
        assert done.safety == service.plan_safety([f], service.destinations())
        assert "BIT: on the same disk" in done.safety.not_counted[0]
    finally:
        service.stop()
