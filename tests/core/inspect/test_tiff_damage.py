"""Damaged and extreme TIFFs: truncation, broken page chains, 100,000 pages."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import numpy as np
import pytest
import tifffile

from almc_assistant.core.inspect import Verdict, check_file
from almc_assistant.core.inspect.tifflog import capture
from tests.core.inspect.helpers import fingerprint

PLANE = np.arange(64 * 64, dtype=np.uint16).reshape(64, 64)


def _stack(path: Path, pages: int) -> None:
    """A classic TIFF written page by page (each page header before its data)."""
    with tifffile.TiffWriter(path) as tif:
        for _ in range(pages):
            tif.write(PLANE, contiguous=False)


@pytest.mark.parametrize("fraction", [0.5, 0.9, 0.99])
def test_truncated_stack_is_damaged(tmp_path: Path, fraction: float) -> None:
    full = tmp_path / "full.tif"
    _stack(full, 20)
    cut = tmp_path / "cut.tif"
    cut.write_bytes(full.read_bytes()[: int(full.stat().st_size * fraction)])

    result = check_file(cut)

    assert result.verdict == Verdict.TIFF_DAMAGED
    assert any("beyond the end of the file" in r for r in result.reasons), result.reasons
    assert "cut off" in result.reasons[0]
    assert check_file(full).verdict == Verdict.TIFF_UNCOMPRESSED_OK


def test_last_byte_missing_is_damaged(tmp_path: Path) -> None:
    path = tmp_path / "one.tif"
    tifffile.imwrite(path, PLANE)
    data = path.read_bytes()
    # tifffile writes the header, then the IFD, then the pixels: drop the last pixel byte
    path.write_bytes(data[:-1])

    assert check_file(path).verdict == Verdict.TIFF_DAMAGED


def test_page_chain_loop_is_damaged_not_a_hang(tmp_path: Path) -> None:
    path = tmp_path / "loop.tif"
    _stack(path, 3)
    raw = bytearray(path.read_bytes())
    first = int.from_bytes(raw[4:8], "little")
    # make page 2's "next page" offset point back at page 1
    count = int.from_bytes(raw[first : first + 2], "little")
    second = int.from_bytes(raw[first + 2 + 12 * count : first + 6 + 12 * count], "little")
    count2 = int.from_bytes(raw[second : second + 2], "little")
    pos = second + 2 + 12 * count2
    raw[pos : pos + 4] = first.to_bytes(4, "little")
    path.write_bytes(bytes(raw))

    result = check_file(path)

    assert result.verdict == Verdict.TIFF_DAMAGED
    assert any("loops back" in r for r in result.reasons)


def test_imagej_declaring_more_images_than_present_is_damaged(tmp_path: Path) -> None:
    path = tmp_path / "ij.tif"
    tifffile.imwrite(path, np.stack([PLANE] * 4), imagej=True)
    raw = path.read_bytes()
    assert b"images=4" in raw
    path.write_bytes(raw.replace(b"images=4", b"images=9", 1))

    result = check_file(path)

    assert result.verdict == Verdict.TIFF_DAMAGED
    assert any("9 images" in r for r in result.reasons)


def test_imagej_hyperstack_with_one_page_and_contiguous_planes_is_ok(tmp_path: Path) -> None:
    """ImageJ > 4 GB style: one page header, the other planes follow (DOMAIN.md 3.3)."""
    path = tmp_path / "hyper.tif"
    stack = np.stack([PLANE] * 5)
    tifffile.imwrite(path, stack[:1], imagej=True)
    raw = path.read_bytes().replace(b"images=1", b"images=5", 1)
    # ImageJ writes planes contiguously after the first: append the other four
    path.write_bytes(raw + stack[1:].astype(">u2" if raw[:2] == b"MM" else "<u2").tobytes())
    ok = check_file(path)
    path.write_bytes(raw + stack[1:3].tobytes())
    short = check_file(path)

    assert ok.verdict == Verdict.TIFF_UNCOMPRESSED_OK, ok.reasons
    assert short.verdict == Verdict.TIFF_DAMAGED
    assert any("ends after" in r for r in short.reasons)


def test_100000_page_tiff_is_checked_page_by_page(tmp_path: Path) -> None:
    path = tmp_path / "many.tif"
    tiny = np.zeros((100_000, 2, 2), np.uint8)
    tifffile.imwrite(path, tiny, photometric="minisblack")  # one page header per plane
    before = fingerprint(path)

    result = check_file(path)

    assert result.verdict == Verdict.TIFF_UNCOMPRESSED_OK, result.reasons
    assert result.details["pages"] == 100_000
    assert result.details["compression_per_page"] == [
        {"compression": "NONE", "code": 1, "first_page": 1, "last_page": 100_000}
    ]
    assert fingerprint(path) == before


def test_100000_page_tiff_cut_in_the_middle_is_damaged(tmp_path: Path) -> None:
    path = tmp_path / "many.tif"
    with tifffile.TiffWriter(path) as tif:
        for _ in range(100):  # page headers interleaved with data
            tif.write(np.zeros((1000, 2, 2), np.uint8), photometric="minisblack",
                      contiguous=False)  # fmt: skip
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])

    result = check_file(path)

    assert result.verdict == Verdict.TIFF_DAMAGED


def test_log_capture_is_per_thread_and_silences_only_the_capturing_thread() -> None:
    logger = logging.getLogger("tifffile")
    seen_elsewhere: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen_elsewhere.append(record.getMessage())

    handler = Keep()
    logger.addHandler(handler)
    try:
        barrier = threading.Barrier(2)

        def other() -> None:
            barrier.wait()
            logger.error("from the other thread")

        thread = threading.Thread(target=other)
        thread.start()
        with capture() as records:
            barrier.wait()
            logger.error("from the checking thread")
            thread.join()
        logger.error("after capture")
    finally:
        logger.removeHandler(handler)

    assert [r.getMessage() for r in records] == ["from the checking thread"]
    assert sorted(seen_elsewhere) == ["after capture", "from the other thread"]
