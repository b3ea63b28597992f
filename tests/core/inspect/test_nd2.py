"""ND2 checks on real NIS-Elements files (the shared corpus) and damaged copies of them.

The nd2 package cannot write ND2 files, so damage is made at test time from corpus files
inside tmp_path (skipped cleanly when the corpus is absent).
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from almc_assistant.core.inspect import Flag, Verdict, check_file
from tests.core.inspect.helpers import fingerprint

GOOD = ["cluster.nd2", "file02.nd2", "example-cerevisiae.nd2", "example-multichannel.nd2",
        "example-timelapse.nd2", "example-zstack.nd2"]  # fmt: skip


@pytest.fixture
def timelapse(corpus: Path, tmp_path: Path) -> Path:
    """A private copy of a 53-frame time-lapse ND2 to damage."""
    copy = tmp_path / "timelapse.nd2"
    shutil.copyfile(corpus / "files" / "example-timelapse.nd2", copy)
    return copy


@pytest.mark.parametrize("name", GOOD)
def test_real_nd2_is_native_ok_with_details(corpus: Path, name: str) -> None:
    path = corpus / "files" / name
    before = fingerprint(path)

    result = check_file(path)

    assert result.verdict == Verdict.NATIVE_OK, result.reasons
    assert result.format == "Nikon ND2"
    details = result.details
    assert details["nd2_version"] == "3.0"
    assert details["frames"] == details["frames_in_file"] >= 1
    assert details["dtype"] == "uint16"
    assert set(details["sizes"]) >= {"X", "Y"}
    acquired = dt.datetime.fromisoformat(details["acquisition_time"])
    assert (
        dt.datetime(2010, 1, 1, tzinfo=dt.UTC) < acquired < dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    )
    assert Flag.ND2_LOSSY not in result.flags
    assert fingerprint(path) == before


@pytest.mark.parametrize("keep", [4, 112, 4096, 0.5, -40, -1])
def test_truncated_nd2_is_damaged(timelapse: Path, keep: float) -> None:
    data = timelapse.read_bytes()
    end = int(len(data) * keep) if isinstance(keep, float) else keep % len(data)
    timelapse.write_bytes(data[:end])

    result = check_file(timelapse)

    assert result.verdict == Verdict.NATIVE_DAMAGED, result.reasons
    assert "still be being written" in result.reasons[0]
    assert "Do not delete" in result.next_step


def test_zeroed_header_is_still_recognised_as_a_damaged_nd2(timelapse: Path) -> None:
    data = bytearray(timelapse.read_bytes())
    data[:4096] = bytes(4096)
    timelapse.write_bytes(bytes(data))

    result = check_file(timelapse)

    assert result.verdict == Verdict.NATIVE_DAMAGED
    assert any("overwritten or zeroed" in r for r in result.reasons)


def test_zeroed_trailer_is_damaged(timelapse: Path) -> None:
    data = bytearray(timelapse.read_bytes())
    data[-40:] = bytes(40)
    timelapse.write_bytes(bytes(data))

    result = check_file(timelapse)

    assert result.verdict == Verdict.NATIVE_DAMAGED
    assert any("table of contents" in r for r in result.reasons)


def test_frame_missing_from_the_chunk_map_is_damaged(timelapse: Path) -> None:
    """The map lists 52 frames while the attributes declare 53: frames are missing."""
    data = timelapse.read_bytes()
    assert data.count(b"ImageDataSeq|52!") >= 1
    at = data.rindex(b"ImageDataSeq|52!")  # the chunk-map entry (the map is at the end)
    timelapse.write_bytes(data[:at] + b"ImageDataSeX|52!" + data[at + 16 :])

    result = check_file(timelapse)

    assert result.verdict == Verdict.NATIVE_DAMAGED
    assert any("Only 52 of its 53 frames" in r for r in result.reasons), result.reasons


def test_chunk_pointing_past_the_end_is_damaged(timelapse: Path) -> None:
    data = bytearray(timelapse.read_bytes())
    at = data.rindex(b"ImageDataSeq|7!") + len(b"ImageDataSeq|7!")
    data[at : at + 8] = (len(data) * 4).to_bytes(8, "little")
    timelapse.write_bytes(bytes(data))

    result = check_file(timelapse)

    assert result.verdict == Verdict.NATIVE_DAMAGED
    assert any("beyond the end" in r for r in result.reasons)


def test_garbage_appended_hides_the_trailer(timelapse: Path) -> None:
    with timelapse.open("ab") as fh:
        fh.write(b"\x00" * 1000)

    assert check_file(timelapse).verdict == Verdict.NATIVE_DAMAGED


def test_corrupt_chunk_map_is_damaged(timelapse: Path) -> None:
    data = bytearray(timelapse.read_bytes())
    at = data.rindex(b"ND2 FILEMAP SIGNATURE NAME 0001!")
    data[at : at + 8] = b"XXXXXXXX"
    timelapse.write_bytes(bytes(data))

    result = check_file(timelapse)

    assert result.verdict == Verdict.NATIVE_DAMAGED
    assert any("not where the end of the file says" in r for r in result.reasons)


def test_frame_shorter_than_the_image_is_damaged(timelapse: Path) -> None:
    data = bytearray(timelapse.read_bytes())
    at = data.rindex(b"ImageDataSeq|3!") + len(b"ImageDataSeq|3!") + 8  # the size field
    data[at : at + 8] = (100).to_bytes(8, "little")
    timelapse.write_bytes(bytes(data))

    result = check_file(timelapse)

    assert result.verdict == Verdict.NATIVE_DAMAGED
    assert any("shorter than the image size" in r for r in result.reasons)
