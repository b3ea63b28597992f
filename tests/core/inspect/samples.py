"""Small synthetic files of every format the check knows, built in memory.

Thread contract: pure functions returning bytes; safe anywhere.

Used by the tests (damaged variants are cut from these or from real files at test time)
and as generated fuzz seeds (``bench/fuzz/seeds.py``). Where a real file from the vendor's
software is public, the tests use it too (``tests/core/inspect/data/README.md``); these
builders follow the layouts documented by the readers cited beside each one.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable
from typing import Any

import numpy as np
import tifffile

_ND2_MAGIC = 0x0ABECEDA


def tiff(compression: Any = None, dtype: str = "uint16", **kwargs: Any) -> bytes:
    """A 32x32 TIFF written by tifffile (with imagecodecs for the codecs)."""
    shape = (32, 32, 3) if dtype == "rgb8" else (32, 32)
    data = (np.arange(int(np.prod(shape))) % 251).reshape(shape)
    arr = data.astype("uint8" if dtype == "rgb8" else dtype)
    out = io.BytesIO()
    tifffile.imwrite(out, arr, compression=compression, **kwargs)
    return out.getvalue()


def _nd2_chunk(name: bytes, data: bytes) -> bytes:
    return struct.pack("<IIQ", _ND2_MAGIC, len(name), len(data)) + name + data


def nd2(frames: int = 2) -> bytes:
    """A modern ND2 skeleton: header chunk, frame chunks, chunk map and trailer."""
    out = bytearray(_nd2_chunk(b"ND2 FILE SIGNATURE CHUNK NAME01!", b"Ver3.0".ljust(64, b"\0")))
    entries = bytearray()
    for i in range(frames):
        name = f"ImageDataSeq|{i}!".encode()
        entries += name + struct.pack("<QQ", len(out), 16 + len(name) + 8 + 64)
        out += _nd2_chunk(name, bytes(8 + 64))
    trailer = b"ND2 CHUNK MAP SIGNATURE 0000001!"
    map_at = len(out)
    body = bytes(entries) + trailer + struct.pack("<Q", map_at)
    out += _nd2_chunk(b"ND2 FILEMAP SIGNATURE NAME 0001!", body)
    out += trailer + struct.pack("<Q", map_at)
    return bytes(out)


_BUILDERS: dict[str, Callable[[], bytes]] = {
    "plain.tif": lambda: tiff(),
    "float16.tif": lambda: tiff(dtype="float16"),
    "float64.tif": lambda: tiff(dtype="float64"),
    "lzw.tif": lambda: tiff("lzw"),
    "jpeg.tif": lambda: tiff("jpeg", dtype="uint8"),
    "jpeg-lossless.tif": lambda: tiff("jpeg", compressionargs={"lossless": True}),
    "j2k-lossy.tif": lambda: tiff("jpeg2000", compressionargs={"level": 30}),
    "j2k-lossless.tif": lambda: tiff("jpeg2000", compressionargs={"reversible": True}),
    "jxl-lossy.tif": lambda: tiff("jpegxl", dtype="uint8", compressionargs={"level": 80}),
    "jxl-lossless.tif": lambda: tiff("jpegxl", compressionargs={"lossless": True}),
    "webp.tif": lambda: tiff("webp", dtype="rgb8"),
    "big.tif": lambda: tiff(bigtiff=True),
    "multi.tif": lambda: tiff(),
    "plain.nd2": nd2,
}


def extra_builders() -> dict[str, Callable[[], bytes]]:
    """Native-format builders (added by ``native_samples``), kept apart to stay small."""
    try:
        from tests.core.inspect import native_samples
    except ImportError:
        return {}
    return native_samples.BUILDERS


def all_samples() -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for name, build in {**_BUILDERS, **extra_builders()}.items():
        try:
            out[name] = build()
        except Exception:  # a codec missing from this imagecodecs build
            continue
    return out
