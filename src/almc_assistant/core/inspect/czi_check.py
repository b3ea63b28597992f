"""Zeiss CZI: the file header, the subblock directory and every subblock it lists.

Thread contract: one open file per call; never modifies it.

Layout (czifile, libCZI): the file is a chain of segments, each with a 32-byte header
(16-byte id such as ``ZISRAWSUBBLOCK``, allocated size, used size). The file header
segment at 0 gives the positions of the directory, metadata and attachment directory
segments; the directory lists every image subblock (``DV`` entries: file position, file
part, compression, dimensions). A file cut off while copying or still being written has
its directory or metadata missing, or subblocks beyond its end. Pixels are never read.
"""

from __future__ import annotations

import struct
from typing import Any, BinaryIO

from almc_assistant.core.inspect.finding import Finding
from almc_assistant.core.inspect.model import Flag
from almc_assistant.core.inspect.structure import (
    MAX_TABLE,
    Damage,
    complete,
    damaged,
    read_at,
    read_exact,
)

_SEGMENT = struct.Struct("<16sqq")
_FILE_HEADER = struct.Struct("<iiii16s16siqqiq")
_ENTRY = struct.Struct("<2siqiiBB4si")
_DIMENSION = 20
# subblock compression codes (libCZI CompressionMode); 0 raw, 2 LZW, 5/6 zstd keep values
_LOSSY = {1: "JPEG", 4: "JPEG XR"}
_NAMES = {0: "uncompressed", 1: "JPEG", 2: "LZW", 4: "JPEG XR", 5: "zstd", 6: "zstd"}


def check_czi(fh: BinaryIO, size: int, fmt: str = "Zeiss CZI") -> Finding:
    details: dict[str, Any] = {}
    try:
        problems = _walk(fh, size, details)
    except Damage as exc:
        return damaged(fmt, [str(exc)], details)
    if problems:
        return damaged(fmt, problems, details)
    subblocks = details.get("subblocks", 0)
    lossy = sorted({_LOSSY[c] for c in details.get("compression_codes", []) if c in _LOSSY})
    flags = {Flag.NATIVE_LOSSY} if lossy else set()
    extra = [f"Its subblocks are compressed with {', '.join(lossy)}."] if lossy else []
    return complete(
        fmt,
        f"A complete Zeiss CZI file: its header, directory and all {subblocks:,} image "
        "subblocks it lists lie inside the file.",
        details,
        flags,
        extra,
    )


def _segment(fh: BinaryIO, pos: int, size: int, what: str, want: bytes) -> tuple[int, int]:
    sid, allocated, used = _SEGMENT.unpack(read_exact(fh, pos, 32, size, what))
    if sid.rstrip(b"\0") != want:
        raise Damage(f"Its {what} is not where the file header says it is (corrupt file).")
    if allocated < 0 or used < 0:
        raise Damage(f"Its {what} has an impossible size (corrupt file).")
    return allocated, used or allocated


def _walk(fh: BinaryIO, size: int, details: dict[str, Any]) -> list[str]:
    _segment(fh, 0, size, "file header", b"ZISRAWFILE")
    header = _FILE_HEADER.unpack(read_exact(fh, 32, _FILE_HEADER.size, size, "file header"))
    major, minor, file_part = header[0], header[1], header[6]
    directory, metadata, attachments = header[7], header[8], header[10]
    details.update(czi_version=f"{major}.{minor}", file_part=file_part)
    if header[9]:
        details["update_pending"] = True
        raise Damage(
            "Its header says it is still being written (ZEN's 'update pending' flag, cleared "
            "when the file is closed): the acquisition or save had not finished."
        )
    if directory <= 0:
        raise Damage(
            "Its file header does not point to a subblock directory: the file was not "
            "finished (ZEN may still be writing it, or it was interrupted)."
        )
    problems: list[str] = []
    if metadata > 0:
        try:
            _, used = _segment(fh, metadata, size, "metadata", b"ZISRAWMETADATA")
            if metadata + 32 + used > size:
                problems.append("Its metadata segment runs past the end of the file.")
        except Damage as exc:
            problems.append(str(exc))
    if attachments > 0:
        try:
            _segment(fh, attachments, size, "attachment directory", b"ZISRAWATTDIR")
        except Damage as exc:
            problems.append(str(exc))
    _, used = _segment(fh, directory, size, "subblock directory", b"ZISRAWDIRECTORY")
    if used > MAX_TABLE or directory + 32 + used > size:
        raise Damage("Its subblock directory runs past the end of the file.")
    if used < 128:
        raise Damage("Its subblock directory is too short to hold its header (corrupt file).")
    table = read_exact(fh, directory + 32, used, size, "subblock directory")
    subblocks, chain_problem = _chain(fh, size)
    problems += _subblocks(table, subblocks, size, details)
    if chain_problem and not problems:
        problems.append(chain_problem)
    return problems


def _chain(fh: BinaryIO, size: int) -> tuple[set[int], str]:
    """Walk the segments from the start to the end of the file.

    Returns the positions of the subblock segments met and the problem that stopped
    the walk before the end of the file ("" when it reached the end exactly).
    """
    subblocks: set[int] = set()
    pos = 0
    while pos < size:
        header = read_at(fh, pos, 32, size)
        if len(header) < 32:
            return subblocks, f"The file ends inside a segment header (at byte {pos:,})."
        sid, allocated, used = _SEGMENT.unpack(header)
        name = sid.rstrip(b"\0")
        if not name.startswith((b"ZISRAW", b"DELETED")) or allocated < 0 or used < 0:
            return subblocks, f"The segment at byte {pos:,} is corrupt (not a CZI segment)."
        end = pos + 32 + max(allocated, used)  # ZEN writes every segment whole
        if end > size:
            return subblocks, (
                f"Its {name.decode('ascii', 'replace')} segment at byte {pos:,} runs "
                f"{end - size:,} bytes past the end of the file: the file is cut off."
            )
        if name == b"ZISRAWSUBBLOCK":
            subblocks.add(pos)
        pos += 32 + max(allocated, used)
    return subblocks, ""


def _subblocks(table: bytes, segments: set[int], size: int, details: dict[str, Any]) -> list[str]:
    """Every directory entry of this file part must be a subblock segment met on the walk."""
    (count,) = struct.unpack_from("<i", table)
    pos, listed, other_parts, codes = 128, 0, 0, set()
    outside, bad, first_bad = 0, 0, ""
    for _ in range(max(0, count)):
        if pos + _ENTRY.size > len(table):
            return [f"Its subblock directory lists {count:,} subblocks but holds only {listed:,}."]
        schema, _, position, part, compression, _, _, _, ndims = _ENTRY.unpack_from(table, pos)
        if schema != b"DV" or not 0 <= ndims <= 64:
            return [f"Entry {listed + 1:,} of its subblock directory is corrupt."]
        pos += _ENTRY.size + ndims * _DIMENSION
        listed += 1
        codes.add(compression)
        if part != 0:
            other_parts += 1  # lies in another file of a multi-part CZI
        elif position not in segments:
            if position + 32 > size or position < 0:
                outside += 1
                first_bad = first_bad or f"subblock {listed:,} should start at byte {position:,}"
            else:
                bad += 1
    details.update(
        subblocks=listed,
        compression_codes=sorted(codes),
        compression=sorted({_NAMES.get(c, f"code {c}") for c in codes}),
    )
    if other_parts:
        details["subblocks_in_other_parts"] = other_parts
    problems = []
    if outside:
        problems.append(
            f"{outside:,} of its {listed:,} image subblocks lie beyond the end of the file "
            f"({size:,} bytes; e.g. {first_bad}): the file is cut off."
        )
    if bad:
        problems.append(
            f"{bad:,} of its {listed:,} image subblocks are not complete in the file (cut "
            "off or overwritten)."
        )
    return problems
