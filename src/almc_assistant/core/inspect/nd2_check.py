"""Judge a Nikon ND2 file: complete and readable, damaged, or lossy.

Thread contract: called from worker threads, one file per call; never modifies the file.

Steps (DOMAIN.md 2.2, 7.2), all on headers: the start chunk; the trailer in the last 40
bytes (written last, so it is missing while NIS-Elements is still writing and after an
interrupted copy); the chunk map it points to, whose ``ImageDataSeq|n!`` entries must all
lie inside the file and number as many as the frames the attributes declare; then the
``nd2`` package must load attributes, sizes and metadata (``ND2File()`` alone opens even
truncated files). Pixels are never read.
"""

from __future__ import annotations

import datetime as dt
import struct
from pathlib import Path
from typing import Any, BinaryIO

from almc_assistant.core.inspect.finding import Finding
from almc_assistant.core.inspect.model import Flag
from almc_assistant.core.inspect.signatures import ND2_MAGIC, ND2_TRAILER
from almc_assistant.core.verdicts import Verdict

_CHUNK = struct.Struct("<IIQ")  # magic, name length, data length
_FILEMAP = b"ND2 FILEMAP SIGNATURE NAME 0001!"
_MAX_MAP = 256 << 20  # a chunk map larger than this is corrupt, not real
_UNIX_EPOCH_JDN = 2440587.5


class _Damage(Exception):
    """A reason the file cannot be read completely (plain words)."""


def check_nd2(path: Path, fh: BinaryIO, size: int, head: bytes, tail: bytes, fmt: str) -> Finding:
    details: dict[str, Any] = {}
    try:
        frames_in_map: tuple[int, int] | None = None
        if head.startswith(ND2_MAGIC):
            frames_in_map = _modern_structure(fh, size, head, tail, details)
        elif fmt.startswith("Nikon ND2 (legacy"):
            details["legacy"] = True
        else:
            raise _Damage(
                "The start of the file is not an ND2 header (it was overwritten or zeroed), "
                "although ND2 structures are present further in."
            )
        flags = _read_with_nd2(path, frames_in_map, details)
    except _Damage as exc:
        return Finding(Verdict.NATIVE_DAMAGED, fmt, (_DAMAGED, str(exc)), frozenset(), details)
    except Exception as exc:  # nd2 raises ValueError, struct.error, OSError, ...
        reason = f"The ND2 reader could not load its metadata: {type(exc).__name__}: {exc}"
        return Finding(Verdict.NATIVE_DAMAGED, fmt, (_DAMAGED, reason[:300]), frozenset(), details)
    reasons = [
        "A complete native ND2 file: its table of contents is intact, its metadata load and "
        f"all its frames ({details.get('frames', 0):,}) are present."
    ]
    if Flag.ND2_LOSSY in flags:
        reasons.append(
            "NIS-Elements saved it with lossy compression: pixel values were changed during "
            "acquisition."
        )
    return Finding(Verdict.NATIVE_OK, fmt, tuple(reasons), flags, details)


_DAMAGED = (
    "This ND2 file is incomplete or damaged. It may still be being written by "
    "NIS-Elements, or the acquisition or a copy was interrupted."
)


def _modern_structure(
    fh: BinaryIO, size: int, head: bytes, tail: bytes, details: dict[str, Any]
) -> tuple[int, int]:
    """Check the start chunk, trailer and chunk map; return (frames, smallest frame chunk)."""
    if len(head) < _CHUNK.size:
        raise _Damage("The file is cut off inside its first header.")
    magic, name_len, data_len = _CHUNK.unpack_from(head)
    if len(head) >= 112 and name_len == 32 and data_len == 64:
        version = head[16 + 32 : 16 + 32 + 8].split(b"\x00")[0].decode("ascii", "replace")
        details["nd2_version"] = version.replace("Ver", "")
    if not tail.startswith(ND2_TRAILER) or len(tail) < 40:
        raise _Damage(
            "Its table of contents, which NIS-Elements writes at the very end of the file, is "
            "missing: the end of the file is not there."
        )
    (location,) = struct.unpack("<Q", tail[32:40])
    if location + _CHUNK.size > size:
        raise _Damage("Its table of contents points beyond the end of the file.")
    fh.seek(location)
    magic, name_len, data_len = _CHUNK.unpack(fh.read(_CHUNK.size))
    name = fh.read(name_len)
    if magic != 0x0ABECEDA or not name.startswith(_FILEMAP) or data_len > _MAX_MAP:
        raise _Damage("Its table of contents is not where the end of the file says it is.")
    data = fh.read(data_len)
    if len(data) < data_len:
        raise _Damage("Its table of contents is cut off.")
    frames, outside, smallest = _scan_map(data, size)
    if outside:
        raise _Damage(
            f"{outside:,} of its parts (image frames or metadata) should lie beyond the end of "
            "the file: the file is cut off."
        )
    details["frames_in_file"] = frames
    return frames, smallest


def _scan_map(data: bytes, size: int) -> tuple[int, int, int]:
    """Frames in the chunk map, entries pointing past ``size``, smallest frame chunk."""
    pos, frames, outside, smallest = 0, 0, 0, 1 << 63
    while True:
        end = data.find(b"!", pos)
        if end < 0:
            raise _Damage("Its table of contents is corrupt.")
        name = data[pos : end + 1]
        if name == ND2_TRAILER:
            return frames, outside, smallest
        if end + 17 > len(data):
            raise _Damage("Its table of contents is corrupt.")
        offset, length = struct.unpack_from("<QQ", data, end + 1)
        if name.startswith(b"ImageDataSeq|"):
            frames += 1
            smallest = min(smallest, length)
        if offset + length > size:
            outside += 1
        pos = end + 17


def _read_with_nd2(
    path: Path, frames_in_map: tuple[int, int] | None, details: dict[str, Any]
) -> frozenset[Flag]:
    import nd2

    flags: set[Flag] = set()
    with nd2.ND2File(path) as f:
        attributes = f.attributes
        sizes = dict(f.sizes)
        f.metadata  # noqa: B018  (loading it is the check)
        details.update(
            nd2_version=".".join(map(str, f.version)),
            legacy=f.is_legacy,
            sizes=sizes,
            dtype=str(f.dtype),
            frames=attributes.sequenceCount,
            bits_significant=attributes.bitsPerComponentSignificant,
            bits_in_memory=attributes.bitsPerComponentInMemory,
            compression=attributes.compressionType or "none",
        )
        if attributes.compressionType == "lossy":
            flags.add(Flag.ND2_LOSSY)
        if frames_in_map is not None:
            _frames_consistent(attributes, *frames_in_map)
        details["acquisition_time"] = _acquired(f, path)
        info = f.text_info
        for key in ("capturing", "optics", "date"):
            if info.get(key):
                details[f"text_{key}"] = str(info[key]).strip().splitlines()[0][:120]
    return frozenset(flags)


def _frames_consistent(attributes: Any, frames: int, smallest: int) -> None:
    """As many frames as declared, and (uncompressed) each as large as a frame must be."""
    if frames < attributes.sequenceCount:
        raise _Damage(
            f"Only {frames:,} of its {attributes.sequenceCount:,} frames are in the file."
        )
    # an uncompressed frame chunk holds an 8-byte timestamp and then the pixels
    width_bytes, height = getattr(attributes, "widthBytes", 0), attributes.heightPx
    uncompressed = not attributes.compressionType and width_bytes and height
    if frames and uncompressed and smallest < width_bytes * height + 8:
        raise _Damage(
            "Some of its frames are shorter than the image size requires: part of the image "
            "data is missing."
        )


def _acquired(f: Any, path: Path) -> str | None:
    """Acquisition start (UTC, ISO 8601) from the frame metadata's Julian day number.

    nd2 substitutes the file's ctime when the recorded time is missing (DOMAIN.md 2.4);
    that would be the copy time, so it is reported as unknown instead.
    """
    if f.is_legacy or not f.attributes.sequenceCount:
        return None
    try:
        jdn = float(f.frame_metadata(0).channels[0].time.absoluteJulianDayNumber)
    except Exception:
        return None
    if jdn < 1:
        return None
    seconds = (jdn - _UNIX_EPOCH_JDN) * 86400
    if abs(seconds - path.stat().st_ctime) < 2:
        return None
    return dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat(timespec="seconds")
