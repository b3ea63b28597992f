"""Places on a remote are named with ``/`` on every system; recorded local paths stay local
paths (``core.remotepaths``). Windows inputs are spelled out with ``PureWindowsPath``, so
the rules are checked on Linux too (the Windows lane runs them under Windows Python)."""

from __future__ import annotations

from pathlib import Path, PurePosixPath, PureWindowsPath

import pytest

from almc_assistant.core.copies import CopyRecord
from almc_assistant.core.policy import remote_device
from almc_assistant.core.remotepaths import is_remote, recorded_path, remote_path


def test_a_windows_source_lands_at_a_slashed_remote_path() -> None:
    source = PureWindowsPath("D:\\data\\exp1\\a.nd2")
    relpath = source.relative_to(PureWindowsPath("D:\\data")).as_posix()  # as layout does
    place = remote_path("research:lab/me", relpath)
    assert isinstance(place, PurePosixPath)
    assert str(place) == "research:lab/me/exp1/a.nd2"
    assert str(remote_path("research:lab/me")) == "research:lab/me"
    assert str(place.with_name("a (almc copy 2).nd2")) == "research:lab/me/exp1/a (almc copy 2).nd2"


@pytest.mark.parametrize(
    "text",
    ["research:lab/me/exp1/a.nd2", "s3:bucket/a.nd2", "my drive:a b/c.nd2", "research:"],
)
def test_a_recorded_remote_place_reads_back_as_written(text: str) -> None:
    place = recorded_path(text)
    assert isinstance(place, PurePosixPath) and str(place) == text
    assert is_remote(text) and remote_device(text) is not None


@pytest.mark.parametrize(
    "text",
    [
        str(PureWindowsPath("C:/data/a.nd2")),
        str(PureWindowsPath("//server/share/a.nd2")),
        "C:/data/a.nd2",
        "/bit/lab/a.nd2",
    ],
)
def test_a_recorded_local_path_stays_a_local_path(text: str) -> None:
    assert not is_remote(text)
    assert type(recorded_path(text)) is type(Path(text))


def test_a_remote_copy_record_keeps_its_slashes_through_a_receipt_row() -> None:
    root = remote_path("research:lab/me")
    copy = CopyRecord(
        source=Path("a.nd2"),
        destination_root=root,
        path=remote_path("research:lab/me", "exp1/a.nd2"),
        size=1,
        mtime_ns=0,
        blake3="0" * 64,
        verified_at=0.0,
    )
    row = copy.receipt_row()
    assert (row["destination"], row["relative_path"]) == (
        "research:lab/me/exp1/a.nd2",
        "exp1/a.nd2",
    )
    again = CopyRecord.from_receipt_row(row, root)
    assert str(again.path) == "research:lab/me/exp1/a.nd2" and again.relpath == "exp1/a.nd2"
