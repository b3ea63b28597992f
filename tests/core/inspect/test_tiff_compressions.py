"""Every compression tifffile + imagecodecs can write gets the right verdict.

The lossless/lossy verdict is cross-checked against the pixels themselves: a file judged
lossless must decode to exactly the array that was written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tifffile

from almc_assistant.core.inspect import Flag, Verdict, check_file
from tests.core.inspect.helpers import fingerprint

RNG = np.random.default_rng(7)
GRAY16 = RNG.integers(0, 4096, (64, 64), dtype=np.uint16)
GRAY8 = RNG.integers(0, 255, (64, 64), dtype=np.uint8)
RGB8 = np.stack([GRAY8, GRAY8[::-1], GRAY8.T], -1)

LOSSLESS = Verdict.TIFF_COMPRESSED_LOSSLESS
LOSSY = Verdict.TIFF_COMPRESSED_LOSSY
CASES: list[tuple[str, str | None, dict[str, Any], np.ndarray, Verdict]] = [
    ("none", None, {}, GRAY16, Verdict.TIFF_UNCOMPRESSED_OK),
    ("lzw", "lzw", {}, GRAY16, LOSSLESS),
    ("lzw-predictor", "lzw", {"predictor": True}, GRAY16, LOSSLESS),
    ("deflate", "deflate", {}, GRAY16, LOSSLESS),
    ("adobe_deflate", "adobe_deflate", {}, GRAY16, LOSSLESS),
    ("packbits", "packbits", {}, GRAY8, LOSSLESS),
    ("lzma", "lzma", {}, GRAY16, LOSSLESS),
    ("zstd", "zstd", {}, GRAY16, LOSSLESS),
    ("png", "png", {}, GRAY16, LOSSLESS),
    ("pixtiff", "pixtiff", {}, GRAY16, LOSSLESS),
    ("jpeg", "jpeg", {}, RGB8, LOSSY),
    ("jpeg-gray-q95", "jpeg", {"compressionargs": {"level": 95}}, GRAY8, LOSSY),
    ("jpeg-lossless", "jpeg", {"compressionargs": {"lossless": True}}, GRAY16, LOSSLESS),
    ("webp-lossy", "webp", {"compressionargs": {"lossless": False, "level": 80}}, RGB8, LOSSY),
    ("webp-lossless", "webp", {"compressionargs": {"lossless": True}}, RGB8, LOSSLESS),
    ("jpeg2000-lossy", "jpeg2000", {"compressionargs": {"level": 30}}, GRAY16, LOSSY),
    # the reversible 5/3 wavelet is lossless only if no coding pass was cut by a rate
    # limit, which its header cannot show (codestreams.py): assumed changed
    ("jpeg2000-reversible", "jpeg2000", {"compressionargs": {"reversible": True}}, GRAY16,
     LOSSY),
    ("jpeg_2000_lossy", "jpeg_2000_lossy", {}, GRAY16, LOSSY),
    ("jpegxr", "jpegxr", {}, GRAY8, LOSSY),
    ("jpegxr_ndpi", "jpegxr_ndpi", {}, GRAY8, LOSSY),
    ("jpegxl", "jpegxl", {"compressionargs": {"level": 90}}, GRAY8, LOSSY),
    # lossless JPEG XL cannot be told from lossy without decoding: assumed changed
    ("jpegxl-lossless", "jpegxl", {"compressionargs": {"lossless": True}}, GRAY16, LOSSY),
    ("lerc", "lerc", {}, GRAY16, LOSSY),
]  # fmt: skip


@pytest.mark.parametrize(
    ("compression", "kwargs", "data", "expected"),
    [pytest.param(c, k, d, e, id=name) for name, c, k, d, e in CASES],
)
def test_compression_verdict(
    tmp_path: Path,
    compression: str | None,
    kwargs: dict[str, Any],
    data: np.ndarray,
    expected: Verdict,
) -> None:
    path = tmp_path / "image.tif"
    try:
        tifffile.imwrite(path, data, compression=compression, **kwargs)
    except Exception as exc:  # codec missing from this imagecodecs build
        pytest.skip(f"cannot write {compression}: {exc}")
    before = fingerprint(path)

    result = check_file(path)

    assert result.verdict == expected, result.reasons
    assert fingerprint(path) == before
    assert result.format == "TIFF"
    runs = result.details["compression_per_page"]
    with tifffile.TiffFile(path) as tif:
        assert [r["code"] for r in runs] == [int(tif.pages.first.compression)]
    if expected in (LOSSLESS, Verdict.TIFF_UNCOMPRESSED_OK):
        np.testing.assert_array_equal(tifffile.imread(path), data)  # truly lossless
    proved = "reversible" not in kwargs.get("compressionargs", {})
    if expected == LOSSY and compression in ("jpeg", "webp", "jpeg2000") and proved:
        assert not np.array_equal(tifffile.imread(path), data)  # truly lossy
    assert any("pixel values" in r for r in result.reasons)


def test_one_compressed_page_among_many_is_found(tmp_path: Path) -> None:
    """The useframes trap (DOMAIN.md 3.4): page 777 of 1,000 is the only compressed one."""
    path = tmp_path / "stack.tif"
    with tifffile.TiffWriter(path) as tif:
        for i in range(1000):
            tif.write(GRAY16, compression="zlib" if i == 776 else None, contiguous=False)

    result = check_file(path)

    assert result.verdict == LOSSLESS
    assert Flag.MIXED_COMPRESSION in result.flags
    assert result.details["pages"] == 1000
    assert result.details["compression_per_page"] == [
        {"compression": "NONE", "code": 1, "first_page": 1, "last_page": 776},
        {"compression": "ADOBE_DEFLATE", "code": 8, "first_page": 777, "last_page": 777},
        {"compression": "NONE", "code": 1, "first_page": 778, "last_page": 1000},
    ]


def test_lossy_page_after_lossless_pages_makes_the_file_lossy(tmp_path: Path) -> None:
    path = tmp_path / "mixed.tif"
    with tifffile.TiffWriter(path) as tif:
        tif.write(RGB8, compression="lzw")
        tif.write(RGB8, compression="jpeg")

    result = check_file(path)

    assert result.verdict == LOSSY
    assert {Flag.MIXED_COMPRESSION, Flag.RENDERED_SNAPSHOT} <= result.flags


def test_missing_compression_tag_means_uncompressed(tmp_path: Path) -> None:
    path = tmp_path / "notag.tif"
    tifffile.imwrite(path, GRAY16, photometric="minisblack")
    raw = bytearray(path.read_bytes())
    # rename tag 259 (Compression) to an unused private tag in the first IFD
    offset = int.from_bytes(raw[4:8], "little")
    count = int.from_bytes(raw[offset : offset + 2], "little")
    for i in range(count):
        entry = offset + 2 + 12 * i
        if int.from_bytes(raw[entry : entry + 2], "little") == 259:
            raw[entry : entry + 2] = (65000).to_bytes(2, "little")
    path.write_bytes(bytes(raw))

    result = check_file(path)

    assert result.verdict == Verdict.TIFF_UNCOMPRESSED_OK
    assert result.details["compression_per_page"][0]["code"] == 1


@pytest.mark.parametrize(
    ("data", "kwargs", "flag"),
    [
        (RGB8, {"photometric": "rgb"}, Flag.RENDERED_SNAPSHOT),
        (GRAY8, {"colormap": np.zeros((3, 256), np.uint16)}, Flag.RENDERED_SNAPSHOT),
        (GRAY16.astype(np.float32), {}, Flag.FLOAT_PROCESSED),
        (GRAY8 > 128, {}, Flag.BILEVEL),
    ],
    ids=["rgb", "palette", "float32", "bilevel"],
)
def test_red_flags(tmp_path: Path, data: np.ndarray, kwargs: dict[str, Any], flag: Flag) -> None:
    path = tmp_path / "flagged.tif"
    tifffile.imwrite(path, data, **kwargs)

    result = check_file(path)

    assert result.verdict == Verdict.TIFF_UNCOMPRESSED_OK
    assert flag in result.flags
    assert not (result.flags - {flag})


def test_raw_16bit_grayscale_has_no_flags(tmp_path: Path) -> None:
    path = tmp_path / "raw.tif"
    tifffile.imwrite(path, np.stack([GRAY16] * 3), imagej=True, metadata={"axes": "CYX"})

    result = check_file(path)

    assert result.verdict == Verdict.TIFF_UNCOMPRESSED_OK
    assert result.flags == frozenset()
    assert result.details["pages"] == 3
    assert result.details["imagej"]["images"] == 3


def test_8bit_export_of_higher_bit_depth_is_flagged_from_ome_metadata(tmp_path: Path) -> None:
    path = tmp_path / "export.ome.tif"
    tifffile.imwrite(
        path,
        GRAY8,
        description='<?xml version="1.0"?><OME><Image><Pixels Type="uint8" '
        'SignificantBits="12"/></Image></OME>',
        metadata=None,
    )

    result = check_file(path)

    assert Flag.REDUCED_BIT_DEPTH in result.flags
    assert any("instrument recorded more bits" in r for r in result.reasons)


def test_8bit_without_metadata_is_not_called_reduced(tmp_path: Path) -> None:
    path = tmp_path / "plain8.tif"
    tifffile.imwrite(path, GRAY8)

    assert Flag.REDUCED_BIT_DEPTH not in check_file(path).flags


def test_bigtiff_tiled_planar(tmp_path: Path) -> None:
    path = tmp_path / "big.tif"
    tifffile.imwrite(path, RGB8, bigtiff=True, tile=(32, 32), planarconfig="separate")

    result = check_file(path)

    assert result.verdict == Verdict.TIFF_UNCOMPRESSED_OK
    assert result.format == "BigTIFF"
    assert result.details["tiled"] is True


@pytest.mark.parametrize(
    "extratag",
    [
        (65500, "s", 0, "<Harmony export/>", True),  # Opera Phenix planes are 16-bit
        (51123, "s", 0, '{"BitDepth": 12}', True),  # Micro-Manager metadata
    ],
    ids=["harmony", "micromanager"],
)
def test_8bit_export_flagged_from_instrument_metadata(
    tmp_path: Path, extratag: tuple[int, str, int, str, bool]
) -> None:
    path = tmp_path / "plane.tif"
    tifffile.imwrite(path, GRAY8, extratags=[extratag])
    sixteen = tmp_path / "plane16.tif"
    tifffile.imwrite(sixteen, GRAY16, extratags=[extratag])

    assert Flag.REDUCED_BIT_DEPTH in check_file(path).flags
    assert Flag.REDUCED_BIT_DEPTH not in check_file(sixteen).flags
