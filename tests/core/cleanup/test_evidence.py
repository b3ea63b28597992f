"""Each way issues 9 and 10 made cleanup delete the only copy, on real tmpfs disks.

Each test failed before cleanup proved its evidence from the files themselves.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from almc_assistant.core.destinations import DestinationKind
from almc_assistant.core.evidence import EvidenceRules
from almc_assistant.core.inspect import check_file
from tests.core.cleanup.world import World, digest

pytestmark = pytest.mark.root


def _kept_reason(world: World) -> str:
    result = world.apply()
    assert result.deleted == ()
    return result.kept[0].reason


def test_a_copy_replaced_by_a_link_to_the_source_does_not_count(world: World) -> None:
    src = world.acquire("a.nd2", b"only copy" * 100)
    copy = world.copy_to(src, world.bit)
    copy.unlink()
    copy.symlink_to(src)
    reason = _kept_reason(world)
    assert src.read_bytes() == b"only copy" * 100
    assert "is a symbolic link, not a regular file" in reason


def test_a_same_size_edit_with_the_mtime_restored_is_caught(world: World) -> None:
    src = world.acquire("a.nd2", b"A" * 8192)
    world.copy_to(src, world.bit)
    plan = world.plan()
    st = src.stat()
    if shutil.which("dd"):
        subprocess.run(
            ["dd", "if=/dev/zero", f"of={src}", "bs=1024", "count=1", "conv=notrunc"],
            check=True,
            capture_output=True,
        )
    else:  # pragma: no cover - dd is in coreutils
        with src.open("r+b") as f:
            f.write(b"\0" * 1024)
    os.utime(src, ns=(st.st_atime_ns, st.st_mtime_ns))  # size and mtime as recorded
    result = world.apply(plan)
    assert result.deleted == () and src.exists()
    assert "bytes differ from those recorded" in result.kept[0].reason


def test_a_file_copied_onto_itself_is_not_a_copy(world: World) -> None:
    world.add_destination(world.acq, DestinationKind.EXTERNAL_DRIVE)  # `copy acq --to acq`
    src = world.acquire("a.nd2", b"mine" * 10)
    world.record(src, world.acq, src, digest(src.read_bytes()))
    assert world.plan().delete == ()  # the policy: the acquisition disk never counts
    result = world.apply(world.forced())  # a stale or forged plan
    assert result.deleted == () and src.exists()
    assert "is the source itself" in result.kept[0].reason


def test_a_copy_through_a_symlinked_alias_of_the_source_folder_is_not_a_copy(
    world: World, tmp_path: Path
) -> None:
    alias = tmp_path / "alias"
    alias.symlink_to(world.acq)
    world.add_destination(alias, DestinationKind.EXTERNAL_DRIVE)
    world.policy = world.make_policy(independent_copies=1)
    src = world.acquire("a.nd2", b"mine" * 10)
    world.record(src, alias, alias / "a.nd2", digest(src.read_bytes()))
    assert world.plan().delete == ()
    result = world.apply(world.forced())
    assert result.deleted == () and src.exists()
    assert "is the source itself" in result.kept[0].reason


def test_two_folders_on_the_sources_own_disk_count_as_none(world: World) -> None:
    one, two = world.disk / "backup1", world.disk / "backup2"
    for d in (one, two):
        d.mkdir()
        world.add_destination(d, DestinationKind.EXTERNAL_DRIVE)
    src = world.acquire("a.nd2", b"x" * 100)
    world.copy_to(src, one)
    world.copy_to(src, two)
    (item,) = world.plan().keep
    assert "has 0 verified copies" in item.reason and "acquisition disk itself" in item.reason
    result = world.apply(world.forced())
    assert result.deleted == () and src.exists()
    assert "the source's own device" in result.kept[0].reason


def test_two_destinations_on_one_drive_count_once(world: World) -> None:
    second = world.ext / "second"
    second.mkdir()
    world.add_destination(second, DestinationKind.EXTERNAL_DRIVE)
    src = world.acquire("a.nd2", b"x" * 100)
    world.copy_to(src, world.ext)
    world.copy_to(src, second)
    assert "count once" in world.plan().keep[0].reason
    world.copy_to(src, world.lab)
    assert len(world.apply().deleted) == 1


def test_a_native_damaged_nd2_is_never_deleted(world: World, corpus: Path) -> None:
    data = (corpus / "files" / "example-timelapse.nd2").read_bytes()
    src = world.acquire("run.nd2", data[: len(data) // 2])  # truncated: still being written?
    world.copy_to(src, world.bit)
    check = check_file(src)
    assert check.verdict == "native-damaged"
    world.catalog.record_verdict(src, str(check.verdict), tuple(check.reasons))
    (item,) = world.plan().keep
    assert item.reason.startswith("the check found it damaged or incomplete")
    assert "never deleted" in item.reason
    assert world.apply().deleted == () and src.exists()


@pytest.mark.timeout(20)
def test_a_fifo_as_a_copy_is_refused_without_blocking(world: World) -> None:
    src = world.acquire("a.nd2", b"d" * 64)
    copy = world.copy_to(src, world.bit)
    copy.unlink()
    os.mkfifo(copy)
    assert "named pipe" in _kept_reason(world) and src.exists()


@pytest.mark.timeout(20)
def test_a_fifo_as_a_source_is_refused_without_blocking(world: World) -> None:
    src = world.acquire("a.nd2", b"d" * 64)
    world.copy_to(src, world.bit)
    plan = world.plan()
    src.unlink()
    os.mkfifo(src)
    result = world.apply(plan)
    assert result.deleted == () and "named pipe" in result.kept[0].reason


def test_a_row_path_with_dotdot_is_refused(world: World) -> None:
    outside = world.disk / "precious.nd2"  # outside the acquisition folder
    outside.write_bytes(b"p" * 50)
    (world.acq / "common").mkdir()
    sneaky = world.acq / "common" / ".." / ".." / "precious.nd2"
    world.acquire(str(sneaky.relative_to(world.acq)), None)
    world.copy_to(outside, world.bit)
    world.record(sneaky, world.bit, world.bit / "precious.nd2", digest(outside.read_bytes()))
    result = world.apply()
    assert outside.exists() and result.deleted == ()
    assert "'..' component" in result.kept[0].reason


def test_a_row_path_through_a_symlinked_folder_is_refused(world: World) -> None:
    elsewhere = world.disk / "elsewhere"
    elsewhere.mkdir()
    precious = elsewhere / "x.nd2"
    precious.write_bytes(b"p" * 50)
    (world.acq / "link").symlink_to(elsewhere)
    row = world.acq / "link" / "x.nd2"
    world.acquire("link/x.nd2", None)
    world.copy_to(row, world.bit)
    result = world.apply()
    assert precious.exists() and result.deleted == ()
    assert "'link' is a link" in result.kept[0].reason


def test_a_forged_row_for_a_zero_filled_copy_is_ignored(world: World) -> None:
    src = world.acquire("b.nd2", b"unbacked data" * 100)
    fake = world.ext / "b.nd2"
    fake.write_bytes(b"\0" * src.stat().st_size)
    world.record(src, world.ext, fake, digest(fake.read_bytes()))  # the forged row's hash
    other = world.lab / "b.nd2"
    other.write_bytes(b"\0" * src.stat().st_size)
    world.record(src, world.lab, other, digest(src.read_bytes()))  # even with the right hash
    world.catalog.recompute_safety()
    reason = _kept_reason(world)
    assert src.exists()
    assert "bytes differ from those recorded" in reason or "bytes differ" in reason


def test_a_copy_outside_the_configured_destinations_does_not_count(
    world: World, tmp_path: Path
) -> None:
    src = world.acquire("a.nd2", b"x" * 100)
    world.copy_to(src, world.bit)
    world.rules = EvidenceRules(None, (world.ext,))  # BIT is not trusted by these rules
    reason = _kept_reason(world)
    assert "not inside a destination the facility" in reason and src.exists()


@pytest.mark.parametrize("target", ["copy", "folder"])
def test_a_copy_others_may_write_does_not_count(world: World, target: str) -> None:
    src = world.acquire("a.nd2", b"x" * 100)
    copy = world.copy_to(src, world.bit, "run/a.nd2")
    (copy if target == "copy" else copy.parent).chmod(0o666 if target == "copy" else 0o777)
    reason = _kept_reason(world)
    assert "other users may write it" in reason and src.exists()


def test_a_catalog_speaks_only_for_its_owners_files(world: World) -> None:
    src = world.acquire("a.nd2", b"x" * 100)
    world.copy_to(src, world.bit)
    world.rules = EvidenceRules(4242, (world.bit,))  # a private catalog of uid 4242
    assert "speaks only for uid 4242" in _kept_reason(world) and src.exists()


def test_a_copy_swapped_after_the_check_cancels_the_deletion(world: World) -> None:
    src = world.acquire("a.nd2", b"x" * 100)
    copy = world.copy_to(src, world.bit)

    def swap(path: Path) -> None:
        copy.unlink()
        copy.write_bytes(b"y" * 100)

    world.before_unlink = swap
    reason = _kept_reason(world)
    assert "a copy changed after it was checked" in reason and src.exists()
    assert '"action": "delete-cancelled"' in world.audit.read_text()


def test_a_source_written_after_the_check_is_not_deleted(world: World) -> None:
    src = world.acquire("a.nd2", b"x" * 100)
    world.copy_to(src, world.bit)

    def write(path: Path) -> None:
        st = src.stat()
        with src.open("r+b") as f:
            f.write(b"NEW")
        os.utime(src, ns=(st.st_atime_ns, st.st_mtime_ns))

    world.before_unlink = write
    reason = _kept_reason(world)
    assert "the file changed after it was checked" in reason and src.read_bytes()[:3] == b"NEW"


def test_a_copy_recorded_through_a_link_to_a_trusted_destination_counts(
    world: World, tmp_path: Path
) -> None:
    alias = tmp_path / "bit-alias"
    alias.symlink_to(world.bit)  # the user copied to a link to BIT
    src = world.acquire("a.nd2", b"x" * 100)
    copy = world.copy_to(src, alias)
    assert (world.bit / "a.nd2").is_file() and copy.parent == alias
    assert len(world.apply(world.forced()).deleted) == 1 and not src.exists()
