"""Build a genuinely large, valid ND2 from a small real one (for the check benchmark).

The ``nd2`` package cannot write ND2 files and no public multi-GB ND2 is small enough to
ship, so the benchmark grows a real NIS-Elements file instead. ND2 layout (nd2's
``_parse/_chunk_decode.py``): a sequence of chunks, each ``uint32 magic 0x0ABECEDA,
uint32 name length, uint64 data length, name, data``; a chunk map at the end lists every
chunk as ``name!`` + ``uint64 offset`` + ``uint64 size``; the last 40 bytes repeat the
map's signature and its offset. Chunks are 4096-byte aligned and readers find everything
through the map, so unreferenced space between chunks is legal (NIS leaves alignment gaps).

``inflate`` inserts one well-formed, 4096-aligned padding chunk of ``extra`` bytes right
after the file's first chunk, and adds ``extra`` to every map offset beyond it and to the
trailer. Every original chunk keeps its bytes, so nd2 reads the same frames and metadata
(``tests/core/inspect/test_nd2_inflate.py`` checks that). The padding is written sparse
(a seek), so a 4 GiB file costs no disk space; the checker reads headers only, and offsets
above 4 GiB exercise the 64-bit paths.

What it does not give: a map with the many thousands of frame entries a real multi-GB
acquisition has (the map of the source file is kept). ``bench_check`` therefore also
times a map scan of 1,000,000 synthetic entries.
"""

from __future__ import annotations

import struct
from pathlib import Path

MAGIC = 0x0ABECEDA
CHUNK = struct.Struct("<IIQ")
TRAILER = b"ND2 CHUNK MAP SIGNATURE 0000001!"
FILEMAP = b"ND2 FILEMAP SIGNATURE NAME 0001!"
PAD_NAME = b"ALMC BENCHMARK PADDING CHUNK!"  # not in the map: readers never look at it
ALIGN = 4096


def inflate(source: Path, target: Path, extra: int) -> int:
    """Write ``source`` to ``target`` grown by about ``extra`` bytes; return the new size."""
    data = source.read_bytes()
    if data[-40:-8] != TRAILER:
        raise ValueError(f"{source} has no ND2 chunk-map trailer")
    (map_at,) = struct.unpack("<Q", data[-8:])
    magic, name_len, map_len = CHUNK.unpack_from(data, map_at)
    name_at = map_at + CHUNK.size
    if magic != MAGIC or not data[name_at : name_at + name_len].startswith(FILEMAP):
        raise ValueError(f"{source} has no chunk map where its trailer points")
    _, first_name, first_len = CHUNK.unpack_from(data, 0)
    insert_at = -(-(CHUNK.size + first_name + first_len) // ALIGN) * ALIGN
    extra = -(-extra // ALIGN) * ALIGN
    body_at = name_at + name_len
    new_map = _shift_map(bytearray(data[body_at : body_at + map_len]), insert_at, extra)
    head = CHUNK.pack(MAGIC, len(PAD_NAME), extra - CHUNK.size - len(PAD_NAME)) + PAD_NAME
    with target.open("wb") as out:
        out.write(data[:insert_at])
        out.write(head)
        out.seek(insert_at + extra)  # sparse: the padding's data are zeros
        out.write(data[insert_at:body_at])
        out.write(new_map)
        out.write(data[body_at + map_len :])  # normally nothing: the map ends the file
        # the last 40 bytes (a second copy of the end marker, after the map's own) point
        # at the map: move that pointer too
        out.seek(-8, 2)
        out.write(struct.pack("<Q", map_at + extra))
        return out.seek(0, 2)


def _shift_map(body: bytearray, insert_at: int, extra: int) -> bytes:
    pos = 0
    while True:
        end = body.index(b"!", pos) + 1
        name = bytes(body[pos:end])
        (offset,) = struct.unpack_from("<Q", body, end)
        if offset >= insert_at:
            struct.pack_into("<Q", body, end, offset + extra)
        if name == TRAILER:
            return bytes(body)
        pos = end + 16
