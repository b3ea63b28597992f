"""Synthetic native files (CZI, LIF, LOF, OIB, IMS, OIR, ETS, NPY, FITS, SLD) in memory.

Thread contract: pure functions returning bytes; safe anywhere.

Each builder follows the layout the format's walker documents (czifile/libCZI, liffile,
[MS-CFB], the HDF5 specification, oirfile, Bio-Formats CellSensReader, NumPy, FITS 4.0),
with tiny pixel blocks. They stand in where no small real file is public, and give the
fuzzer seeds; real files are used where they exist (``data/README.md``).
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable

import numpy as np
import tifffile


def _czi_segment(sid: bytes, data: bytes, allocated: int | None = None) -> bytes:
    size = allocated if allocated is not None else len(data)
    return struct.pack("<16sqq", sid, size, len(data)) + data.ljust(size, b"\0")


def czi(subblocks: int = 4, *, directory_first: bool = True, compression: int = 0) -> bytes:
    """A CZI: file header, [directory,] subblocks, metadata[, directory]."""
    pixels = bytes(64)

    def entry(position: int) -> bytes:
        dims = b"".join(struct.pack("<4siifi", d, 0, n, 0.0, n) for d, n in ((b"X", 8), (b"Y", 8)))
        return struct.pack("<2siqiiBB4si", b"DV", 0, position, 0, compression, 0, 0, b"", 2) + dims

    entry_size = len(entry(0))
    header_len = 32 + 512
    directory_len = 32 + 128 + subblocks * entry_size
    subblock_data = struct.pack("<iiq", 0, 0, len(pixels)).ljust(256 - 0, b"\0") + pixels
    subblock_len = 32 + len(subblock_data)
    start = header_len + (directory_len if directory_first else 0)
    positions = [start + i * subblock_len for i in range(subblocks)]
    metadata_at = start + subblocks * subblock_len
    metadata = _czi_segment(b"ZISRAWMETADATA", struct.pack("<ii", 5, 0).ljust(256, b"\0") + b"<M/>")
    directory_at = header_len if directory_first else metadata_at + len(metadata)
    table = struct.pack("<i", subblocks).ljust(128, b"\0") + b"".join(entry(p) for p in positions)
    directory = _czi_segment(b"ZISRAWDIRECTORY", table)
    file_header = struct.pack(
        "<iiii16s16siqqiq", 1, 0, 0, 0, bytes(16), bytes(16), 0, directory_at, metadata_at, 0, 0
    )
    out = _czi_segment(b"ZISRAWFILE", file_header, 512)
    if directory_first:
        out += directory
    out += b"".join(_czi_segment(b"ZISRAWSUBBLOCK", subblock_data) for _ in positions)
    out += metadata
    if not directory_first:
        out += directory
    return out


def _lif_text(text: str) -> bytes:
    raw = text.encode("utf-16-le")
    return struct.pack("<IIBI", 0x70, len(raw) + 5, 0x2A, len(text)) + raw


def lif(blocks: int = 3, version: int = 2) -> bytes:
    """A LIF: XML header naming ``blocks`` memory blocks, then the blocks."""
    memories = "".join(
        f'<Element Name="s{i}"><Memory Size="256" MemoryBlockID="MemBlock_{i}"/></Element>'
        for i in range(blocks)
    )
    xml = (
        f'<LMSDataContainerHeader Version="{version}"><Element Name="p">{memories}</Element>'
        "</LMSDataContainerHeader>"
    )
    out = bytearray(_lif_text(xml))
    size_fmt = "<IIBQBI" if version == 2 else "<IIBIBI"
    for i in range(blocks):
        name = f"MemBlock_{i}".encode("utf-16-le")
        out += struct.pack(size_fmt, 0x70, 0, 0x2A, 256, 0x2A, len(name) // 2) + name
        out += bytes(range(256))
    return bytes(out)


def lof() -> bytes:
    """A LOF: 'LMS_Object_File', versions, one memory block, then its XML."""
    out = _lif_text("LMS_Object_File") + struct.pack("<BIBI", 0x2A, 2, 0x2A, 1)
    out += struct.pack("<BQ", 0x2A, 512) + bytes(512)
    return out + _lif_text(
        '<LMSDataContainerHeader Version="2"><Element Name="x"/></LMSDataContainerHeader>'
    )


def ole2(
    stream_names: tuple[str, ...] = ("OibInfo.txt", "Storage00001"), stream_size: int = 6000
) -> bytes:
    """A version-3 compound file (512-byte sectors) with big streams (beyond the 4096 cutoff)."""
    sector = 512
    per_stream = -(-stream_size // sector)
    n_streams = len(stream_names)
    # sector 0: FAT, sector 1: directory, then the streams' sectors
    fat = [0xFFFFFFFD, 0xFFFFFFFE]
    starts = []
    for _ in stream_names:
        first = len(fat)
        starts.append(first)
        fat += [first + k + 1 for k in range(per_stream - 1)] + [0xFFFFFFFE]
    fat += [0xFFFFFFFF] * (sector // 4 - len(fat))

    def entry(
        name: str,
        kind: int,
        start: int,
        size: int,
        child: int = 0xFFFFFFFF,
        right: int = 0xFFFFFFFF,
    ) -> bytes:
        raw = (name + "\0").encode("utf-16-le")
        out = raw.ljust(64, b"\0") + struct.pack("<HBB", len(raw), kind, 1)
        out += struct.pack("<III", 0xFFFFFFFF, right, child) + bytes(16) + bytes(4) + bytes(16)
        return out + struct.pack("<IIII", start, size, 0, 0)[:12].ljust(12, b"\0")[:12] + b""

    entries = [entry("Root Entry", 5, 0xFFFFFFFE, 0, child=1)]
    for i, (name, start) in enumerate(zip(stream_names, starts, strict=True)):
        right = i + 2 if i + 1 < n_streams else 0xFFFFFFFF
        entries.append(entry(name, 2, start, stream_size, right=right))
    directory = b"".join(e.ljust(128, b"\0")[:128] for e in entries).ljust(sector, b"\0")
    header = bytearray(512)
    header[0:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    struct.pack_into("<HHHHH", header, 0x18, 0x3E, 3, 0xFFFE, 9, 6)
    struct.pack_into("<IIIIIIII", header, 0x2C, 1, 1, 0, 4096, 0xFFFFFFFE, 0, 0xFFFFFFFE, 0)
    struct.pack_into("<109I", header, 0x4C, 0, *([0xFFFFFFFF] * 108))
    body = struct.pack(f"<{sector // 4}I", *fat) + directory
    body += b"".join(bytes([i + 1]) * (per_stream * sector) for i in range(n_streams))
    return bytes(header) + body


def hdf5(payload: int = 4096, version: int = 2, *, imaris: bool = True) -> bytes:
    """An HDF5 superblock (v0 or v2) whose end-of-file address is the file's length."""
    if version == 0:
        fixed = (
            b"\x89HDF\r\n\x1a\n" + bytes([0, 0, 0, 0, 0, 8, 8, 0]) + struct.pack("<HHI", 4, 16, 0)
        )
        head_len = len(fixed) + 32 + 40
        eof = head_len + payload
        block = fixed + struct.pack("<QQQQ", 0, (1 << 64) - 1, eof, (1 << 64) - 1) + bytes(40)
    else:
        eof = 48 + payload
        block = (
            b"\x89HDF\r\n\x1a\n"
            + bytes([2, 8, 8, 0])
            + struct.pack("<QQQQ", 0, (1 << 64) - 1, eof, 48)
            + bytes(4)
        )
    marker = b"ImarisDataSet" if imaris else b"SomeDataSet!!"
    return block.ljust(48 if version == 2 else len(block), b"\0") + marker + bytes(payload - 13)


def oir(blocks: int = 3) -> bytes:
    """An OIR: header with declared size and index position, blocks, index at the end."""
    out = bytearray(b"OLYMPUSRAWFORMAT" + struct.pack("<IIII", 12, 0, 1, 2) + bytes(16))
    out += bytes(96 - len(out))
    offsets = []
    for i in range(blocks):
        offsets.append(len(out))
        kind = 4 if i else 0
        out += struct.pack("<II", 128, kind) + bytes(128)
    index_at = len(out)
    out += b"\xff\xff\xff\xff" + b"".join(struct.pack("<Q", o) for o in offsets) + bytes(8)
    struct.pack_into("<QQ", out, 32, len(out), index_at)
    return bytes(out)


def ets(tiles: int = 4, compression: int = 0) -> bytes:
    """An ETS: SIS volume header, ETS header, tiles, then the used-chunk table."""
    ndims = 3
    ets_header = struct.pack("<4s4xiiiii", b"ETS\0", 2, 3, 1, compression, 90) + struct.pack(
        "<iii", 8, 8, 1
    )
    ets_header = ets_header.ljust(228, b"\0")
    ets_at = 64
    tile = bytes(128)
    tiles_at = ets_at + len(ets_header)
    table_at = tiles_at + tiles * len(tile)
    volume = struct.pack(
        "<4siiiqi4xqi4x", b"SIS\0", 64, 2, ndims, ets_at, len(ets_header), table_at, tiles
    )
    table = b"".join(
        struct.pack(f"<4x{ndims}iqi4x", i, 0, 0, tiles_at + i * len(tile), len(tile))
        for i in range(tiles)
    )
    return volume.ljust(ets_at, b"\0") + ets_header + tile * tiles + table


def lsm(planes: int = 2) -> bytes:
    """A TIFF carrying Zeiss's CZ_LSMINFO tag (34412): an LSM to the TIFF walker."""
    info = bytearray(512)
    struct.pack_into("<Iiiiiiiiii", info, 0, 0x0400494C, 512, 32, 32, planes, 1, 1, 2, 0, 0)
    out = io.BytesIO()
    tifffile.imwrite(
        out,
        np.zeros((planes, 32, 32), np.uint16),
        extratags=[(34412, 7, len(info), bytes(info), True)],
        photometric="minisblack",
        metadata=None,
    )
    return out.getvalue()


def npy_plane() -> np.ndarray:
    return (np.arange(32 * 32) % 4096).reshape(32, 32).astype(np.uint16)


def npy(shape: tuple[int, ...] = (4, 16, 16)) -> bytes:
    out = io.BytesIO()
    np.save(out, np.zeros(shape, dtype="<u2"))
    return out.getvalue()


def fits(bitpix: int = 16, shape: tuple[int, int] = (16, 16)) -> bytes:
    cards = [
        "SIMPLE  =                    T",
        f"BITPIX  = {bitpix:>20}",
        "NAXIS   =                    2",
        f"NAXIS1  = {shape[1]:>20}",
        f"NAXIS2  = {shape[0]:>20}",
        "END",
    ]
    header = "".join(c.ljust(80) for c in cards).ljust(2880).encode("ascii")
    data = bytes(abs(bitpix) // 8 * shape[0] * shape[1])
    return header + data.ljust(-(-len(data) // 2880) * 2880, b"\0")


def sld() -> bytes:
    """The first bytes SlideBook 6 writes (magic shorts at offset 4); the rest is opaque."""
    return b"\x6c\x00\x00\x00II" + struct.pack("<HH", 0x006C, 0x0100) + bytes(2000)


def xlef(references: tuple[str, ...] = ("image.lof",)) -> bytes:
    files = "".join(f'<Reference File="{r}"/>' for r in references)
    xml = (
        '<?xml version="1.0" encoding="utf-16"?><LMSDataContainerHeader Version="2">'
        f'<Element Name="e"><Children>{files}</Children></Element></LMSDataContainerHeader>'
    )
    return b"\xff\xfe" + xml.encode("utf-16-le")


BUILDERS: dict[str, Callable[[], bytes]] = {
    "sample.czi": czi,
    "dir-last.czi": lambda: czi(directory_first=False),
    "jpeg.czi": lambda: czi(compression=1),
    "sample.lif": lif,
    "v1.lif": lambda: lif(version=1),
    "sample.lof": lof,
    "sample.oib": ole2,
    "sample.ims": hdf5,
    "v0.ims": lambda: hdf5(version=0),
    "sample.oir": oir,
    "frame_t.ets": ets,
    "plane.npy": npy,
    "sample.fits": fits,
    "sample.sld": sld,
    "sample.lsm": lsm,
    "sample.xlef": xlef,
}
