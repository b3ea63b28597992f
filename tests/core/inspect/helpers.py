"""Shared helpers for the file-check tests: fingerprints proving a file was not modified."""

from __future__ import annotations

import hashlib
from pathlib import Path


def fingerprint(path: Path) -> tuple[int, int, str]:
    """(size, mtime_ns, sha256) of a file: equal before and after means untouched."""
    st = path.stat()
    return st.st_size, st.st_mtime_ns, hashlib.sha256(path.read_bytes()).hexdigest()
