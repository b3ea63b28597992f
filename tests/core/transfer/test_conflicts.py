"""An existing file at the destination is never overwritten: keep both, skip, or fail;
an identical one is adopted only after it is read back and matched; a file appearing at
the final name during the copy is left alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from almc_assistant.core.transfer import CopyFailed, CopySkipped, CopyVerified, OnConflict
from almc_assistant.core.transfer.hooks import CopyHooks
from almc_assistant.core.transfer.publish import publish
from tests.core.transfer.conftest import copy, partials, write
from tests.portable import WINDOWS


def setup(tmp_path: Path, existing: bytes) -> tuple[Path, Path]:
    src = write(tmp_path / "src" / "run1" / "img.tif", b"new acquisition" * 100)
    dest = tmp_path / "dest"
    write(dest / "run1" / "img.tif", existing)
    return src.parent, dest


def test_keep_both_gives_the_new_copy_a_clear_name(tmp_path: Path) -> None:
    run, dest = setup(tmp_path, b"someone else's file")
    result, sink = copy([run], [dest])
    assert result.summary.ok
    assert (dest / "run1/img.tif").read_bytes() == b"someone else's file"
    assert (dest / "run1/img (almc copy 2).tif").read_bytes() == b"new acquisition" * 100
    (v,) = [e.copy for e in sink.of_type(CopyVerified)]
    assert v.path == dest / "run1/img (almc copy 2).tif"
    # and a rerun recognises that copy instead of making a third one
    again, _sink2 = copy([run], [dest])
    assert again.summary.verified == 0 and again.summary.skipped == 1
    assert not (dest / "run1/img (almc copy 3).tif").exists()


def test_skip_leaves_the_existing_file_and_says_so(tmp_path: Path) -> None:
    run, dest = setup(tmp_path, b"other")
    _result, sink = copy([run], [dest], on_conflict=OnConflict.SKIP)
    (s,) = sink.of_type(CopySkipped)
    assert "different file already exists" in s.reason and str(dest / "run1/img.tif") in s.reason
    assert (dest / "run1/img.tif").read_bytes() == b"other"
    assert not (dest / "run1/img (almc copy 2).tif").exists()


def test_fail_reports_the_file_and_overwrites_nothing(tmp_path: Path) -> None:
    run, dest = setup(tmp_path, b"other")
    result, sink = copy([run], [dest], on_conflict=OnConflict.FAIL)
    assert not result.summary.ok
    (f,) = sink.of_type(CopyFailed)
    assert str(dest / "run1/img.tif") in f.detail and str(run / "img.tif") in f.detail
    assert "--on-conflict keep-both" in f.next_step
    assert (dest / "run1/img.tif").read_bytes() == b"other"


def test_identical_file_is_adopted_after_reading_it_back(tmp_path: Path) -> None:
    run, dest = setup(tmp_path, b"new acquisition" * 100)  # same bytes, copied by hand
    inode = (dest / "run1/img.tif").stat().st_ino
    result, sink = copy([run], [dest])
    assert result.summary.ok
    (v,) = [e.copy for e in sink.of_type(CopyVerified)]
    assert v.adopted and v.path == dest / "run1/img.tif"
    assert (dest / "run1/img.tif").stat().st_ino == inode  # not rewritten
    assert (dest / "run1/img.tif").stat().st_mtime_ns == (run / "img.tif").stat().st_mtime_ns
    assert not (dest / "run1/img (almc copy 2).tif").exists()
    assert partials(dest) == []


def test_same_size_different_bytes_is_not_adopted(tmp_path: Path) -> None:
    run, dest = setup(tmp_path, b"X" * 1500)  # same size as the source, other bytes
    result, sink = copy([run], [dest])
    assert result.summary.ok
    assert (dest / "run1/img.tif").read_bytes() == b"X" * 1500
    assert (dest / "run1/img (almc copy 2).tif").read_bytes() == b"new acquisition" * 100
    (v,) = [e.copy for e in sink.of_type(CopyVerified)]
    assert not v.adopted


@pytest.mark.parametrize("grouped", [True, False])
def test_file_appearing_at_the_final_name_during_the_copy_is_not_overwritten(
    tmp_path: Path, grouped: bool
) -> None:
    """Someone saves a file at the final name after it was found free: it stays as is,
    and the copy is kept beside it (never a failure: two jobs may race for one name)."""
    src = write(tmp_path / "src" / "run1" / "img.tif", b"new acquisition" * 100)
    dest = tmp_path / "dest"

    def intruder(partial: Path, start: int, end: int) -> None:  # before the rename
        final = dest / "run1" / "img.tif"
        if not final.exists():
            final.write_bytes(b"saved meanwhile")

    result, sink = copy(
        [src.parent], [dest], hooks=CopyHooks(after_flush=intruder), group_small_files=grouped
    )
    assert result.summary.ok and not sink.of_type(CopyFailed)
    assert (dest / "run1/img.tif").read_bytes() == b"saved meanwhile"
    assert (dest / "run1/img (almc copy 2).tif").read_bytes() == b"new acquisition" * 100
    assert partials(dest) == []


@pytest.mark.parametrize("grouped", [True, False])
def test_identical_file_appearing_at_the_final_name_is_adopted_after_a_read(
    tmp_path: Path, grouped: bool
) -> None:
    """Another job copies the same file to the same place first: ours settles with it."""
    data = b"same acquisition" * 100
    src = write(tmp_path / "src" / "run1" / "img.tif", data)
    dest = tmp_path / "dest"

    def other_job(partial: Path, start: int, end: int) -> None:  # before the rename
        final = dest / "run1" / "img.tif"
        if not final.exists():
            final.write_bytes(data)

    result, sink = copy(
        [src.parent], [dest], hooks=CopyHooks(after_flush=other_job), group_small_files=grouped
    )
    assert result.summary.ok
    (v,) = [e.copy for e in sink.of_type(CopyVerified)]
    assert v.adopted and v.path == dest / "run1/img.tif"
    assert sorted(p.name for p in (dest / "run1").iterdir()) == ["img.tif"]


def test_publish_refuses_an_existing_name_and_renames_to_a_free_one(tmp_path: Path) -> None:
    a, b, taken = tmp_path / "a", tmp_path / "b", tmp_path / "taken"
    a.write_bytes(b"A")
    taken.write_bytes(b"T")
    assert publish(a, taken) is False
    assert taken.read_bytes() == b"T" and a.read_bytes() == b"A"
    assert publish(a, b) is True
    assert b.read_bytes() == b"A" and not a.exists()
    if WINDOWS:
        return  # symbolic links need a privilege there (Wine makes none)
    (tmp_path / "link").symlink_to(tmp_path / "nowhere")  # a dangling link counts as taken
    assert publish(b, tmp_path / "link") is False and b.exists()
