"""Issue 9: "unchanged" means size, mtime, ctime and identity; a copy onto itself is refused."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from almc_assistant.core.errors import UsageError
from almc_assistant.core.events import ListSink
from almc_assistant.core.identity import FileIdentity
from almc_assistant.core.transfer import CopyFailed, CopyHooks, CopyVerified, JobResult
from almc_assistant.core.transfer.scan import FileTask
from tests.core.transfer.conftest import copy, partials, write


def assert_refused(outcome: tuple[JobResult, ListSink], words: str) -> None:
    result, sink = outcome
    assert isinstance(result.error, UsageError) and words in result.error.detail
    assert result.summary.state == "refused" and not sink.of_type(CopyVerified)


def _aged(path: Path) -> None:
    """Let the kernel's coarse ctime clock move past the file's last change (one tick is a
    few milliseconds): the torn edit below must not share a tick with the file's creation."""
    ctime = FileIdentity.of_path(path).ctime_ns
    while time.time_ns() < ctime + 50_000_000:
        time.sleep(0.01)


@pytest.mark.parametrize("grouped", [True, False])
def test_torn_copy_with_mtime_restored_is_never_called_verified(
    tmp_path: Path, grouped: bool
) -> None:
    """A writer thread edits the source mid-copy (same size) and restores the mtime."""
    size = 3 << 20 if grouped else 12 << 20
    src = write(tmp_path / "src" / "run1" / "img.tif", b"a" * size)
    _aged(src)
    st = src.stat()
    edited = threading.Event()

    def writer() -> None:
        with open(src, "r+b") as f:
            f.seek(size - 4096)
            f.write(b"B" * 4096)
        os.utime(src, ns=(st.st_atime_ns, st.st_mtime_ns))
        edited.set()

    def mid_copy(task: FileTask, total: int) -> None:
        if not edited.is_set():
            t = threading.Thread(target=writer)
            t.start()
            t.join()

    result, sink = copy(
        [src.parent],
        [tmp_path / "dest"],
        hooks=CopyHooks(on_chunk=mid_copy),
        chunk_size=4 << 20,
        window=4 << 20,
        group_small_files=grouped,
    )
    assert edited.is_set() and src.stat().st_mtime_ns == st.st_mtime_ns
    assert not result.summary.ok and not sink.of_type(CopyVerified)
    (f,) = sink.of_type(CopyFailed)
    assert "changed while it was being copied" in f.detail
    assert "modification time was kept" in f.detail
    assert not (tmp_path / "dest/run1/img.tif").exists() and partials(tmp_path / "dest") == []


@pytest.mark.parametrize("grouped", [True, False])
def test_source_replaced_by_another_file_after_listing_is_refused(
    tmp_path: Path, grouped: bool
) -> None:
    src = write(tmp_path / "src" / "run1" / "img.tif", b"x" * 1000)
    st = src.stat()

    def swap(task: FileTask) -> None:
        other = src.with_name("other")
        other.write_bytes(b"y" * 1000)
        os.utime(other, ns=(st.st_atime_ns, st.st_mtime_ns))
        other.replace(src)

    _, sink = copy(
        [src.parent],
        [tmp_path / "dest"],
        hooks=CopyHooks(before_file=swap),
        group_small_files=grouped,
    )
    assert not sink.of_type(CopyVerified)
    (f,) = sink.of_type(CopyFailed)
    assert "replaced by another file" in f.detail


def test_copy_of_a_folder_into_its_own_parent_is_refused(tmp_path: Path) -> None:
    """``copy acq/run3 --to acq``: the target acq/run3 is the source itself."""
    run = write(tmp_path / "acq" / "run3" / "img.tif", b"data").parent
    assert_refused(copy([run], [tmp_path / "acq"]), "onto itself")
    assert sorted(p.name for p in (tmp_path / "acq").iterdir()) == ["run3"]


def test_copy_of_a_file_onto_itself_is_refused(tmp_path: Path) -> None:
    f = write(tmp_path / "acq" / "img.tif", b"data")
    assert_refused(copy([f], [tmp_path / "acq"]), "onto itself")


def test_destination_that_is_a_symlinked_alias_of_the_source_is_refused(tmp_path: Path) -> None:
    run = write(tmp_path / "acq" / "run3" / "img.tif", b"data").parent
    (tmp_path / "alias").symlink_to(run)
    assert_refused(copy([run], [tmp_path / "alias"]), "lies inside it")
    (tmp_path / "alias-of-acq").symlink_to(tmp_path / "acq")
    assert_refused(copy([run], [tmp_path / "alias-of-acq"]), "onto itself")
    assert sorted(p.name for p in run.iterdir()) == ["img.tif"]


def test_destination_inside_the_source_tree_is_refused(tmp_path: Path) -> None:
    run = write(tmp_path / "acq" / "run3" / "img.tif", b"data").parent
    assert_refused(copy([run], [run / "backup"]), "lies inside it")
    assert not (run / "backup").exists()


def test_final_target_that_is_the_source_itself_is_refused_per_file(tmp_path: Path) -> None:
    """A hard link of the source at the target name: other path, same file (device and
    inode). Adopting it would read the source and call it a copy."""
    run = write(tmp_path / "acq" / "run3" / "img.tif", b"data").parent
    (tmp_path / "backup" / "run3").mkdir(parents=True)
    os.link(run / "img.tif", tmp_path / "backup" / "run3" / "img.tif")
    result, sink = copy([run], [tmp_path / "backup"])
    assert not result.summary.ok and not sink.of_type(CopyVerified)
    (f,) = sink.of_type(CopyFailed)
    assert "onto itself" in f.title and "Nothing was written" in f.detail
    assert sorted(p.name for p in (tmp_path / "backup" / "run3").iterdir()) == ["img.tif"]


@pytest.mark.parametrize("grouped", [True, False])
def test_a_link_at_the_target_name_is_never_adopted(tmp_path: Path, grouped: bool) -> None:
    """A copy replaced by a link to the source: a rerun must not call it verified."""
    run = write(tmp_path / "acq" / "run3" / "img.tif", b"data" * 100).parent
    dest = tmp_path / "backup"
    (dest / "run3").mkdir(parents=True)
    (dest / "run3" / "img.tif").symlink_to(run / "img.tif")
    result, sink = copy([run], [dest], group_small_files=grouped)
    assert result.summary.ok
    (v,) = [e.copy for e in sink.of_type(CopyVerified)]
    assert v.path == dest / "run3" / "img (almc copy 2).tif" and not v.adopted
    assert (dest / "run3" / "img.tif").is_symlink()
