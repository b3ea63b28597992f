"""Formats recognised by content: lossy images, other exports, other vendors' native files."""

from __future__ import annotations

import struct
import zipfile
from collections.abc import Callable
from pathlib import Path

import imagecodecs
import numpy as np
import pytest

from almc_assistant.core.inspect import Verdict, check_file
from almc_assistant.core.inspect.signatures import Family, sniff
from tests.core.inspect import native_samples

RGB = np.random.default_rng(3).integers(0, 255, (16, 16, 3), np.uint8)


def _lif(xml: str) -> bytes:
    text = xml.encode("utf-16-le")
    return struct.pack("<II", 0x70, len(text) + 5) + b"\x2a" + struct.pack("<I", len(xml)) + text


def _sld() -> bytes:
    return b"\x00\x00\x00\x00II" + struct.pack("<HH", 0x006C, 0x0100) + bytes(100)


ENCODED: list[tuple[str, Callable[[], bytes | bytearray], Verdict, str]] = [
    ("x.jpg", lambda: imagecodecs.jpeg8_encode(RGB), Verdict.LOSSY_FORMAT, "JPEG"),
    ("x.gif", lambda: imagecodecs.gif_encode(RGB[..., 0]), Verdict.LOSSY_FORMAT, "GIF"),
    ("x.webp", lambda: imagecodecs.webp_encode(RGB, lossless=False), Verdict.LOSSY_FORMAT,
     "WebP"),
    # imagecodecs' default WebP is lossless (VP8L): pixel values intact
    ("lossless.webp", lambda: imagecodecs.webp_encode(RGB), Verdict.OTHER_FORMAT, "WebP"),
    ("x.jp2", lambda: imagecodecs.jpeg2k_encode(RGB), Verdict.LOSSY_FORMAT, "JPEG 2000"),
    ("x.jxl", lambda: imagecodecs.jpegxl_encode(RGB), Verdict.LOSSY_FORMAT, "JPEG XL"),
    ("x.png", lambda: imagecodecs.png_encode(RGB), Verdict.OTHER_FORMAT, "PNG"),
    ("x.bmp", lambda: imagecodecs.bmp_encode(RGB), Verdict.OTHER_FORMAT, "BMP"),
    ("x.pdf", lambda: b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", Verdict.OTHER_FORMAT, "PDF"),
    ("x.avi", lambda: b"RIFF\x00\x10\x00\x00AVI LIST" + bytes(64), Verdict.OTHER_FORMAT,
     "AVI movie"),
    ("x.mp4", lambda: b"\x00\x00\x00\x18ftypmp42" + bytes(64), Verdict.OTHER_FORMAT,
     "MP4/QuickTime movie"),
    ("x.czi", native_samples.czi, Verdict.NATIVE_OK, "Zeiss CZI"),
    ("x.oir", native_samples.oir, Verdict.NATIVE_OK, "Olympus/Evident OIR"),
    ("x.lif", native_samples.lif, Verdict.NATIVE_OK, "Leica LIF"),
    ("x.lof", native_samples.lof, Verdict.NATIVE_OK, "Leica LOF"),
    ("x.sld", _sld, Verdict.NATIVE_OK, "3i SlideBook SLD"),
    ("x.ims", native_samples.hdf5, Verdict.NATIVE_OK, "Imaris IMS"),
    # a bare signature is not a complete file: the walkers say so
    ("cut.czi", lambda: b"ZISRAWFILE" + bytes(500), Verdict.NATIVE_DAMAGED, "Zeiss CZI"),
    ("cut.oir", lambda: b"OLYMPUSRAWFORMAT" + bytes(500), Verdict.NATIVE_DAMAGED,
     "Olympus/Evident OIR"),
    ("cut.lof", lambda: _lif("LMS_Object_File"), Verdict.NATIVE_DAMAGED, "Leica LOF"),
    ("cut.ims", lambda: b"\x89HDF\r\n\x1a\n" + bytes(200) + b"ImarisDataSet",
     Verdict.NATIVE_DAMAGED, "Imaris IMS"),
    ("x.h5", lambda: native_samples.hdf5(imaris=False), Verdict.OTHER_FORMAT, "HDF5"),
    ("cut.h5", lambda: b"\x89HDF\r\n\x1a\n" + bytes(200), Verdict.NATIVE_DAMAGED, "HDF5"),
    ("x.oif", lambda: "\ufeff[FileInformation]\r\nAppName=FV10-ASW\r\n".encode("utf-16-le"),
     Verdict.NATIVE_OK, "Olympus FluoView OIF"),
    ("x.xml", lambda: b'<?xml version="1.0"?><a/>', Verdict.OTHER_FORMAT, "XML"),
    ("notes.txt", lambda: b"exposure 100 ms\n" * 10, Verdict.OTHER_FORMAT, "text"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "make", "verdict", "fmt"), ENCODED, ids=[e[0] for e in ENCODED])
def test_format_by_content(
    tmp_path: Path, name: str, make: Callable[[], bytes], verdict: Verdict, fmt: str
) -> None:
    path = tmp_path / name
    path.write_bytes(make())

    result = check_file(path)

    assert (result.verdict, result.format) == (verdict, fmt)
    assert result.reasons and result.next_step


def test_content_wins_over_the_name(tmp_path: Path) -> None:
    """A JPEG renamed .tif is a JPEG; a PNG renamed .nd2 is a PNG."""
    fake_tif = tmp_path / "image.tif"
    fake_tif.write_bytes(imagecodecs.jpeg8_encode(RGB))
    fake_nd2 = tmp_path / "image.nd2"
    fake_nd2.write_bytes(imagecodecs.png_encode(RGB))

    assert check_file(fake_tif).verdict == Verdict.LOSSY_FORMAT
    assert check_file(fake_nd2).verdict == Verdict.OTHER_FORMAT


def test_office_zip_is_other_format(tmp_path: Path) -> None:
    path = tmp_path / "slides.pptx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")

    result = check_file(path)

    assert result.verdict == Verdict.OTHER_FORMAT
    assert "ZIP" in result.format


@pytest.mark.parametrize(
    ("stream", "verdict", "fmt"),
    [
        ("OibInfo.txt", Verdict.NATIVE_OK, "Olympus FluoView OIB"),
        ("PowerPoint Document", Verdict.OTHER_FORMAT, "PowerPoint document"),
    ],
)
def test_ole2_container_is_told_apart(
    tmp_path: Path, stream: str, verdict: Verdict, fmt: str
) -> None:
    path = tmp_path / "file.bin"
    path.write_bytes(native_samples.ole2((stream, "Other")))

    result = check_file(path)

    assert (result.verdict, result.format) == (verdict, fmt)


def test_sniff_needs_no_extension() -> None:
    assert sniff(b"II*\x00" + bytes(10), b"").family is Family.TIFF
    assert sniff(b"MM\x00+" + bytes(10), b"").format == "BigTIFF"
    assert sniff(bytes(4096), b"ND2 CHUNK MAP SIGNATURE 0000001!" + bytes(8)).family is Family.ND2
    assert sniff(bytes(100), bytes(40)).family is Family.UNKNOWN
