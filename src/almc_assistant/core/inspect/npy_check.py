"""NumPy ``.npy`` files (the pixel files of a SlideBook 7 ``.sldy`` dataset): header vs size.

Thread contract: one open file per call; never modifies it.

Layout (NumPy format specification): ``\\x93NUMPY``, version, header length, then a
Python-literal header giving ``descr`` (the dtype), ``fortran_order`` and ``shape``; the
array's bytes follow. The file must be exactly as long as the shape and dtype require: a
copy cut off short is not. The header is parsed with ``ast.literal_eval`` (no code runs).
"""

from __future__ import annotations

import ast
import math
import re
import struct
from typing import Any, BinaryIO

from almc_assistant.core.inspect.finding import Finding
from almc_assistant.core.inspect.structure import (
    Damage,
    complete,
    damaged,
    not_checked,
    read_exact,
)

MAGIC = b"\x93NUMPY"
_ITEMSIZE = re.compile(r"^[<>|=]?[biufcV](\d+)$")


def check_npy(fh: BinaryIO, size: int, fmt: str) -> Finding:
    details: dict[str, Any] = {}
    try:
        expected = _expected_size(fh, size, details)
    except Damage as exc:
        return damaged(fmt, [str(exc)], details)
    if expected < 0:
        return not_checked(fmt, "Its element type is a record type whose size is not checked.")
    if expected > size:
        return damaged(
            fmt,
            [
                f"Its header describes {expected:,} bytes but the file has {size:,}: the "
                f"last {expected - size:,} bytes are missing (cut off)."
            ],
            details,
        )
    return complete(
        fmt,
        f"A complete NumPy array file ({details['dtype']}, shape {details['shape']}): it holds "
        "every byte its header describes.",
        details,
    )


def _expected_size(fh: BinaryIO, size: int, details: dict[str, Any]) -> int:
    start = read_exact(fh, 0, 10, size, "header")
    if start[:6] != MAGIC:
        raise Damage("Its NumPy header is corrupt.")
    if start[6] == 1:
        (length,) = struct.unpack_from("<H", start, 8)
        at = 10
    else:
        (length,) = struct.unpack("<I", read_exact(fh, 8, 4, size, "header"))
        at = 12
    if length > 1 << 20:
        raise Damage("Its NumPy header has an impossible length (corrupt file).")
    text = read_exact(fh, at, length, size, "header").decode("latin-1")
    try:
        header = ast.literal_eval(text.strip())
        descr, shape = header["descr"], tuple(int(n) for n in header["shape"])
    except (ValueError, SyntaxError, KeyError, TypeError, MemoryError, RecursionError):
        raise Damage("Its NumPy header cannot be read (corrupt file).") from None
    if any(n < 0 for n in shape):
        raise Damage("Its NumPy header describes an impossible shape (corrupt file).")
    details.update(dtype=str(descr)[:100], shape=list(shape))
    match = _ITEMSIZE.match(descr) if isinstance(descr, str) else None
    if match is None:
        return -1  # a structured dtype: its size is not worked out here
    return at + int(length) + int(match.group(1)) * int(math.prod(shape))
