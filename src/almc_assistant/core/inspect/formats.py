"""Verdicts for formats recognised by signature alone: other vendors' native files,
lossy image formats, and other exports or documents.

Thread contract: called from worker threads, one file per call; never modifies the file.

Other native formats (CZI, LIF, OIR, IMS, SLD, OIF, ...) are recognised by their signature,
not validated in depth: the reason says so. An OLE2 compound file is an Olympus OIB when
its directory names the ``OibInfo.txt`` stream, otherwise an Office document.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import BinaryIO

from almc_assistant.core.inspect import wording
from almc_assistant.core.inspect.finding import Finding
from almc_assistant.core.inspect.model import Verdict
from almc_assistant.core.inspect.signatures import Family, Sniffed

_OLE_NAMES = (
    ("OibInfo", "Olympus FluoView OIB", Family.NATIVE),
    ("PowerPoint Document", "PowerPoint document", Family.OTHER),
    ("WordDocument", "Word document", Family.OTHER),
    ("Workbook", "Excel workbook", Family.OTHER),
)


def check_by_signature(path: Path, fh: BinaryIO, sniffed: Sniffed) -> Finding:
    if sniffed.family is Family.OLE2:
        sniffed = _ole2_kind(fh)
    fmt = sniffed.format
    if sniffed.family is Family.NATIVE:
        return Finding(
            Verdict.NATIVE_OK,
            fmt,
            (
                f"A {fmt} file, recognised by its signature: a native microscope format. "
                "Its internal structure is not validated by this check.",
            ),
        )
    if sniffed.family is Family.LOSSY:
        return Finding(Verdict.LOSSY_FORMAT, fmt, (wording.lossy_format_reason(fmt),))
    if sniffed.family is Family.OTHER:
        return Finding(Verdict.OTHER_FORMAT, fmt, (wording.OTHER_FORMAT.format(format=fmt),))
    suffix = path.suffix or "(no extension)"
    return Finding(Verdict.OTHER_FORMAT, fmt, (wording.UNRECOGNISED.format(suffix=suffix),))


def _ole2_kind(fh: BinaryIO) -> Sniffed:
    """Read the first directory sector of an OLE2 file and name what it holds."""
    fh.seek(0)
    header = fh.read(512)
    if len(header) < 512:
        return Sniffed(Family.UNKNOWN, "OLE2 compound file (cut off)")
    shift = struct.unpack_from("<H", header, 0x1E)[0]
    first_dir = struct.unpack_from("<I", header, 0x30)[0]
    sector = 1 << min(shift, 16)
    fh.seek((first_dir + 1) * sector)
    directory = fh.read(max(sector, 4096)).decode("utf-16-le", "replace")
    for needle, fmt, family in _OLE_NAMES:
        if needle in directory:
            return Sniffed(family, fmt)
    return Sniffed(Family.OTHER, "OLE2 compound file")
