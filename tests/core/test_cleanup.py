"""Cleanup deletes only safe files, re-checking real copies right before deleting."""

from __future__ import annotations

import json
import os
import random
from collections.abc import Iterator
from pathlib import Path

import blake3
import pytest

from almc_assistant.core.catalog import Catalog, CopyRecord, FileState
from almc_assistant.core.cleanup import (
    Action,
    apply_cleanup,
    blake3_of,
    keep_whole_datasets,
    plan_cleanup,
)
from almc_assistant.core.config import CleanupSettings, PolicySettings, RetentionSettings
from almc_assistant.core.destinations import Destination, DestinationKind
from almc_assistant.core.errors import AlmcError
from almc_assistant.core.inspect import partial_datasets
from almc_assistant.core.policy import DAY, Policy, Retention
from almc_assistant.core.status import VolumeUsage
from tests.core.inspect.test_datasets import harmony_export

NOW = 1_800_000_000.0


class World:
    """An acquisition folder, a backed-up destination and a catalog, all real."""

    def __init__(self, tmp: Path) -> None:
        self.acq = tmp / "acq"
        self.bit = tmp / "bit"
        self.ext = tmp / "ext"
        for d in (self.acq, self.bit, self.ext):
            d.mkdir()
        self.policy = Policy(
            PolicySettings(),
            [
                Destination("BIT", self.bit, DestinationKind.INSTITUTIONAL),
                Destination("USB", self.ext, DestinationKind.EXTERNAL_DRIVE),
            ],
        )
        self.retention = Retention(RetentionSettings(max_age_days=30, disk_full_percent=90))
        self.now = NOW - 40 * DAY
        self.catalog = Catalog(
            tmp / "c.sqlite3",
            safety=self.policy.is_safe,
            safety_key=self.policy.key,
            clock=lambda: self.now,
        )
        self.audit = tmp / "log" / "audit.log"

    def acquire(self, name: str, data: bytes | None, *, days_ago: float = 40) -> Path:
        """Record a file of the acquisition folder (written here unless ``data`` is None)."""
        path = self.acq / name
        if data is not None:
            path.write_bytes(data)
        when = NOW - days_ago * DAY
        os.utime(path, (when, when))
        self.now = when
        st = path.stat()
        self.catalog.record_seen(
            path,
            size=st.st_size,
            mtime_ns=st.st_mtime_ns,
            owner="ann",
            state=FileState.COMPLETE,
            root=self.acq,
        )
        return path

    def copy_to(self, src: Path, root: Path) -> Path:
        dest = root / src.name
        dest.write_bytes(src.read_bytes())
        st = src.stat()
        self.catalog.record_copy(
            src,
            CopyRecord(
                root,
                dest,
                st.st_size,
                st.st_mtime_ns,
                blake3.blake3(src.read_bytes()).hexdigest(),
                NOW - DAY,
            ),
            owner="ann",
        )
        return dest

    def plan(self, volumes: tuple[VolumeUsage, ...] | None = None):  # type: ignore[no-untyped-def]
        if volumes is None:  # the acquisition folder, far from full
            volumes = (VolumeUsage(self.acq, True, total=10**12, used=10**9, free=10**12),)
        return plan_cleanup(
            self.catalog, policy=self.policy, retention=self.retention, volumes=volumes, now=NOW
        )

    def apply(self, plan, settings: CleanupSettings | None = None):  # type: ignore[no-untyped-def]
        return apply_cleanup(
            plan,
            self.catalog,
            policy=self.policy,
            settings=settings or CleanupSettings(),
            audit_log=self.audit,
            user="staff",
            rng=random.Random(1),
        )


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    w = World(tmp_path)
    yield w
    w.catalog.close()


def test_safe_old_file_is_deleted_and_audited(world: World) -> None:
    src = world.acquire("a.nd2", b"pixels" * 1000)
    world.copy_to(src, world.bit)
    plan = world.plan()
    assert [(i.file.path, i.action) for i in plan.items] == [(src, Action.DELETE)]
    result = world.apply(plan)
    assert not src.exists() and (world.bit / "a.nd2").exists()
    (outcome,) = result.deleted
    assert "size and BLAKE3" in outcome.reason and result.bytes_freed == 6000
    (line,) = world.audit.read_text().splitlines()
    entry = json.loads(line)
    assert entry["action"] == "delete" and entry["path"] == str(src)
    assert entry["by"] == "staff" and entry["owner"] == "ann" and entry["hash_rechecked"]
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
    assert src.exists() and "the copy is missing" in kept.reason
    assert [f.path for f in world.catalog.unsafe_files("ann")] == [src]


def test_corrupted_copy_is_caught_by_blake3(world: World) -> None:
    src = world.acquire("a.nd2", b"A" * 4096)
    copy = world.copy_to(src, world.bit)
    copy.write_bytes(b"B" * 4096)  # same size, other bytes
    result = world.apply(world.plan())
    assert src.exists() and "differ" in result.kept[0].reason


def test_size_only_sample_skips_the_hash_but_not_the_size(world: World) -> None:
    src = world.acquire("a.nd2", b"A" * 4096)
    copy = world.copy_to(src, world.bit)
    copy.write_bytes(b"B" * 4096)
    sample = CleanupSettings(verify_hash="sample", sample_fraction=0.001)
    result = world.apply(world.plan(), sample)  # this sample does not hash it: size matches
    assert not src.exists() and "(size)" in result.deleted[0].reason
    src2 = world.acquire("b.nd2", b"C" * 10)
    copy2 = world.copy_to(src2, world.bit)
    copy2.write_bytes(b"short")
    assert "bytes" in world.apply(world.plan(), sample).kept[0].reason and src2.exists()


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
    # A second independent destination that is not configured: counted as "other".
    extra = world.ext.parent / "lab"
    extra.mkdir()
    world.copy_to(src, extra)
    world.copy_to(other, extra).unlink()
    result = world.apply(world.plan())
    assert not src.exists() and other.exists()
    assert "the copy is missing" in result.kept[0].reason


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
        world.apply(world.plan())
    assert src.exists() and "audit log" in info.value.detail
    assert "Nothing more is deleted" in info.value.detail


def test_blake3_of_reads_the_file(tmp_path: Path) -> None:
    f = tmp_path / "x"
    f.write_bytes(b"hello")
    assert blake3_of(f) == blake3.blake3(b"hello").hexdigest()
    f.write_bytes(b"")
    assert blake3_of(f) == blake3.blake3(b"").hexdigest()


def test_files_outside_the_acquisition_folders_are_never_candidates(world: World) -> None:
    usb = world.acq.parent / "usb"
    usb.mkdir()
    src = usb / "from-stick.nd2"
    src.write_bytes(b"data on a USB stick")
    old = NOW - 90 * DAY
    os.utime(src, (old, old))
    world.now = old
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


def test_part_of_a_dataset_is_kept_until_all_of_it_is_safe(world: World) -> None:
    index, members = _export(world)
    tiffs = [m for m in members if m.suffix == ".tiff"]
    for t in tiffs:
        world.copy_to(t, world.bit)
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
        world.copy_to(m, world.bit)
    plan = keep_whole_datasets(world.plan(), world.catalog, partial_datasets)
    assert {i.file.path for i in plan.delete} == set(members)
    assert len(world.apply(plan).deleted) == 6 and not any(m.exists() for m in members)


def test_a_dataset_all_safe_may_go_in_parts(world: World) -> None:
    young = "r01c01f01p04-ch1sk1fk1fl1.tiff"
    _index, members = _export(world, young=young)
    for m in members:
        world.copy_to(m, world.bit)

    plan = keep_whole_datasets(world.plan(), world.catalog, partial_datasets)

    assert {i.file.path.name for i in plan.delete} == {m.name for m in members} - {young}
    assert plan.keep == ()


def test_an_older_plan_is_judged_on_todays_evidence(world: World) -> None:
    index, members = _export(world)
    for m in members:
        world.copy_to(m, world.bit)
    plan = keep_whole_datasets(world.plan(), world.catalog, partial_datasets)
    assert len(plan.delete) == 6
    # Since the plan was made, the index's copy was found missing.
    (world.bit / index.name).unlink()
    world.catalog.forget_copy(world.bit / index.name)

    again = keep_whole_datasets(plan, world.catalog, partial_datasets)

    assert [i.file.path for i in again.delete] == [index]  # apply_cleanup re-checks it
    result = world.apply(again)
    assert result.deleted == () and all(m.exists() for m in members)
    kept = {o.path: o.reason for o in result.kept}
    assert kept[index].startswith("evidence no longer holds") and "has 0 verified" in kept[index]
    others = [m for m in members if m != index]
    assert all("1 other file (such as Index.idx.xml) is not safe" in kept[m] for m in others)
