"""Recognise a file's format from its first and last bytes (never its name).

Thread contract: pure functions on bytes; safe from any thread.

Signatures come from DOMAIN.md 1.1 (Bio-Formats readers, nd2, liffile) and the common
magic-number tables. ``sniff`` returns a :class:`Sniffed` naming the format and its family;
the family decides which checker runs.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import Enum

HEAD_BYTES = 4096  # how much of the start of a file sniffing needs
TAIL_BYTES = 40  # the ND2 trailer (chunk-map signature + offset)

ND2_MAGIC = b"\xda\xce\xbe\x0a"
ND2_TRAILER = b"ND2 CHUNK MAP SIGNATURE 0000001!"
ND2_LEGACY_TRAILER = b"LABORATORY IMAGING ND BOX MAP 00"
JP2_SIGNATURE = b"\x00\x00\x00\x0cjP  \r\n\x87\n"
TIFF_MAGICS = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_OLD_IMARIS = struct.pack("<i", 5021964)  # Imaris before 5.5 (Bio-Formats ImarisReader)
# Chunk names NIS-Elements writes near the start of a modern ND2: a file whose first
# bytes were zeroed still shows them, so it is recognised as a damaged ND2.
_ND2_INNER_MARKERS = (b"ImageAttributesLV!", b"ImageDataSeq|", b"ImageMetadataLV!")


class Family(Enum):
    """Which checker handles a format."""

    ND2 = "nd2"
    TIFF = "tiff"
    NATIVE = "native"  # other vendors' native formats, recognised by signature
    OLE2 = "ole2"  # OIB or an Office document: decided by the OLE2 directory
    LOSSY = "lossy"
    OTHER = "other"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Sniffed:
    family: Family
    format: str


# Structures other formats write near their start: a file whose first bytes were zeroed
# still shows them, so it goes to that format's walker, which reports the damage.
_ZEROED_MARKERS = (
    (b"ZISRAWSUBBLOCK", Family.NATIVE, "Zeiss CZI"),
    (b"ZISRAWDIRECTORY", Family.NATIVE, "Zeiss CZI"),
    ("LMSDataContainerHeader".encode("utf-16-le"), Family.NATIVE, "Leica LIF"),
    ("OibInfo".encode("utf-16-le"), Family.OLE2, "OLE2 compound file"),
    (b"ImarisDataSet", Family.NATIVE, "Imaris IMS"),
    (b"{'descr':", Family.NATIVE, "NumPy array"),
)


def _text_head(head: bytes) -> str:
    """The start of a file as text (UTF-16 with or without BOM, else Latin-1)."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head[:2048].decode("utf-16", "replace")
    if len(head) > 4 and head[1:2] == b"\x00" and head[3:4] == b"\x00":
        return head[: len(head) // 2 * 2].decode("utf-16-le", "replace")[:1024]
    return head[:2048].decode("latin-1")


def _is_sld(head: bytes) -> bool:
    if len(head) < 10 or head[4:6] not in (b"II", b"MM"):
        return False
    order = "<" if head[4:6] == b"II" else ">"
    magic1, magic2 = struct.unpack(order + "HH", head[6:10])
    return magic1 in (0x006C, 0x01F5) and (magic2 & 0xFF00) in (0x0100, 0x0200)


_PREFIXES: tuple[tuple[bytes, Sniffed], ...] = (
    (b"II*\x00", Sniffed(Family.TIFF, "TIFF")),
    (b"MM\x00*", Sniffed(Family.TIFF, "TIFF")),
    (b"II+\x00", Sniffed(Family.TIFF, "BigTIFF")),
    (b"MM\x00+", Sniffed(Family.TIFF, "BigTIFF")),
    (b"ZISRAWFILE", Sniffed(Family.NATIVE, "Zeiss CZI")),
    (b"OLYMPUSRAWFORMAT", Sniffed(Family.NATIVE, "Olympus/Evident OIR")),
    (b"\x89HDF\r\n\x1a\n", Sniffed(Family.NATIVE, "HDF5")),  # refined in sniff()
    (OLE2_MAGIC, Sniffed(Family.OLE2, "OLE2 compound file")),
    (b"\xff\xd8\xff", Sniffed(Family.LOSSY, "JPEG")),
    (b"GIF87a", Sniffed(Family.LOSSY, "GIF")),
    (b"GIF89a", Sniffed(Family.LOSSY, "GIF")),
    (b"\xff\x4f\xff\x51", Sniffed(Family.LOSSY, "JPEG 2000 codestream")),
    (b"\xff\x0a", Sniffed(Family.LOSSY, "JPEG XL")),
    (b"\x00\x00\x00\x0cJXL \r\n\x87\n", Sniffed(Family.LOSSY, "JPEG XL")),
    (b"\x89PNG\r\n\x1a\n", Sniffed(Family.OTHER, "PNG")),
    (b"BM", Sniffed(Family.OTHER, "BMP")),
    (b"%PDF-", Sniffed(Family.OTHER, "PDF")),
    (b"PK\x03\x04", Sniffed(Family.OTHER, "ZIP archive or Office document")),
    (b"8BPS", Sniffed(Family.OTHER, "Photoshop PSD")),
    (b"SIMPLE  =", Sniffed(Family.OTHER, "FITS image")),
    (b"\x93NUMPY", Sniffed(Family.NATIVE, "NumPy array")),  # SlideBook 7 planes
)


def sniff(head: bytes, tail: bytes) -> Sniffed:
    """Name the format of a file from its first ``HEAD_BYTES`` and last ``TAIL_BYTES``."""
    if head.startswith(ND2_MAGIC):
        return Sniffed(Family.ND2, "Nikon ND2")
    if head.startswith(JP2_SIGNATURE):
        if tail.startswith(ND2_LEGACY_TRAILER):
            return Sniffed(Family.ND2, "Nikon ND2 (legacy, JPEG 2000)")
        return Sniffed(Family.LOSSY, "JPEG 2000")
    if tail.startswith(ND2_TRAILER) or any(m in head for m in _ND2_INNER_MARKERS):
        # the magic is gone but ND2 structures are there: a damaged ND2
        return Sniffed(Family.ND2, "Nikon ND2")
    if head[:4] == b"\0\0\0\0":
        for marker, family, fmt in _ZEROED_MARKERS:
            if marker in head:
                return Sniffed(family, fmt)
    if head.startswith(b"\x70\x00\x00\x00") and head[8:9] == b"\x2a":
        text = head[13:].decode("utf-16-le", "replace")
        if text.startswith("LMS_Object_File"):
            return Sniffed(Family.NATIVE, "Leica LOF")
        if "LMSDataContainerEnhancedHeader" in text[:64]:
            return Sniffed(Family.NATIVE, "Leica LIFEXT")
        return Sniffed(Family.NATIVE, "Leica LIF")
    for prefix, found in _PREFIXES:
        if head.startswith(prefix):
            if found.format == "HDF5":
                if b"Imaris" in head:
                    return Sniffed(Family.NATIVE, "Imaris IMS")
                return Sniffed(Family.OTHER, "HDF5")
            return found
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return Sniffed(Family.LOSSY, "WebP")
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return Sniffed(Family.OTHER, "AVI movie")
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"heic", b"heix", b"mif1", b"avif"):
            return Sniffed(Family.LOSSY, "HEIF/AVIF image")
        return Sniffed(Family.OTHER, "MP4/QuickTime movie")
    if head.startswith(b"SIS\0") and (b"ETS" in head[:256] or len(head) < 256):
        return Sniffed(Family.NATIVE, "Olympus/Evident ETS (VSI pixel data)")
    if head[:4] == _OLD_IMARIS:
        return Sniffed(Family.NATIVE, "Imaris IMS (before 5.5)")
    if _is_sld(head):
        return Sniffed(Family.NATIVE, "3i SlideBook SLD")
    return _sniff_text(head)


def _sniff_text(head: bytes) -> Sniffed:
    text = _text_head(head)
    if "<LMSDataContainerHeader" in text:
        return Sniffed(Family.NATIVE, "Leica XLEF/XLIF/XLCF")
    if "[FileInformation]" in text or "[Acquisition Parameters Common]" in text:
        return Sniffed(Family.NATIVE, "Olympus FluoView OIF")
    if "NDInfoFile" in text[:64]:
        return Sniffed(Family.NATIVE, "MetaMorph ND index")
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped.startswith("<?xml") or stripped.startswith("<"):
        return Sniffed(Family.OTHER, "XML")
    printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in text[:512])
    if text and printable / min(len(text), 512) > 0.95:
        return Sniffed(Family.OTHER, "text")
    return Sniffed(Family.UNKNOWN, "unrecognised")
