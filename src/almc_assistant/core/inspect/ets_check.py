"""Olympus/Evident ETS (the pixel files of a cellSens VSI): headers and the tile table.

Thread contract: one open file per call; never modifies it.

Layout (Bio-Formats ``CellSensReader.parseETSFile``): ``SIS`` volume header (header size,
version, dimension count, the ETS header's offset, the used-chunk table's offset and
count), ``ETS`` header (pixel type, channels, colour space, **compression**, quality, tile
size); the chunk table lists every tile (4 reserved bytes, one int per dimension, int64
offset, int32 byte count, 4 reserved). Every tile must lie inside the file. Tile
compression 0 raw, 2 JPEG, 3 JPEG 2000, 5 lossless JPEG, 8 PNG, 9 BMP.
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
    read_exact,
)

_VOLUME = struct.Struct("<4siiiqi4xqi4x")
_ETS = struct.Struct("<4s4xiiiii")
_COMPRESSION = {0: "raw", 2: "JPEG", 3: "JPEG 2000", 5: "lossless JPEG", 8: "PNG", 9: "BMP"}
_LOSSY = frozenset({2, 3})


def check_ets(fh: BinaryIO, size: int, fmt: str) -> Finding:
    details: dict[str, Any] = {}
    try:
        tiles, compression = _walk(fh, size, details)
    except Damage as exc:
        return damaged(fmt, [str(exc)], details)
    name = _COMPRESSION.get(compression, f"code {compression}")
    lossy = compression in _LOSSY
    return complete(
        fmt,
        f"A complete ETS pixel file: all {tiles:,} tiles its table lists lie inside the file "
        f"(tiles stored as {name}).",
        details,
        {Flag.NATIVE_LOSSY} if lossy else (),
    )


def _walk(fh: BinaryIO, size: int, details: dict[str, Any]) -> tuple[int, int]:
    magic, _, version, ndims, ets_at, _, table_at, count = _VOLUME.unpack(
        read_exact(fh, 0, _VOLUME.size, size, "volume header")
    )
    if magic.rstrip(b"\0") != b"SIS" or not 0 < ndims <= 32 or count < 0:
        raise Damage("Its volume header is corrupt (overwritten or zeroed).")
    ets = _ETS.unpack(read_exact(fh, ets_at, _ETS.size, size, "ETS header"))
    if ets[0].rstrip(b"\0") != b"ETS":
        raise Damage("Its ETS header is not where the volume header says (corrupt file).")
    compression = ets[4]
    details.update(ets_version=version, compression=_COMPRESSION.get(compression, compression))
    entry = struct.Struct(f"<4x{ndims}iqi4x")
    if count * entry.size > MAX_TABLE:
        raise Damage("Its tile table has an impossible size (corrupt file).")
    table = read_exact(fh, table_at, count * entry.size, size, "tile table")
    outside = 0
    for values in entry.iter_unpack(table):
        offset, nbytes = values[-2], values[-1]
        if offset < 0 or nbytes < 0 or offset + nbytes > size:
            outside += 1
    details["tiles"] = count
    if outside:
        raise Damage(
            f"{outside:,} of its {count:,} tiles lie beyond the end of the file ({size:,} "
            "bytes): the file is cut off."
        )
    return count, compression
