"""Run every header walker on one byte string, as ``check_file`` would after sniffing.

Thread contract: pure function of its input (an in-memory file); any thread.

Used by the fuzz target and by the regression tests of its findings: an exception out of
``run_walkers`` is a bug in a walker.
"""

from __future__ import annotations

import io
from pathlib import Path

from almc_assistant.core.inspect import nd2_check, tiff_codes
from almc_assistant.core.inspect.formats import check_by_signature
from almc_assistant.core.inspect.signatures import (
    HEAD_BYTES,
    ND2_MAGIC,
    TAIL_BYTES,
    Family,
    sniff,
)
from almc_assistant.core.inspect.tiff_check import check_tiff
from almc_assistant.core.inspect.tiff_ifd import NotTiff

# compression codes whose lossiness the data's own header decides
_PROBED_CODES = (7, 34712, 34892, 50001, 50002, 33003, 33005)


def run_walkers(data: bytes) -> None:
    size = len(data)
    head, tail = data[:HEAD_BYTES], data[-TAIL_BYTES:] if size else b""
    fh = io.BytesIO(data)
    for code in _PROBED_CODES:
        tiff_codes.kind(code, data[:65536])
    sniffed = sniff(head, tail)
    if sniffed.family is Family.ND2:
        if head.startswith(ND2_MAGIC):
            try:
                nd2_check._modern_structure(fh, size, head, tail, {})
            except nd2_check._Damage:
                pass
        return
    if sniffed.family is Family.TIFF:
        try:
            check_tiff(fh, size, sniffed.format, head)
            return
        except NotTiff:
            pass
    check_by_signature(Path("fuzz-input"), fh, size, sniffed)
