"""Leica XLEF / XLIF / XLCF (LAS X "export as folder"): the XML and the files it names.

Thread contract: one open file per call; reads the XML (at most 16 MiB) and looks up the
referenced files' sizes; never modifies anything.

Layout (liffile): an XML document (UTF-8 or UTF-16) with an ``LMSDataContainerHeader``;
``Reference File="..."`` children name further XLEF/XLCF/XLIF files and ``File="..."``
attributes name the image files (LOF, TIFF, ...), relative to the XML's folder. Every one
must exist and be non-empty; their own contents are checked as files of their own.
"""

from __future__ import annotations

import re
from pathlib import Path, PureWindowsPath
from typing import BinaryIO
from urllib.parse import unquote

from almc_assistant.core.inspect.finding import Finding
from almc_assistant.core.inspect.structure import complete, damaged, read_at

_MAX_XML = 16 << 20
_FILE_ATTRIBUTE = re.compile(r'\bFile="([^"]+)"')
_CODECS = ((b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"), (b"<\x00", "utf-16-le"),
           (b"\x00<", "utf-16-be"))  # fmt: skip


def check_xlef(path: Path, fh: BinaryIO, size: int, fmt: str) -> Finding:
    raw = read_at(fh, 0, _MAX_XML, size)
    codec = next((c for start, c in _CODECS if raw.startswith(start)), "utf-8")
    text = raw.decode(codec, "replace")
    names = sorted({unquote(m) for m in _FILE_ATTRIBUTE.findall(text)})
    folder = path.parent
    missing = []
    for name in names:
        target = folder / Path(*PureWindowsPath(name).parts)
        try:
            ok = target.stat().st_size > 0
        except (OSError, ValueError):  # ValueError: a NUL byte in the name
            ok = False
        if not ok:
            missing.append(name)
    details = {"references": len(names)}
    if missing:
        return damaged(
            fmt,
            [
                f"{len(missing):,} of the {len(names):,} files it names are missing or empty "
                f"(e.g. {missing[0]}): the exported folder is incomplete."
            ],
            details,
        )
    if size > _MAX_XML or not text.rstrip("\x00 \r\n\t").endswith(">"):
        return damaged(fmt, ["Its XML is cut off (it does not end with a closing tag)."], details)
    return complete(
        fmt,
        f"A complete Leica {fmt.removeprefix('Leica ')} file: its XML is whole and all "
        f"{len(names):,} files it names are present (each is checked on its own).",
        details,
    )
