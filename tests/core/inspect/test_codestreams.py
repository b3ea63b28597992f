"""Lossless JPEG, JPEG-LS, JPEG 2000 and JPEG XL told from lossy ones by their headers,
as standalone files and inside TIFF; float TIFFs named by their real bit depth; FITS.

Real files from other software (``data/README.md``) and files encoded here with
imagecodecs (libjpeg-turbo, CharLS, OpenJPEG, libjxl), whose decoded pixels prove what
the header claims.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import imagecodecs
import numpy as np
import pytest
import tifffile

from almc_assistant.core.inspect import Flag, Verdict, check_file
from almc_assistant.core.inspect import codestreams as cs

REAL = Path(__file__).parent / "data" / "real"
GRAY16 = (np.arange(64 * 64) * 37 % 4096).reshape(64, 64).astype(np.uint16)

LOSSLESS_FILES = ["1px.ljp", "2dht.ljp", "t8nde0.jls", "rgba.u1.jls"]
LOSSY_FILES = {
    "t8nde3.jls": "near-lossless",
    "ycbc.j2k": "irreversible wavelet",
    "hopper.jxl": "XYB",
    "test-card-lossy-tiled.jp2": "cannot show",  # reversible 5/3 yet rate-limited
    "rgb24.jp2": "cannot show",
    "16bit_subcutaneous.cropped.jxl": "does not prove it lossless",
}


@pytest.mark.parametrize("name", LOSSLESS_FILES)
def test_lossless_codestream_files_are_not_called_lossy(name: str) -> None:
    result = check_file(REAL / name)

    assert result.verdict == Verdict.OTHER_FORMAT, result.reasons
    assert "without loss" in result.reasons[0]
    assert "changes pixel values" not in " ".join(result.reasons)


@pytest.mark.parametrize(("name", "why"), sorted(LOSSY_FILES.items()))
def test_lossy_or_unproven_codestream_files_are_lossy(name: str, why: str) -> None:
    result = check_file(REAL / name)

    assert result.verdict == Verdict.LOSSY_FORMAT
    assert why in " ".join(result.reasons), result.reasons


def test_lossless_jpeg_is_named_for_what_it_is() -> None:
    assert check_file(REAL / "2dht.ljp").format == "lossless JPEG (SOF3)"
    assert check_file(REAL / "t8nde0.jls").format == "JPEG-LS"


ENCODED: list[tuple[str, Any, Any, bool | None]] = [
    ("jpeg8-lossless", lambda: imagecodecs.jpeg8_encode(GRAY16, lossless=True),
     cs.jpeg_lossless, True),
    ("jpeg8-dct", lambda: imagecodecs.jpeg8_encode(GRAY16.astype(np.uint8)),
     cs.jpeg_lossless, False),
    ("jpegls-0", lambda: imagecodecs.jpegls_encode(GRAY16, level=0), cs.jpeg_lossless, True),
    ("jpegls-near3", lambda: imagecodecs.jpegls_encode(GRAY16, level=3), cs.jpeg_lossless,
     False),
    ("j2k-irreversible", lambda: imagecodecs.jpeg2k_encode(GRAY16, level=80), cs.j2k_lossless,
     False),
    ("j2k-reversible", lambda: imagecodecs.jpeg2k_encode(GRAY16, reversible=True),
     cs.j2k_lossless, None),
    ("jxl-lossy", lambda: imagecodecs.jpegxl_encode(GRAY16, level=90), cs.jxl_lossless, False),
    ("jxl-lossless", lambda: imagecodecs.jpegxl_encode(GRAY16, lossless=True), cs.jxl_lossless,
     None),
]  # fmt: skip


@pytest.mark.parametrize(("make", "probe", "expected"), [e[1:] for e in ENCODED],
                         ids=[e[0] for e in ENCODED])  # fmt: skip
def test_header_verdict_matches_the_decoded_pixels(
    make: Any, probe: Any, expected: bool | None
) -> None:
    data = make()

    assert probe(data) is expected
    decoded = imagecodecs.imread(data)
    if expected is True:
        np.testing.assert_array_equal(decoded, GRAY16)
    if expected is False and decoded.dtype == GRAY16.dtype:
        assert not np.array_equal(decoded, GRAY16)


def test_lossless_jpeg_inside_tiff_is_lossless(tmp_path: Path) -> None:
    path = tmp_path / "ljpeg.tif"
    tifffile.imwrite(path, GRAY16, compression="jpeg", compressionargs={"lossless": True})

    result = check_file(path)

    assert result.verdict == Verdict.TIFF_COMPRESSED_LOSSLESS, result.reasons
    assert "lossless JPEG" in result.reasons[0]
    np.testing.assert_array_equal(tifffile.imread(path), GRAY16)


def test_twelve_bit_dct_jpeg_inside_tiff_is_lossy() -> None:
    result = check_file(REAL / "rgb.tiled.jpeg.u2.tif")

    assert result.verdict == Verdict.TIFF_COMPRESSED_LOSSY


@pytest.mark.parametrize(
    ("name", "flag", "words"),
    [
        ("gray.f2.tif", Flag.FLOAT16, "16-bit (half-precision) floating-point"),
        ("gray.f8.tif", Flag.FLOAT64, "64-bit floating-point"),
    ],
)
def test_float_tiffs_are_named_by_their_real_bit_depth(name: str, flag: Flag, words: str) -> None:
    result = check_file(REAL / name)

    assert result.flags == {flag}
    assert any(words in r for r in result.reasons)
    assert not any("32-bit" in r for r in result.reasons)


def test_float32_tiff_keeps_its_flag(tmp_path: Path) -> None:
    path = tmp_path / "f4.tif"
    tifffile.imwrite(path, GRAY16.astype(np.float32))

    assert check_file(path).flags == {Flag.FLOAT_PROCESSED}


def test_fits_is_an_image_not_a_text_file() -> None:
    result = check_file(REAL / "hopper.fits")

    assert (result.verdict, result.format) == (Verdict.OTHER_FORMAT, "FITS image")
    assert not any("text file" in r for r in result.reasons)
    assert any("integers" in r or "floating-point" in r for r in result.reasons)


def test_cut_off_fits_says_so(tmp_path: Path) -> None:
    data = (REAL / "hopper.fits").read_bytes()
    path = tmp_path / "cut.fits"
    path.write_bytes(data[: len(data) - 5000])

    assert any("cut off" in r for r in check_file(path).reasons)


def test_fits_with_an_absurd_axis_count_is_answered_at_once(tmp_path: Path) -> None:
    data = bytearray((REAL / "hopper.fits").read_bytes())
    at = data.find(b"NAXIS   =")
    data[at : at + 30] = b"NAXIS   = 999999999999".ljust(30)
    path = tmp_path / "corrupt.fits"
    path.write_bytes(bytes(data))

    assert check_file(path).verdict == Verdict.OTHER_FORMAT


def test_webp_files_are_told_lossless_or_lossy(tmp_path: Path) -> None:
    rgb = np.random.default_rng(5).integers(0, 255, (16, 16, 3), np.uint8)
    lossless, lossy = tmp_path / "a.webp", tmp_path / "b.webp"
    lossless.write_bytes(imagecodecs.webp_encode(rgb, lossless=True))
    lossy.write_bytes(imagecodecs.webp_encode(rgb, lossless=False, level=80))

    assert check_file(lossless).verdict == Verdict.OTHER_FORMAT
    assert check_file(lossy).verdict == Verdict.LOSSY_FORMAT
    np.testing.assert_array_equal(imagecodecs.imread(lossless.read_bytes()), rgb)
