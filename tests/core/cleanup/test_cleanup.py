"""Cleanup deletes only proven-safe files, on real tmpfs disks (each its own device)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from almc_assistant.core.catalog import FileState
from almc_assistant.core.cleanup import Action, keep_whole_datasets
from almc_assistant.core.errors import AlmcError
from almc_assistant.core.inspect import partial_datasets
from almc_assistant.core.status import VolumeUsage
from tests.core.cleanup.world import NOW, World
from tests.core.inspect.test_datasets import harmony_export

pytestmark = pytest.mark.root


def test_safe_old_file_is_deleted_and_audited_with_its_identity(world: World) -> None:
    src = world.acquire("a.nd2", b"pixels" * 1000)
    st = src.stat()
    world.copy_to(src, world.bit)
    plan = world.plan()
    assert [(i.file.path, i.action) for i in plan.items] == [(src, Action.DELETE)]
    result = world.apply(plan)
    assert not src.exists() and (world.bit / "a.nd2").exists()
    (outcome,) = result.deleted
    assert "re-read from storage" in outcome.reason and result.bytes_freed == 6000
    assert (outcome.dev, outcome.ino) == (st.st_dev, st.st_ino)
    (line,) = world.audit.read_text().splitlines()
    entry = json.loads(line)
    assert entry["action"] == "delete" and entry["path"] == str(src)
    assert (entry["dev"], entry["ino"]) == (st.st_dev, st.st_ino)
    assert entry["by"] == "staff" and entry["owner"] == "ann" and entry["hash_rechecked"]
    assert entry["copies"][0]["path"] == str(world.bit / "a.nd2")
    assert world.audit.stat().st_mode & 0o777 == 0o600
    rec = world.catalog.file(src)
    assert rec and rec.state is FileState.CLEANED


def test_unsafe_acquiring_and_young_files_are_kept_with_reasons(world: World) -> None:
    unsafe = world.acquire("unsafe.nd2", b"u" * 10)
    world.copy_to(unsafe, world.ext)  # one external copy: not enough
    acquiring = world.acquire("growing.nd2", b"g")
    world.catalog.record_seen(
        acquiring,
        size=1,
        mtime_ns=acquiring.stat().st_mtime_ns,
        owner="ann",
        state=FileState.ACQUIRING,
    )
    young = world.acquire("young.nd2", b"y", days_ago=2)
    world.copy_to(young, world.bit)
    plan = world.plan()
    reasons = {i.file.path.name: i.reason for i in plan.keep}
    assert "young.nd2" not in reasons and plan.delete == ()
    assert reasons["growing.nd2"] == "still being acquired"
    assert reasons["unsafe.nd2"].startswith("not safe: needs 1 verified copy on backed-up")
    result = world.apply(plan)
    assert result.deleted == () and len(result.kept) == 2
    assert unsafe.exists() and acquiring.exists() and young.exists()
    assert not world.audit.exists()


def test_missing_copy_keeps_the_file_and_is_forgotten(world: World) -> None:
    src = world.acquire("a.nd2", b"data")
    copy = world.copy_to(src, world.bit)
    plan = world.plan()
    copy.unlink()
    result = world.apply(plan)
    (kept,) = result.kept
    assert src.exists() and "'a.nd2' is missing" in kept.reason
    assert [f.path for f in world.catalog.unsafe_files("ann")] == [src]


def test_a_corrupted_copy_of_the_same_size_is_caught(world: World) -> None:
    src = world.acquire("a.nd2", b"A" * 4096)
    copy = world.copy_to(src, world.bit)
    copy.write_bytes(b"B" * 4096)  # same size, other bytes
    result = world.apply()
    assert src.exists() and "bytes differ from the source's" in result.kept[0].reason


def test_source_changed_since_copy_is_kept(world: World) -> None:
    src = world.acquire("a.nd2", b"old")
    world.copy_to(src, world.bit)
    plan = world.plan()
    src.write_bytes(b"new contents")
    result = world.apply(plan)
    assert src.exists() and result.kept[0].reason == "the file changed since it was copied"


def test_two_independent_copies_are_enough_and_a_lost_one_is_not(world: World) -> None:
    src = world.acquire("a.nd2", b"x" * 100)
    world.copy_to(src, world.ext)
    other = world.acquire("b.nd2", b"y" * 100)
    world.copy_to(other, world.ext)
    world.copy_to(src, world.lab)
    world.copy_to(other, world.lab).unlink()
    result = world.apply()
    assert not src.exists() and other.exists()
    assert "'b.nd2' is missing" in result.kept[0].reason


def test_disk_past_threshold_makes_young_safe_files_candidates(world: World) -> None:
    young = world.acquire("young.nd2", b"y" * 50, days_ago=1.2)
    world.copy_to(young, world.bit)
    unsafe = world.acquire("unsafe.nd2", b"u" * 100, days_ago=1.1)
    newest = world.acquire("newest.nd2", b"n" * 100, days_ago=1)
    world.copy_to(newest, world.bit)
    full = VolumeUsage(world.acq, True, total=1000, used=999, free=1)
    plan = world.plan((full,))
    assert {i.file.path.name: i.action for i in plan.items} == {
        "young.nd2": Action.DELETE,
        "unsafe.nd2": Action.KEEP,
        "newest.nd2": Action.DELETE,
    }  # oldest first until the disk is below the threshold: 50 + 100 bytes of safe files
    assert unsafe.exists()


def test_audit_log_that_cannot_be_written_stops_before_deleting(world: World) -> None:
    src = world.acquire("a.nd2", b"d")
    world.copy_to(src, world.bit)
    world.audit.parent.mkdir()
    world.audit.mkdir()  # a folder where the log file should be
    with pytest.raises(AlmcError) as info:
        world.apply()
    assert src.exists() and "audit log" in info.value.detail
    assert "Nothing more is deleted" in info.value.detail


def test_audit_log_is_never_opened_through_a_link(world: World, tmp_path: Path) -> None:
    src = world.acquire("a.nd2", b"d")
    world.copy_to(src, world.bit)
    target = tmp_path / "elsewhere"
    target.write_text("precious\n")
    world.audit.parent.mkdir()
    world.audit.symlink_to(target)
    with pytest.raises(AlmcError) as info:
        world.apply()
    assert src.exists() and target.read_text() == "precious\n"
    assert "Nothing more is deleted" in info.value.detail


def test_files_outside_the_acquisition_folders_are_never_candidates(world: World) -> None:
    usb = world.disk / "usb"
    usb.mkdir()
    src = usb / "from-stick.nd2"
    src.write_bytes(b"data on a USB stick")
    world.now = NOW - 90 * 86400
    world.copy_to(src, world.bit)  # copied through the app: catalogued, and safe
    rec = world.catalog.file(src)
    assert rec and rec.safe
    assert world.plan().items == ()
    assert src.exists()


def _export(world: World, young: str = "") -> tuple[Path, list[Path]]:
    """An Opera Phenix export in the acquisition folder, every file catalogued (the one
    named ``young`` written two days ago, the others 40)."""
    index = harmony_export(world.acq / "plate1")
    members = sorted(p for p in (world.acq / "plate1").rglob("*") if p.is_file())
    for m in members:
        world.acquire(str(m.relative_to(world.acq)), None, days_ago=2 if m.name == young else 40)
    return index, members


def _bit(world: World, m: Path) -> None:
    world.copy_to(m, world.bit, str(m.relative_to(world.acq)))


def test_part_of_a_dataset_is_kept_until_all_of_it_is_safe(world: World) -> None:
    index, members = _export(world)
    tiffs = [m for m in members if m.suffix == ".tiff"]
    for t in tiffs:
        _bit(world, t)
    plain = world.plan()
    assert {i.file.path for i in plain.delete} == set(tiffs)  # file by file, they are safe

    plan = keep_whole_datasets(plain, world.catalog, partial_datasets)

    assert plan.delete == () and len(plan.keep) == len(members) == 6
    why = {i.file.path: i.reason for i in plan.keep}
    for t in tiffs:
        assert why[t].startswith(
            f"part of the Opera Phenix / Harmony export 'Index.idx.xml' in {index.parent}, "
            "of which 2 other files (such as "
        )
        assert "are not safe" in why[t]
    assert why[index].startswith("not safe")
    result = world.apply(plan)
    assert result.deleted == () and all(m.exists() for m in members)
    assert {o.path: o.reason for o in result.kept} == why

    for m in members[:2]:  # the profile and the index get their copies too
        _bit(world, m)
    plan = keep_whole_datasets(world.plan(), world.catalog, partial_datasets)
    assert {i.file.path for i in plan.delete} == set(members)
    assert len(world.apply(plan).deleted) == 6 and not any(m.exists() for m in members)


def test_a_dataset_all_safe_may_go_in_parts(world: World) -> None:
    young = "r01c01f01p04-ch1sk1fk1fl1.tiff"
    _index, members = _export(world, young=young)
    for m in members:
        _bit(world, m)

    plan = keep_whole_datasets(world.plan(), world.catalog, partial_datasets)

    assert {i.file.path.name for i in plan.delete} == {m.name for m in members} - {young}
    assert plan.keep == ()


def test_an_older_plan_is_judged_on_todays_evidence(world: World) -> None:
    index, members = _export(world)
    for m in members:
        _bit(world, m)
    plan = keep_whole_datasets(world.plan(), world.catalog, partial_datasets)
    assert len(plan.delete) == 6
    # Since the plan was made, the index's copy was found missing.
    gone = world.bit / index.relative_to(world.acq)
    gone.unlink()
    world.catalog.forget_copy(gone)

    again = keep_whole_datasets(plan, world.catalog, partial_datasets)

    assert [i.file.path for i in again.delete] == [index]  # apply_cleanup re-checks it
    result = world.apply(again)
    assert result.deleted == () and all(m.exists() for m in members)
    kept = {o.path: o.reason for o in result.kept}
    assert kept[index].startswith("evidence does not hold") and "has 0 verified" in kept[index]
    others = [m for m in members if m != index]
    assert all("1 other file (such as Index.idx.xml) is not safe" in kept[m] for m in others)
