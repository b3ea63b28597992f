"""Remote destination specs (``research:lab/me``) and the user's private rclone config.

Thread contract: :func:`parse_remote` is pure. :class:`PrivateRcloneConfig` touches one
file in the user's 0700 config folder; call it from one thread at a time (settings).

Our TOML names a remote destination by its spec only; everything secret (keys,
passwords obscured by rclone, OAuth tokens) lives in ``rclone.conf`` in the user's own
config folder, created 0600 through :mod:`almc_assistant.core.privatefs` (never through
a link, never another user's file). The facility's config never holds a token.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from almc_assistant.core.errors import ConfigError
from almc_assistant.core.privatefs import POSIX, check_private_files, ensure_private_dir

RCLONE_CONF = "rclone.conf"

# The rclone backends we support, with the words a user sees.
BACKEND_LABELS: dict[str, str] = {
    "sftp": "SFTP",
    "smb": "SMB share",
    "s3": "S3",
    "webdav": "WebDAV",
    "drive": "Google Drive",
    "onedrive": "OneDrive",
}

_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_. -]*$")  # what rclone accepts as a remote name


@dataclass(frozen=True, slots=True)
class RemoteSpec:
    """``name:path``: remote ``name`` in the private rclone config, ``path`` below it."""

    name: str
    path: str  # "" for the remote's root; "/" separators, no "..", no leading "/" needed

    def __str__(self) -> str:
        return f"{self.name}:{self.path}"

    def fs(self, relpath: str = "") -> str:
        """The rclone fs string for ``relpath`` below the destination root."""
        joined = "/".join(p for p in (self.path.strip("/"), relpath.strip("/")) if p)
        lead = "/" if self.path.startswith("/") else ""
        return f"{self.name}:{lead}{joined}"


def parse_remote(text: str) -> RemoteSpec:
    """``research:lab/me`` -> :class:`RemoteSpec`; a clear :class:`ConfigError` otherwise."""
    name, sep, path = text.partition(":")
    if not sep or not name:
        raise ConfigError(
            f"{text!r} is not a remote destination (expected NAME:path, like research:lab/me).",
            next_step="Write the remote's name, a colon, then the folder on it.",
        )
    if not _NAME.match(name) or name.endswith(" "):
        raise ConfigError(
            f"{name!r} is not a valid remote name in {text!r}.",
            next_step="Use letters, digits, '_', '-', '.' or spaces (not first or last).",
        )
    parts = PurePosixPath(path).parts
    if ".." in parts or "\x00" in path or "\n" in path:
        raise ConfigError(
            f"The folder {path!r} in {text!r} is not allowed ('..', control characters).",
            next_step="Name the folder on the remote plainly, like lab/me.",
        )
    return RemoteSpec(name, path)


class PrivateRcloneConfig:
    """``rclone.conf`` in the user's config folder: 0600, theirs, never a link."""

    def __init__(self, config_dir: Path) -> None:
        self.folder = config_dir
        self.path = config_dir / RCLONE_CONF

    def ensure(self) -> Path:
        """Create the folder (0700) and the file (0600, empty) if missing; check both."""
        ensure_private_dir(self.folder)
        if POSIX:
            check_private_files(self.folder, (RCLONE_CONF,), create=RCLONE_CONF)
        else:
            self.path.touch(exist_ok=True)
        return self.path

    def check(self) -> None:
        """After rclone rewrote the file: still ours, regular and 0600 (tightened if not)."""
        if POSIX:
            check_private_files(self.folder, (RCLONE_CONF,))

    def mode(self) -> int:
        return self.path.stat().st_mode & 0o777
