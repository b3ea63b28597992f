"""Faults on real mounts (root only): a full destination before and during a copy, a
destination that turns read-only or disappears (removed, lazily unmounted) mid-copy.

Each checks the clear message names the file, nothing is lost (sources intact, verified
copies stay verified), and no final name holds bad bytes (no partial left either).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from almc_assistant.core.transfer import (
    CopyFailed,
    CopyHooks,
    CopyVerified,
    DestinationRefused,
)
from almc_assistant.core.transfer.scan import FileTask
from tests.core.transfer.conftest import copy, digest, partials, tree_files, write
from tests.portable import WINDOWS

pytestmark = pytest.mark.root

Mount = Callable[..., Path]


def three_files(root: Path, size: int) -> Path:
    run = root / "run1"
    for name in ("a.tif", "b.tif", "c.tif"):
        write(run / name, os.urandom(size))
    return run


def assert_only_verified_finals(dest: Path, run: Path) -> None:
    """Every file at the destination is byte-identical to its source; no partials."""
    assert partials(dest) == []
    assert_finals_match(dest, run)


def assert_finals_match(dest: Path, run: Path) -> None:
    for rel, data in tree_files(dest).items():
        assert data == (run.parent / rel).read_bytes(), rel


def test_full_destination_is_refused_before_copying(tmp_path: Path, tmpfs: Mount) -> None:
    small = tmpfs("1m")
    run = three_files(tmp_path / "src", 600_000)
    result, sink = copy([run], [small])
    assert result.error is not None
    assert "not enough free space" in result.error.detail and str(small) in result.error.detail
    assert "1.8 MB" in result.error.detail  # what it needs (3 x 600 kB), in decimal units
    (refused,) = sink.of_type(DestinationRefused)
    assert refused.destination_root == small
    assert list(small.iterdir()) == []  # not a byte written


def test_full_destination_is_refused_while_the_other_one_gets_the_files(
    tmp_path: Path, tmpfs: Mount
) -> None:
    small = tmpfs("1m")
    run = three_files(tmp_path / "src", 600_000)
    result, sink = copy([run], [small, tmp_path / "big"])
    assert result.error is None and result.summary.state == "completed with problems"
    assert len(sink.of_type(CopyVerified)) == 3
    assert set(tree_files(tmp_path / "big")) == {"run1/a.tif", "run1/b.tif", "run1/c.tif"}
    assert list(small.iterdir()) == []


@pytest.mark.parametrize("chunk", [4 << 20, 64 << 10], ids=["grouped", "streamed"])
def test_destination_filling_up_during_the_copy(tmp_path: Path, tmpfs: Mount, chunk: int) -> None:
    dest = tmpfs("4m")
    run = three_files(tmp_path / "src", 1_000_000)
    before = {p.name: digest(p) for p in run.iterdir()}

    def someone_fills_the_disk(task: FileTask) -> None:
        if task.source.name == "b.tif" and not (dest / "filler").exists():
            with open(dest / "filler", "wb") as f:  # another program writes 2.5 MB
                f.write(b"\0" * 2_500_000)

    result, sink = copy(
        [run],
        [dest],
        workers=1,
        chunk_size=chunk,
        hooks=CopyHooks(before_file=someone_fills_the_disk),
    )
    assert result.summary.state == "completed with problems"
    failed = sink.of_type(CopyFailed)
    assert {e.source.name for e in failed} == {"b.tif", "c.tif"}
    first = next(e for e in failed if e.source.name == "b.tif")
    assert "the disk is full" in first.detail and str(run / "b.tif") in first.detail
    assert "Free space" in first.next_step and not first.retryable
    later = next(e for e in failed if e.source.name == "c.tif")
    assert str(run / "c.tif") in later.detail and "disk is full" in later.detail
    assert [e.copy.source.name for e in sink.of_type(CopyVerified)] == ["a.tif"]
    (dest / "filler").unlink()
    assert_only_verified_finals(dest, run)
    assert {p.name: digest(p) for p in run.iterdir()} == before
    # the verified copy is in the manifest; a rerun with room finishes the job
    again, _ = copy([run], [dest])
    assert again.summary.ok and again.summary.verified == 2 and again.summary.skipped == 1


@pytest.mark.parametrize("group_files", [1, 64])
def test_destination_turning_read_only_mid_copy(
    tmp_path: Path, tmpfs: Mount, group_files: int
) -> None:
    dest = tmpfs("8m")
    run = three_files(tmp_path / "src", 200_000)

    def remount_ro(task: FileTask) -> None:
        # between files: the kernel refuses a read-only remount while a file is open
        if task.source.name == "b.tif":
            subprocess.run(["mount", "-o", "remount,ro", str(dest)], check=True)

    result, sink = copy(
        [run], [dest], workers=1, group_files=group_files, hooks=CopyHooks(before_file=remount_ro)
    )
    subprocess.run(["mount", "-o", "remount,rw", str(dest)], check=True)
    failed = {e.source.name: e for e in sink.of_type(CopyFailed)}
    # one by one, a.tif was finished before; in a group, it was not renamed yet either
    assert set(failed) == ({"b.tif", "c.tif"} if group_files == 1 else {"a.tif", "b.tif", "c.tif"})
    assert "read-only" in failed["b.tif"].detail and str(run / "b.tif") in failed["b.tif"].detail
    assert "write-protected" in failed["b.tif"].next_step
    assert result.summary.verified == (1 if group_files == 1 else 0)
    assert_finals_match(dest, run)
    # a partial written before the remount cannot be removed from a read-only drive...
    assert len(partials(dest)) == (0 if group_files == 1 else 1)
    assert all(not (dest / "run1" / n).exists() for n in failed)
    # ...the next run (here: the same process, as in the service) removes it and finishes
    again, _ = copy([run], [dest])
    assert again.summary.ok
    assert_only_verified_finals(dest, run)


@pytest.mark.skipif(
    WINDOWS,
    reason="Windows cannot delete a folder holding open files",
)
def test_destination_removed_mid_copy_is_not_recreated(tmp_path: Path) -> None:
    run = three_files(tmp_path / "src", 300_000)
    dest = tmp_path / "dest"
    dest.mkdir()

    def pull_the_drive(task: FileTask, total: int) -> None:
        if dest.exists():
            shutil.rmtree(dest)

    result, sink = copy(
        [run], [dest], workers=1, chunk_size=64 * 1024, hooks=CopyHooks(on_chunk=pull_the_drive)
    )
    failed = sink.of_type(CopyFailed)
    assert len(failed) == 3
    assert "no longer available" in failed[0].detail and str(run / "a.tif") in failed[0].detail
    assert "Reconnect" in failed[0].next_step
    assert not dest.exists()  # never recreated on the wrong disk
    assert result.summary.verified == 0


def test_destination_unmounted_mid_copy_writes_nothing_to_the_mount_point(
    tmp_path: Path, tmpfs: Mount
) -> None:
    dest = tmpfs("8m")
    run = three_files(tmp_path / "src", 300_000)
    unmounted: list[bool] = []

    def unplug(task: FileTask, total: int) -> None:
        if not unmounted:
            subprocess.run(["umount", "-l", str(dest)], check=True)
            unmounted.append(True)

    result, sink = copy(
        [run], [dest], workers=1, chunk_size=64 * 1024, hooks=CopyHooks(on_chunk=unplug)
    )
    failed = sink.of_type(CopyFailed)
    assert {e.source.name for e in failed} == {"a.tif", "b.tif", "c.tif"}
    assert all("no longer available" in e.detail for e in failed)
    assert list(dest.iterdir()) == []  # the empty mount-point folder stayed empty
    assert result.summary.verified == 0
