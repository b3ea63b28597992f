"""TIFF compression codes: their names, and whether they keep pixel values.

Thread contract: pure functions; safe from any thread.

Classification follows DOMAIN.md 3.2. Codecs that can be either lossless or lossy (WebP,
JPEG, JPEG-LS, JPEG 2000, JPEG XL) are decided from the first bytes of the compressed data
when those say so (``codestreams``: a WebP ``VP8L`` chunk, a lossless ``SOF3`` frame, a
JPEG-LS scan with NEAR 0, a JPEG 2000 reversible 5/3 wavelet without quantisation, a JPEG
XL in XYB); otherwise they count as lossy, since pixel values cannot be shown intact.
"""

from __future__ import annotations

from enum import Enum

from almc_assistant.core.inspect import codestreams


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
_JPEG = frozenset({7, 33007, 34892})
_J2K = frozenset({33003, 33004, 33005, 34712})
_JXL = frozenset({50002, 52546})
_WEBP = frozenset({50001, 34927})
_PROBED = _JPEG | _J2K | _JXL | _WEBP  # decided by the data's own header when it says
_LOSSY_CODES = frozenset({6, 103, 22610, 34676, 34677})
# can be lossless or lossy, and the data header does not say which (cheaply)
UNPROVABLE = frozenset({34887, 34934, 48124}) | _J2K | _JXL


def name(code: int) -> str:
    return _NAMES.get(code, f"UNKNOWN_{code}")


def needs_probe(code: int) -> bool:
    return code in _PROBED


def kind(code: int, first_bytes: bytes = b"") -> Kind:
    """Is ``code`` none, lossless or lossy (probing ``first_bytes`` when that decides)."""
    return classify(code, first_bytes)[0]


def classify(code: int, first_bytes: bytes = b"") -> tuple[Kind, bool]:
    """(kind, proved): ``proved`` is False when "lossy" only means "not shown lossless"."""
    if code == NONE:
        return Kind.NONE, True
    if code in _LOSSLESS:
        return Kind.LOSSLESS, True
    if code in _PROBED and first_bytes:
        verdict = _probe(code, first_bytes)
        if verdict is not None:
            return (Kind.LOSSLESS if verdict else Kind.LOSSY), True
    # lossy codecs, settings-dependent ones we cannot prove, unknown codes
    return Kind.LOSSY, code in _LOSSY_CODES or (code in _PROBED and code not in UNPROVABLE)


def _probe(code: int, data: bytes) -> bool | None:
    if code in _WEBP:  # RIFF....WEBP then VP8L (lossless) or VP8 / VP8X
        return data[:4] == b"RIFF" and data[8:16] == b"WEBPVP8L"
    if code in _JPEG:
        return codestreams.jpeg_lossless(data)
    if code in _J2K:
        return codestreams.j2k_lossless(data)
    return codestreams.jxl_lossless(data)


def probe_label(code: int, data: bytes) -> str:
    """The codec's name as the data header tells it (lossless JPEG, JPEG-LS, ...)."""
    if code in _JPEG and data:
        flavour = codestreams.jpeg_kind(data)
        if flavour != "JPEG":
            return f"{name(code)} ({flavour})"
    return name(code)
