"""Leica LIF, LIFEXT and LOF: the XML header and the chain of memory blocks.

Thread contract: one open file per call; never modifies it.

Layout (liffile, readlif): ``0x70`` (int32), a length, ``0x2A``, the number of UTF-16
characters and the XML header. A LIF (and a LIFEXT) then holds memory blocks back to back:
``0x70``, a length, ``0x2A``, the block size (int32 in version 1, int64 in version 2),
``0x2A``, the block id (UTF-16) and the block's bytes. Every block the XML names with a
size must be present and lie inside the file. A LOF holds ``LMS_Object_File``, two
version fields, one memory block (``0x2A`` + int64 size + bytes) and then its XML header.
Pixels are never read.
"""

from __future__ import annotations

import re
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

_HEADER = struct.Struct("<IIBI")
_MEMORY_V1 = struct.Struct("<IIBIBI")
_MEMORY_V2 = struct.Struct("<IIBQBI")
_LOF_MEMORY = struct.Struct("<BQ")
_VERSION = re.compile(r'<LMSDataContainer(?:Enhanced)?Header[^>]*\bVersion="(\d+)"')
_MEMORY_TAG = re.compile(r"<Memory\b[^>]*>")
_ATTRIBUTE = re.compile(r'\b(Size|MemoryBlockID)="([^"]*)"')


def check_lif(fh: BinaryIO, size: int, fmt: str) -> Finding:
    details: dict[str, Any] = {}
    try:
        xml, end = _xml_block(fh, 0, size, "XML header")
        if xml == "LMS_Object_File":
            summary = _lof(fh, size, end, details)
        else:
            summary = _lif(fh, size, xml, end, details)
    except Damage as exc:
        return damaged(fmt, [str(exc)], details)
    return complete(fmt, summary, details)


def _xml_block(fh: BinaryIO, pos: int, size: int, what: str) -> tuple[str, int]:
    magic, _, star, chars = _HEADER.unpack(read_exact(fh, pos, _HEADER.size, size, what))
    if magic != 0x70 or star != 0x2A:
        raise Damage(f"Its {what} is not a Leica header (overwritten or corrupt).")
    if chars * 2 > MAX_TABLE:
        raise Damage(f"Its {what} has an impossible length (corrupt file).")
    raw = read_exact(fh, pos + _HEADER.size, chars * 2, size, what)
    return raw.decode("utf-16-le", "replace"), pos + _HEADER.size + chars * 2


def _lif(fh: BinaryIO, size: int, xml: str, pos: int, details: dict[str, Any]) -> str:
    match = _VERSION.search(xml[:2000])
    version = int(match.group(1)) if match else 2
    if "<LMSDataContainerEnhancedHeader" in xml[:200]:
        version = 2  # a LIFEXT always has 64-bit block sizes (liffile)
    details["lif_version"] = version
    entry = _MEMORY_V1 if version == 1 else _MEMORY_V2
    blocks: dict[str, int] = {}
    while pos < size:
        head = read_at(fh, pos, entry.size, size)
        if len(head) < entry.size:
            raise Damage(
                f"A memory block header at byte {pos:,} is cut off: the file ends at byte {size:,}."
            )
        magic, _, star1, length, star2, chars = entry.unpack(head)
        if magic != 0x70 or star1 != 0x2A or star2 != 0x2A or chars > 4096:
            raise Damage(f"The memory block at byte {pos:,} is corrupt (bad block header).")
        name_end = pos + entry.size + chars * 2
        name = read_exact(fh, pos + entry.size, chars * 2, size, "memory block name")
        block_id = name.decode("utf-16-le", "replace")
        if name_end + length > size:
            raise Damage(
                f"Its memory block {block_id} runs {name_end + length - size:,} bytes past "
                f"the end of the file ({size:,} bytes): the file is cut off."
            )
        blocks[block_id] = length
        pos = name_end + length
    missing = [ref for ref, want in _memory_refs(xml) if want > 0 and ref not in blocks]
    details.update(memory_blocks=len(blocks), data_bytes=sum(blocks.values()))
    if missing:
        raise Damage(
            f"{len(missing):,} of the memory blocks its header lists are not in the file "
            f"(e.g. {missing[0]}): the file is cut off."
        )
    return (
        f"A complete Leica file: its header and all {len(blocks):,} memory blocks it lists "
        "lie inside the file."
    )


def _memory_refs(xml: str) -> list[tuple[str, int]]:
    """(block id, size) of every ``<Memory>`` element of the XML header."""
    out = []
    for tag in _MEMORY_TAG.findall(xml):
        attributes = dict(_ATTRIBUTE.findall(tag))
        want = attributes.get("Size", "0")
        if "MemoryBlockID" in attributes and want.isdigit():
            out.append((attributes["MemoryBlockID"], int(want)))
    return out


def _lof(fh: BinaryIO, size: int, pos: int, details: dict[str, Any]) -> str:
    star1, _, star2, _ = struct.unpack("<BIBI", read_exact(fh, pos, 10, size, "version"))
    if star1 != 0x2A or star2 != 0x2A:
        raise Damage("Its version fields are corrupt.")
    star, length = _LOF_MEMORY.unpack(read_exact(fh, pos + 10, 9, size, "image block header"))
    if star != 0x2A:
        raise Damage("Its image block header is corrupt.")
    data_end = pos + 19 + length
    if data_end > size:
        raise Damage(
            f"Its image data run {data_end - size:,} bytes past the end of the file "
            f"({size:,} bytes): the file is cut off."
        )
    _xml_block(fh, data_end, size, "XML metadata (written after the image data)")
    details["data_bytes"] = length
    return (
        "A complete Leica LOF file: its image block and the XML metadata after it lie "
        "inside the file."
    )
