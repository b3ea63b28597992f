"""FITS images (astronomy's format, written by some camera software): header vs size.

Thread contract: one open file per call; never modifies it.

Layout (FITS standard 4.0): 2880-byte blocks of 80-character header cards ending with
``END``; ``BITPIX`` gives the sample type (8, 16, 32, 64: integers; -32, -64: floats) and
``NAXISn`` the dimensions; the data follow, padded to 2880 bytes. A FITS file is an export
(not a microscope's native file); the check says what it holds and whether it is complete.
"""

from __future__ import annotations

import math
from typing import Any, BinaryIO

from almc_assistant.core.inspect import wording
from almc_assistant.core.inspect.finding import Finding
from almc_assistant.core.inspect.model import Flag
from almc_assistant.core.inspect.structure import read_at
from almc_assistant.core.verdicts import Verdict

_BLOCK = 2880
_MAX_HEADER_BLOCKS = 1000
_SAMPLES = {8: "8-bit integers", 16: "16-bit integers", 32: "32-bit integers",
            64: "64-bit integers", -32: "32-bit floating-point values",
            -64: "64-bit floating-point values"}  # fmt: skip
_FLOAT_FLAGS = {-32: Flag.FLOAT_PROCESSED, -64: Flag.FLOAT64}


def check_fits(fh: BinaryIO, size: int, fmt: str) -> Finding:
    cards, header_end = _cards(fh, size)
    details: dict[str, Any] = {}
    reasons = [wording.OTHER_FORMAT.format(article="a", format=fmt)]
    flags: set[Flag] = set()
    try:
        bitpix = int(cards.get("BITPIX", "0"))
        naxis = min(int(cards.get("NAXIS", "0")), 999)  # the standard allows at most 999
        axes = [int(cards.get(f"NAXIS{i}", "0")) for i in range(1, naxis + 1)]
    except ValueError:
        bitpix, axes = 0, []
    if bitpix in _SAMPLES:
        details.update(bitpix=bitpix, shape=list(reversed(axes)))
        reasons.append(f"It holds {_SAMPLES[bitpix]}, shape {' x '.join(map(str, axes))}.")
        if bitpix in _FLOAT_FLAGS:
            flags.add(_FLOAT_FLAGS[bitpix])
            reasons.append(wording.FLAG_TEXT[_FLOAT_FLAGS[bitpix]])
    if header_end is None:
        reasons.append("Its header has no END card: the file is damaged or cut off.")
    elif bitpix in _SAMPLES and axes and all(n >= 0 for n in axes):
        needed = header_end + abs(bitpix) // 8 * math.prod(axes)
        if needed > size:
            reasons.append(
                f"Its header describes {needed:,} bytes but the file has {size:,}: it is cut off."
            )
    return Finding(Verdict.OTHER_FORMAT, fmt, tuple(reasons), frozenset(flags), details)


def _cards(fh: BinaryIO, size: int) -> tuple[dict[str, str], int | None]:
    cards: dict[str, str] = {}
    for block in range(_MAX_HEADER_BLOCKS):
        data = read_at(fh, block * _BLOCK, _BLOCK, size)
        if len(data) < _BLOCK:
            return cards, None
        text = data.decode("latin-1")
        for pos in range(0, _BLOCK, 80):
            card = text[pos : pos + 80]
            key = card[:8].strip()
            if key == "END":
                return cards, (block + 1) * _BLOCK
            if card[8:10] == "= ":
                cards.setdefault(key, card[10:].split("/")[0].strip())
    return cards, None
