"""Olympus/Evident OIR (and its ``name_00001`` parts): header, block index, blocks.

Thread contract: one open file per call; never modifies it.

Layout (oirfile, reverse-engineered from FluoView files): ``OLYMPUSRAWFORMAT`` then, at
byte 32, the size the file should have and the position of the block index (written at
the end). The index starts with ``0xFFFFFFFF`` and lists block offsets; each block starts
with its length and type (metadata, frame properties, thumbnail, UID, pixels). A copy cut
off short is smaller than the declared size and loses the index. Pixels are never read.
"""

from __future__ import annotations

import struct
from typing import Any, BinaryIO

from almc_assistant.core.inspect.finding import Finding
from almc_assistant.core.inspect.structure import (
    MAX_TABLE,
    Damage,
    complete,
    damaged,
    read_at,
    read_exact,
)

_SIZED = frozenset({0, 1, 2, 4})


def check_oir(fh: BinaryIO, size: int, fmt: str) -> Finding:
    details: dict[str, Any] = {}
    try:
        blocks = _walk(fh, size, details)
    except Damage as exc:
        return damaged(fmt, [str(exc)], details)
    return complete(
        fmt,
        f"A complete OIR file: it is as long as its header says and all {blocks:,} blocks "
        "its index lists lie inside it.",
        details,
    )


def _walk(fh: BinaryIO, size: int, details: dict[str, Any]) -> int:
    header = read_exact(fh, 0, 48, size, "header")
    if header[:16] != b"OLYMPUSRAWFORMAT":
        raise Damage("Its header is not an OIR header (overwritten or corrupt).")
    declared, index_at = struct.unpack_from("<QQ", header, 32)
    details["declared_size"] = declared
    if declared > size:
        raise Damage(
            f"Its header says the file is {declared:,} bytes long but only {size:,} bytes are "
            f"here: the last {declared - size:,} bytes are missing (cut off)."
        )
    if not 48 <= index_at < declared or declared - index_at > MAX_TABLE:
        raise Damage("Its header does not point to a valid block index (corrupt file).")
    index = read_exact(fh, index_at, declared - index_at, size, "block index")
    if len(index) < 4 or index[:4] != b"\xff\xff\xff\xff":
        raise Damage("Its block index is missing or corrupt (the end of the file is damaged).")
    count = 0
    for (offset,) in struct.iter_unpack("<Q", index[4 : 4 + (len(index) - 4) // 8 * 8]):
        if offset == 0 or offset > declared:
            break
        block = read_at(fh, offset, 8, size)
        if len(block) < 8:
            raise Damage(f"Block {count + 1:,} of its index lies beyond the end of the file.")
        length, kind = struct.unpack("<II", block)
        # metadata, frame properties, thumbnail and pixel blocks: ``length`` bytes follow
        if kind in _SIZED and offset + 8 + length > size:
            raise Damage(
                f"Block {count + 1:,} (at byte {offset:,}) runs past the end of the file: "
                "the file is cut off."
            )
        count += 1
    details["blocks"] = count
    return count
