"""HDF5 files (Imaris IMS): the superblock and its end-of-file address.

Thread contract: one open file per call; never modifies it.

Layout (HDF5 file format specification, "Superblock"): the signature
``\\x89HDF\\r\\n\\x1a\\n`` at byte 0, 512, 1024, 2048, ... (after an optional user block);
versions 0 and 1 carry, after their fixed fields, the base address, the free-space address,
the **end-of-file address** and the driver block address; versions 2 and 3 carry the base
address, the superblock extension address, the end-of-file address and the root group's
object header address. The library writes the end-of-file address when it closes the file,
so a copy cut off short is smaller than it (HDF5 itself then refuses the file as
"truncated"). Versions 2 and 3 also keep a "file is open for writing" flag.
"""

from __future__ import annotations

import struct
from typing import Any, BinaryIO

from almc_assistant.core.inspect.finding import Finding
from almc_assistant.core.inspect.structure import Damage, complete, damaged, read_at

SIGNATURE = b"\x89HDF\r\n\x1a\n"
_UNDEFINED = (1 << 64) - 1


def find_superblock(fh: BinaryIO, size: int) -> int | None:
    pos = 0
    while pos < min(size, 1 << 30):
        if read_at(fh, pos, 8, size) == SIGNATURE:
            return pos
        pos = 512 if pos == 0 else pos * 2
    return None


def check_hdf5(fh: BinaryIO, size: int, fmt: str) -> Finding:
    details: dict[str, Any] = {}
    try:
        eof, writing = _superblock(fh, size, details)
    except Damage as exc:
        return damaged(fmt, [str(exc)], details)
    if eof > size:
        return damaged(
            fmt,
            [
                f"Its superblock says the file is {eof:,} bytes long but only {size:,} bytes "
                f"are here: the last {eof - size:,} bytes are missing (cut off)."
            ],
            details,
        )
    if writing:
        return damaged(
            fmt,
            [
                "It is marked as still open for writing: the program writing it has not "
                "closed it (still running, or it stopped before finishing)."
            ],
            details,
        )
    return complete(
        fmt,
        f"A complete {fmt} file: its HDF5 superblock is intact and the file is as long as "
        "the superblock says (the datasets inside are not read).",
        details,
    )


def _superblock(fh: BinaryIO, size: int, details: dict[str, Any]) -> tuple[int, bool]:
    base = find_superblock(fh, size)
    if base is None:
        raise Damage("Its HDF5 superblock is missing (the start of the file is overwritten).")
    head = read_at(fh, base, 128, size)
    if len(head) < 24:  # the fixed fields of every superblock version
        raise Damage("Its HDF5 superblock is cut off.")
    version = head[8]
    details["hdf5_superblock"] = version
    if version in (0, 1):
        offsets, lengths = head[13], head[14]
        flags_at, addresses = 20, 24 + (4 if version == 1 else 0)
        eof_index, writing = 2, False
    elif version in (2, 3):
        offsets, lengths = head[9], head[10]
        flags_at, addresses, eof_index = 11, 12, 2
        writing = bool(head[flags_at] & 0x01) if version == 3 else False
    else:
        raise Damage(f"Its HDF5 superblock has an unknown version ({version}).")
    if offsets not in (2, 4, 8) or lengths not in (2, 4, 8):
        raise Damage("Its HDF5 superblock is corrupt (impossible address size).")
    code = {2: "H", 4: "I", 8: "Q"}[offsets]
    needed = addresses + offsets * 4
    if len(head) < needed:
        raise Damage("Its HDF5 superblock is cut off.")
    values = struct.unpack_from(f"<4{code}", head, addresses)
    base_address, eof = values[0], values[eof_index]
    if eof == (1 << (8 * offsets)) - 1 or eof == _UNDEFINED:
        raise Damage("Its HDF5 superblock has no end-of-file address (corrupt file).")
    details["declared_size"] = base_address + eof + (base if base_address == 0 else 0)
    return details["declared_size"], writing
