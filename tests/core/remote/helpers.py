"""Small helpers shared by the remote tests."""

from __future__ import annotations

import os
from pathlib import Path

from almc_assistant.core.remote.rcd import RcDaemon
from almc_assistant.core.remote.rclone_backend import RcloneBackend
from almc_assistant.core.remote.spec import parse_remote


def source_file(folder: Path, name: str, size: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(os.urandom(size))
    return path


def backend(daemon: RcDaemon, spec: str) -> RcloneBackend:
    return RcloneBackend(daemon, parse_remote(spec)).open()
