"""Faults that need no privileges: corruption between write and read-back, a source that
changes while copied, links and FIFOs in the source, names and sizes FAT32 cannot hold.

Each test checks the clear message names the file, that nothing is lost, and that no
final name holds bad bytes (and no partial is left behind).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from almc_assistant.core import fslimits
from almc_assistant.core.transfer import (
    CopyFailed,
    CopyHooks,
    CopyRetried,
    CopyVerified,
    SourceSkipped,
)
from almc_assistant.core.transfer.scan import FileTask
from tests.core.transfer.conftest import copy, partials, tree_files, write
from tests.portable import WINDOWS


def flip_byte_on_disk(path: Path, offset: int) -> None:
    with open(path, "r+b") as f:
        f.seek(offset)
        b = f.read(1)
        f.seek(offset)
        f.write(bytes([b[0] ^ 0xFF]))
        f.flush()
        os.fsync(f.fileno())


@pytest.mark.parametrize("grouped", [True, False])
def test_corruption_between_write_and_read_back_is_caught_and_retried(
    tmp_path: Path, grouped: bool
) -> None:
    data = os.urandom(200_000)
    src = write(tmp_path / "src" / "img.tif", data)
    corrupted: list[Path] = []

    def after_flush(partial: Path, start: int, end: int) -> None:
        if not corrupted:  # only the first attempt is damaged
            flip_byte_on_disk(partial, (start + end) // 2)
            corrupted.append(partial)

    result, sink = copy(
        [src],
        [tmp_path / "dest"],
        group_small_files=grouped,
        hooks=CopyHooks(after_flush=after_flush),
    )
    assert corrupted
    (retry,) = sink.of_type(CopyRetried)
    assert retry.attempt == 2 and str(src) in retry.detail and "does not match" in retry.detail
    assert result.summary.ok
    assert (tmp_path / "dest" / "img.tif").read_bytes() == data
    assert not corrupted[0].exists() and partials(tmp_path / "dest") == []


def test_persistent_corruption_is_reported_and_no_final_name_is_created(tmp_path: Path) -> None:
    data = os.urandom(100_000)
    src = write(tmp_path / "src" / "img.tif", data)
    result, sink = copy(
        [src],
        [tmp_path / "dest"],
        hooks=CopyHooks(after_flush=lambda p, s, e: flip_byte_on_disk(p, s)),
    )
    assert not result.summary.ok
    assert len(sink.of_type(CopyRetried)) == 2  # tried three times in all
    (failed,) = sink.of_type(CopyFailed)
    assert failed.title == "Copy did not match"
    assert str(src) in failed.detail and "no final file was created" in failed.detail
    assert not (tmp_path / "dest" / "img.tif").exists()
    assert partials(tmp_path / "dest") == []
    assert src.read_bytes() == data


def test_corruption_on_one_destination_does_not_affect_the_other(tmp_path: Path) -> None:
    src = write(tmp_path / "src" / "img.tif", os.urandom(50_000))
    bad = tmp_path / "bad"

    def after_flush(partial: Path, start: int, end: int) -> None:
        if partial.is_relative_to(bad):
            flip_byte_on_disk(partial, start)

    result, sink = copy([src], [tmp_path / "good", bad], hooks=CopyHooks(after_flush=after_flush))
    assert result.summary.state == "completed with problems"
    assert [e.copy.destination_root for e in sink.of_type(CopyVerified)] == [tmp_path / "good"]
    assert [e.destination_root for e in sink.of_type(CopyFailed)] == [bad]
    assert (tmp_path / "good" / "img.tif").read_bytes() == src.read_bytes()
    assert not (bad / "img.tif").exists()


def test_source_growing_while_copied_is_detected(tmp_path: Path) -> None:
    data = os.urandom(1024 * 1024)
    src = write(tmp_path / "src" / "acq.nd2", data)
    appended = threading.Event()

    def writer() -> None:  # the microscope is still writing
        with open(src, "ab") as f:
            f.write(b"more frames" * 1000)
        appended.set()

    def on_chunk(task: FileTask, total: int) -> None:
        if not appended.is_set():
            threading.Thread(target=writer).start()
            appended.wait(10)

    result, sink = copy(
        [src], [tmp_path / "dest"], chunk_size=64 * 1024, hooks=CopyHooks(on_chunk=on_chunk)
    )
    assert not result.summary.ok
    (failed,) = sink.of_type(CopyFailed)
    assert failed.title == "File changed while it was copied"
    assert str(src) in failed.detail and "Wait until" in failed.next_step
    assert not (tmp_path / "dest" / "acq.nd2").exists()
    assert partials(tmp_path / "dest") == []
    assert src.read_bytes() == data + b"more frames" * 1000  # the source is untouched by us


def test_source_rewritten_in_place_while_copied_is_detected(tmp_path: Path) -> None:
    src = write(tmp_path / "src" / "acq.nd2", os.urandom(512 * 1024))
    done = threading.Event()

    def rewrite() -> None:  # same size, new bytes where we already read
        with open(src, "r+b") as f:
            f.write(b"NEW")
        os.utime(src, ns=(1, 1_800_000_000_000_000_000))
        done.set()

    def on_chunk(task: FileTask, total: int) -> None:
        if not done.is_set():
            t = threading.Thread(target=rewrite)
            t.start()
            t.join()

    result, sink = copy(
        [src], [tmp_path / "dest"], chunk_size=64 * 1024, hooks=CopyHooks(on_chunk=on_chunk)
    )
    assert result.summary.failed == 1
    (failed,) = sink.of_type(CopyFailed)
    assert "changed while it was being copied" in failed.detail and str(src) in failed.detail
    assert tree_files(tmp_path / "dest") == {}


@pytest.mark.skipif(WINDOWS, reason="symbolic links need a privilege on Windows (Wine makes none)")
def test_symlinks_are_not_followed_out_of_the_tree(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    write(outside / "secret.txt", b"not yours")
    run = tmp_path / "src" / "run1"
    write(run / "a.tif", b"a")
    (run / "to_file").symlink_to(outside / "secret.txt")
    (run / "to_dir").symlink_to(outside)
    (run / "dangling").symlink_to(tmp_path / "nowhere")
    result, sink = copy([run], [tmp_path / "dest"])
    skipped = {e.source.name: e.reason for e in sink.of_type(SourceSkipped)}
    assert set(skipped) == {"to_file", "to_dir", "dangling"}
    assert all("symbolic link" in r for r in skipped.values())
    assert tree_files(tmp_path / "dest") == {"run1/a.tif": b"a"}
    assert result.summary.state == "completed with problems"


@pytest.mark.timeout(60)
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this OS")
def test_fifo_in_the_source_is_reported_and_never_opened(tmp_path: Path) -> None:
    run = tmp_path / "src" / "run1"
    write(run / "a.tif", b"a")
    os.mkfifo(run / "pipe")  # opening it for reading would block forever
    result, sink = copy([run], [tmp_path / "dest"])
    (skipped,) = sink.of_type(SourceSkipped)
    assert skipped.source == run / "pipe" and "FIFO" in skipped.reason
    assert tree_files(tmp_path / "dest") == {"run1/a.tif": b"a"}
    assert not result.summary.ok


@pytest.mark.skipif(WINDOWS, reason="a source named CON.tif cannot exist on Windows")
def test_fat32_names_sizes_and_case_collisions_are_refused_in_preflight(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The kernel here cannot mount vfat, so the detection is pointed at FAT32; every
    # decision below is the real preflight's.
    monkeypatch.setattr(
        "almc_assistant.core.transfer.destination.detect_filesystem",
        lambda path: fslimits.filesystem_for_type("vfat"),
    )
    run = tmp_path / "src" / "run1"
    write(run / "ok.tif", b"fine")
    write(run / "CON.tif", b"x")
    write(run / "a:b.tif", b"x")
    write(run / "Case.tif", b"x")
    write(run / "case.tif", b"y")
    big = run / "big.nd2"
    with open(big, "wb") as f:  # sparse: 4 GiB, one byte more than FAT32 holds
        f.truncate(fslimits.FAT32_MAX_FILE + 1)
    read: list[Path] = []
    result, sink = copy(
        [run], [tmp_path / "dest"], hooks=CopyHooks(on_chunk=lambda t, n: read.append(t.source))
    )
    assert result.summary.failed == 4 and result.summary.verified == 2
    failed = {e.source.name: e for e in sink.of_type(CopyFailed)}
    assert set(failed) == {"CON.tif", "a:b.tif", "case.tif", "big.nd2"}
    assert "reserved name" in failed["CON.tif"].detail
    assert "':'" in failed["a:b.tif"].detail
    assert "upper/lower case" in failed["case.tif"].detail
    assert "4 GiB" in failed["big.nd2"].detail
    for e in failed.values():
        assert str(e.source) in e.detail and "FAT32" in e.title
    assert big not in read  # refused before a byte was read
    assert set(tree_files(tmp_path / "dest")) == {"run1/ok.tif", "run1/Case.tif"}


def test_onedrive_folder_limits_are_applied_in_preflight(tmp_path: Path) -> None:
    # a real OneDrive folder is recognised by its name; its limits come on top of ext4's
    run = tmp_path / "src" / "run1"
    deep = run.joinpath(*["a_rather_long_folder_name_for_a_plate"] * 12)
    write(deep / "img.tif", b"deep")
    write(run / "desktop.ini", b"x")
    write(run / "fine.tif", b"fine")
    dest = tmp_path / "OneDrive - University" / "backup"
    dest.mkdir(parents=True)
    result, sink = copy([run], [dest])
    failed = {e.source.name: e for e in sink.of_type(CopyFailed)}
    assert set(failed) == {"img.tif", "desktop.ini"}
    assert "more than the 400" in failed["img.tif"].detail
    assert "OneDrive refuses" in failed["desktop.ini"].detail
    assert "OneDrive" in failed["img.tif"].title
    assert tree_files(dest) == {"run1/fine.tif": b"fine"}
    assert not result.summary.ok
