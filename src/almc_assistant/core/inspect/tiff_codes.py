"""TIFF compression codes: their names, and whether they keep pixel values.

Thread contract: pure functions; safe from any thread.

Classification follows DOMAIN.md 3.2. Codecs that can be either lossless or lossy (WebP,
JPEG, JPEG 2000) are decided from the first bytes of the compressed data when those say
so (a WebP ``VP8L`` chunk, a JPEG lossless ``SOF3`` frame, a JPEG 2000 reversible 5/3
wavelet without quantisation); otherwise they count as lossy, since pixel values cannot
be shown to be intact.
"""

from __future__ import annotations

from enum import Enum


class Kind(Enum):
    NONE = "none"
    LOSSLESS = "lossless"
    LOSSY = "lossy"


NONE = 1
_NAMES = {
    1: "NONE", 2: "CCITT_RLE", 3: "CCITT_T4", 4: "CCITT_T6", 5: "LZW", 6: "OJPEG",
    7: "JPEG", 8: "ADOBE_DEFLATE", 9: "JBIG_BW", 10: "JBIG_COLOR", 99: "JPEG_99",
    103: "IMPACJ", 262: "KODAK_262", 32766: "NEXT", 32771: "CCITTRLEW", 32773: "PACKBITS",
    32809: "THUNDERSCAN", 32909: "PIXARLOG", 32946: "DEFLATE", 33003: "APERIO_JP2000_YCBC",
    33004: "JPEG_2000_LOSSY", 33005: "APERIO_JP2000_RGB", 33007: "ALT_JPEG",
    34661: "JBIG", 34676: "SGILOG", 34677: "SGILOG24", 34712: "JPEG2000",
    34713: "NIKON_NEF", 34715: "JBIG2", 34887: "LERC", 34892: "JPEG_LOSSY",
    34925: "LZMA", 34926: "ZSTD_DEPRECATED", 34927: "WEBP_DEPRECATED", 34933: "PNG",
    34934: "JPEGXR", 48124: "JETRAW", 50000: "ZSTD", 50001: "WEBP", 50002: "JPEGXL",
    50013: "PIXTIFF", 52546: "JPEGXL_DNG", 22610: "JPEGXR_NDPI",
}  # fmt: skip
_LOSSLESS = frozenset(
    {2, 3, 4, 5, 8, 9, 10, 99, 32771, 32773, 32809, 32946, 34661, 34715, 34925, 34926,
     34933, 50000, 50013}
)  # fmt: skip
_PROBED = frozenset({7, 34712, 50001, 34927})  # decided by the data's own header
# can be lossless or lossy, and the data header does not say which (cheaply)
UNPROVABLE = frozenset({33003, 33005, 34887, 34934, 48124, 50002, 52546})


def name(code: int) -> str:
    return _NAMES.get(code, f"UNKNOWN_{code}")


def needs_probe(code: int) -> bool:
    return code in _PROBED


def kind(code: int, first_bytes: bytes = b"") -> Kind:
    """Is ``code`` none, lossless or lossy (probing ``first_bytes`` when that decides)."""
    if code == NONE:
        return Kind.NONE
    if code in _LOSSLESS:
        return Kind.LOSSLESS
    if code in _PROBED and first_bytes and _probe_lossless(code, first_bytes):
        return Kind.LOSSLESS
    return Kind.LOSSY  # lossy codecs, settings-dependent ones we cannot prove, unknown codes


def _probe_lossless(code: int, data: bytes) -> bool:
    if code in (50001, 34927):  # WebP: RIFF....WEBP then VP8L (lossless) or VP8 / VP8X
        return data[:4] == b"RIFF" and data[8:16] == b"WEBPVP8L"
    if code == 7:
        return _jpeg_frame(data) == 0xC3  # SOF3: lossless (Huffman) JPEG
    if code == 34712:
        return _j2k_reversible_unquantised(data)
    return False


def _jpeg_frame(data: bytes) -> int | None:
    """The SOFn marker of a JPEG stream (or abbreviated stream), if found."""
    i = 2 if data[:2] == b"\xff\xd8" else 0
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            return marker
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        i += 2 + int.from_bytes(data[i + 2 : i + 4], "big")
    return None


def _j2k_reversible_unquantised(data: bytes) -> bool:
    """JPEG 2000: COD says the reversible 5/3 wavelet and QCD says no quantisation."""
    start = data.find(b"\xff\x4f\xff\x51")  # SOC SIZ (inside a JP2 box or bare)
    if start < 0:
        return False
    i, reversible, unquantised = start + 2, None, None
    while i + 4 <= len(data) and data[i] == 0xFF:
        marker, length = data[i + 1], int.from_bytes(data[i + 2 : i + 4], "big")
        body = data[i + 4 : i + 2 + length]
        if marker == 0x52 and len(body) >= 10:  # COD: transform is the 10th byte
            reversible = body[9] == 1
        elif marker == 0x5C and body:  # QCD: style in the low 5 bits of Sqcd
            unquantised = (body[0] & 0x1F) == 0
        elif marker in (0x90, 0x93):  # SOT/SOD: main header is over
            break
        i += 2 + length
    return bool(reversible and unquantised)
