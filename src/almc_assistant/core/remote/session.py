"""The rclone daemon of a service (or of one job or one verify) and opening remotes on it.

Thread contract: a :class:`RemoteSession` may be used from any thread: :meth:`daemon`
and :meth:`open` are guarded by a lock; the backends it opens are shared by a job's
workers (see :mod:`rclone_backend`). :meth:`stop` is called by its owner.

One daemon per service, not per job: the service's copying part owns one session and
hands it to every job and verify, so a job no longer pays a daemon's start (about 0.3 s)
and finds the remote's connections warm. The daemon (:mod:`rcd`) is started lazily, the
first time a remote is opened, on a keeper thread that lives as long as it does (on
Linux the daemon is killed when that thread ends, so it dies with the app however the
app ends); it is started again if it died; :meth:`stop` ends it with the service. A job
or verify without a service's session makes its own and stops it at its end.

Opening a remote parses its spec (a clear :class:`ConfigError` for a malformed one),
checks the remote exists in the private config ("Unknown remote"), writes and proves a
probe file (reachable, writable, which proof) and returns the backend. A remote whose
settings changed since the daemon last used it (new credentials in Settings) is opened
afresh: the daemon's cached connections are dropped first; so is one whose server key
was confirmed again (rclone reads a known_hosts file once per remote it opens).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from almc_assistant.core.errors import AlmcError
from almc_assistant.core.paths import AppPaths
from almc_assistant.core.remote.rcd import RcDaemon
from almc_assistant.core.remote.rclone_backend import RcloneBackend
from almc_assistant.core.remote.spec import PrivateRcloneConfig, parse_remote
from almc_assistant.core.remotepaths import is_remote

log = logging.getLogger(__name__)


def looks_remote(text: str) -> bool:
    """Whether a destination given as text names a remote (``research:lab/me``) rather
    than a folder: ``NAME:`` with a NAME of two characters or more and no path separator
    before the colon, and no folder of that name exists here."""
    if not is_remote(text):
        return False
    return not Path(text).exists()


def rclone_config_path() -> Path:
    return PrivateRcloneConfig(AppPaths.default().config_dir).path


class RemoteSession:
    """The daemon, started when the first remote is opened and again if it died."""

    def __init__(self, config: Path | None = None) -> None:
        self._config = PrivateRcloneConfig((config or rclone_config_path()).parent)
        self._daemon: RcDaemon | None = None
        self._keeper: threading.Thread | None = None
        self._lock = threading.Lock()
        # remote name -> its settings and its server's pinned key, as last used
        self._seen: dict[str, tuple[dict[str, str], str]] = {}
        self.starts = 0  # daemons started (tests count them)

    def daemon(self) -> RcDaemon:
        with self._lock:
            return self._running()

    def _running(self) -> RcDaemon:
        daemon = self._daemon
        if daemon is not None and daemon.running:
            return daemon
        if daemon is not None:
            log.warning("the rclone helper had stopped; starting it again")
            self._end(daemon)
        self._config.ensure()
        self._daemon = self._start(RcDaemon(self._config.path))
        self._seen.clear()
        self.starts += 1
        return self._daemon

    def _start(self, daemon: RcDaemon) -> RcDaemon:
        """Start ``daemon`` on a keeper thread that waits until it is stopped."""
        failed: list[BaseException] = []
        ready = threading.Event()

        def keep() -> None:
            try:
                daemon.start(die_with_thread=True)
            except BaseException as exc:  # raised on the caller's thread below
                failed.append(exc)
                return
            finally:
                ready.set()
            daemon.stopped.wait()

        self._keeper = threading.Thread(target=keep, name="almc-rclone", daemon=True)
        self._keeper.start()
        ready.wait()
        if failed:
            self._keeper.join()
            raise failed[0]
        return daemon

    def backend(self, text: str) -> RcloneBackend:
        """The backend of destination ``text``, not opened (no probe written: for reading
        what is there, as the receipts import does); :class:`AlmcError` naming it when
        the spec is malformed or no such remote is set up."""
        spec = parse_remote(text)
        with self._lock:
            daemon = self._running()
            backend = RcloneBackend(daemon, spec)
            now = (backend.config, backend.pinned)
            if self._seen.get(spec.name, now) != now:
                # its settings or its confirmed server key changed: no stale connection
                daemon.call("fscache/clear")
            self._seen[spec.name] = now
        return backend

    def open(self, text: str) -> RcloneBackend:
        """The backend of destination ``text``, opened; :class:`AlmcError` naming it and
        the next step when it cannot be used."""
        return self.backend(text).open()

    def stop(self) -> None:
        with self._lock:
            daemon, self._daemon = self._daemon, None
            if daemon is not None:
                self._end(daemon)

    def _end(self, daemon: RcDaemon) -> None:
        daemon.stop()
        keeper, self._keeper = self._keeper, None
        if keeper is not None:
            keeper.join(10)


def refused(text: str, err: AlmcError) -> AlmcError:
    """``err`` as a refusal of destination ``text`` (its words kept)."""
    detail = err.detail if text in err.detail else f"{text}: {err.detail}"
    return AlmcError(
        f"Cannot copy to {text}: {detail}",
        title=f"Destination not usable: {text}",
        next_step=err.next_step or "Check the remote in Settings, then try again.",
    )
