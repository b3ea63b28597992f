"""Replacing a small file atomically: a temporary file beside it, ``fsync``, ``os.replace``.

Thread contract: a plain function, safe anywhere; two writers of the same file in one
process must not overlap (the temporary name holds the process id only). A crash leaves
the old file or the new one, never half of either; on failure the temporary is removed
and the ``OSError`` raised for the caller to describe.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def write_atomically(path: Path, data: bytes) -> None:
    """Make ``path`` hold ``data`` (creating its folder); raises ``OSError``."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(temp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        temp.replace(path)
    except OSError:
        with contextlib.suppress(OSError):
            temp.unlink(missing_ok=True)
        raise
