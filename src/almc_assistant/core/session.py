"""Who is working: the current OS user, a file's owner, and the pending summary.

Thread contract: pure functions and values, safe anywhere (``file_owner`` stats a file).

A *session* is a user's work at the workstation: the files they created since they
logged in or since they last ended a session ("End session and back up"). The catalog
keeps one open session per user; :meth:`Service.end_session` closes it.
"""

from __future__ import annotations

import functools
import getpass
import os
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class PendingSummary:
    """This user's files without enough verified copies: what the tray and reminders need.

    ``files`` and ``bytes`` count them; ``oldest`` is the age reference of the oldest of
    them (seconds since the epoch), ``None`` when nothing is pending. The one type for
    this: the service returns it and the session-end guard caches it
    (``core.session_end.pending``).
    """

    files: int = 0
    bytes: int = 0
    oldest: float | None = None

    def __post_init__(self) -> None:
        if self.files < 0 or self.bytes < 0:
            raise ValueError(f"pending counts cannot be negative: {self!r}")

    @property
    def at_risk(self) -> bool:
        return self.files > 0


def current_user() -> str:
    """The login name of the user running the app."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name in the environment or password database
        return f"uid-{os.getuid()}" if hasattr(os, "getuid") else "unknown"


def file_owner(path: Path, fallback: str) -> str:
    """The OS user owning ``path`` (POSIX); ``fallback`` where that cannot be told.

    On Windows the owner needs the security API; the user running the app is used
    instead (each user's instance records the files it sees being created).
    """
    if sys.platform == "win32":
        return fallback
    try:
        uid = path.stat().st_uid
    except OSError:
        return fallback
    return _user_name(uid)


@functools.lru_cache(maxsize=64)
def _user_name(uid: int) -> str:
    """The login name of ``uid`` (one password-database look-up per uid and process)."""
    try:
        import pwd

        return pwd.getpwuid(uid).pw_name
    except (ImportError, KeyError):
        return f"uid-{uid}"
