"""Remote destinations for one copy job or one verify: the daemon and the open backends.

Thread contract: created, opened and stopped by the job's thread; the backends it opens
are then shared by the job's workers (see :mod:`rclone_backend`).

A session starts one private ``rclone rcd`` (:mod:`rcd`) on the user's private
rclone.conf, lazily, the first time a remote is opened, and stops it at the end. Opening
a remote parses its spec (a clear :class:`ConfigError` for a malformed one), checks the
remote exists in the private config ("Unknown remote"), writes and proves a probe file
(reachable, writable, which proof) and returns the backend.
"""

from __future__ import annotations

import re
from pathlib import Path

from almc_assistant.core.errors import AlmcError
from almc_assistant.core.paths import AppPaths
from almc_assistant.core.remote.rcd import RcDaemon
from almc_assistant.core.remote.rclone_backend import RcloneBackend
from almc_assistant.core.remote.spec import PrivateRcloneConfig, parse_remote

# NAME:path where NAME is at least two characters (a one-letter NAME is a Windows drive).
_REMOTE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_. -]+:")


def looks_remote(text: str) -> bool:
    """Whether a destination given as text names a remote (``research:lab/me``) rather
    than a folder: ``NAME:`` with a NAME of two characters or more and no path separator
    before the colon, and no folder of that name exists here."""
    if not _REMOTE.match(text) or "/" in text.partition(":")[0]:
        return False
    return not Path(text).exists()


def rclone_config_path() -> Path:
    return PrivateRcloneConfig(AppPaths.default().config_dir).path


class RemoteSession:
    """The daemon of one job, started when the first remote is opened."""

    def __init__(self, config: Path | None = None) -> None:
        self._config = PrivateRcloneConfig((config or rclone_config_path()).parent)
        self._daemon: RcDaemon | None = None

    def daemon(self) -> RcDaemon:
        if self._daemon is None:
            self._config.ensure()
            self._daemon = RcDaemon(self._config.path).start()
        return self._daemon

    def open(self, text: str) -> RcloneBackend:
        """The backend of destination ``text``, opened; :class:`AlmcError` naming it and
        the next step when it cannot be used."""
        spec = parse_remote(text)
        return RcloneBackend(self.daemon(), spec).open()

    def stop(self) -> None:
        daemon, self._daemon = self._daemon, None
        if daemon is not None:
            daemon.stop()


def refused(text: str, err: AlmcError) -> AlmcError:
    """``err`` as a refusal of destination ``text`` (its words kept)."""
    detail = err.detail if text in err.detail else f"{text}: {err.detail}"
    return AlmcError(
        f"Cannot copy to {text}: {detail}",
        title=f"Destination not usable: {text}",
        next_step=err.next_step or "Check the remote in Settings, then try again.",
    )
