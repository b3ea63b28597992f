"""One watched folder: its observer, whether it is available, and why not.

Thread contract: a :class:`FolderWatch` is driven by one thread at a time under the
watcher's lock (the caller of :meth:`Watcher.start` / :meth:`Watcher.scan`, then the
stabiliser thread). Its observer's threads only call the handler.

A folder is *unavailable* when it does not exist (removed, renamed, drive unplugged,
share disconnected), is not a folder, cannot be listed (permission denied), the drive
holding it changed (an unmounted mount point looks like an empty folder), or its
observer stopped. The watcher retries until it is back, then re-scans it.
"""

from __future__ import annotations

import errno
import logging
import os
import stat
from collections.abc import Callable, Sequence
from pathlib import Path

from watchdog.events import FileSystemEventHandler
from watchdog.observers.api import BaseObserver

from almc_assistant.core.events import Event
from almc_assistant.core.watch.events import WatchFailed
from almc_assistant.core.watch.observer import (
    make_observer,
    observer_alive,
    start_observer,
    stop_observer,
)

log = logging.getLogger(__name__)

_REASONS = {
    errno.ENOENT: "it does not exist (removed, renamed, or its drive or share is disconnected)",
    errno.ENOTDIR: "a part of its path is not a folder",
    errno.EACCES: "permission denied: this account may not read it",
    errno.EPERM: "permission denied: this account may not read it",
    errno.EIO: "an input/output error (failing drive or lost connection)",
    errno.ESTALE: "the network share went away (stale handle)",
    errno.ENOTCONN: "the network share is not connected",
}


def unavailable_reason(exc: OSError) -> str:
    """Plain words for why a folder cannot be watched."""
    return _REASONS.get(exc.errno or -1, exc.strerror or str(exc))


class FolderWatch:
    """A watched folder and its observer."""

    def __init__(
        self, folder: Path, *, polling: bool, poll_interval: float, handler: FileSystemEventHandler
    ) -> None:
        self.folder = folder
        self.root = os.fspath(folder)
        self.polling = polling
        self.poll_interval = poll_interval
        self.handler = handler
        self.observer: BaseObserver | None = None
        self.available: bool | None = None  # None: not looked at yet
        self.reason = ""
        self.dev: int | None = None  # device of the folder when last seen available
        self.rescan = False
        # Re-scans during an event storm are spaced by a few times their own duration.
        self.rescan_not_before = 0.0
        self.next_retry = 0.0  # monotonic time of the next availability retry

    def probe(self, *, returning: bool = False) -> str | None:
        """Why the folder cannot be watched now, or None when it can.

        With ``returning`` (it was unavailable), it must also be listable, and a changed
        drive is accepted only when the folder is not empty (a remounted drive).
        """
        try:
            st = self.folder.stat()
            if not stat.S_ISDIR(st.st_mode):
                return "it is not a folder"
            changed_drive = self.dev is not None and st.st_dev != self.dev
            if not returning:
                return "the drive holding it changed (unplugged?)" if changed_drive else None
            with os.scandir(self.root) as listing:
                empty = next(listing, None) is None
        except OSError as exc:
            return unavailable_reason(exc)
        if changed_drive and empty:
            return "the drive holding it seems unplugged (only an empty mount point is left)"
        return None

    def health(self) -> str | None:
        """:meth:`probe`, plus whether the observer still runs."""
        reason = self.probe()
        if reason is None and self.observer is not None and not observer_alive(self.observer):
            reason = "watching it stopped (it was removed or its drive unmounted)"
        return reason

    def start(self) -> None:
        """Start observing (raises the ``OSError`` of setting up the watch)."""
        st = self.folder.stat()
        observer = make_observer(self.polling, self.poll_interval, self.folder.name)
        try:
            start_observer(observer, self.handler, self.folder)
        except BaseException:
            stop_observer(observer, 1.0)
            raise
        self.observer = observer
        self.dev = st.st_dev

    def start_or_poll(self, publish: Callable[[Event], None]) -> str | None:
        """Start observing; on the system's watch limits, poll instead (and say so).

        Returns why the folder cannot be watched, or None.
        """
        try:
            self.start()
            return None
        except OSError as exc:
            if self.polling or exc.errno not in (errno.ENOSPC, errno.EMFILE):
                return unavailable_reason(exc)
            detail = f"The system limit on watched folders was reached ({exc.strerror})."
        publish(
            WatchFailed(
                folder=self.folder,
                title=f"Watching {self.folder.name} by polling",
                detail=f"{detail} {self.folder} is checked every {self.poll_interval:g} s.",
                next_step="Staff: raise fs.inotify.max_user_watches / max_user_instances.",
            )
        )
        self.polling = True
        try:
            self.start()
        except OSError as exc:
            return unavailable_reason(exc)
        return None

    def stop(self, timeout: float) -> bool:
        """Stop the observer if any; True when all its threads ended."""
        observer, self.observer = self.observer, None
        if observer is None:
            return True
        done = stop_observer(observer, timeout)
        if not done:
            log.warning("observer of %s did not stop within %.1f s", self.folder, timeout)
        return done


def folder_ok_cache(folders: list[FolderWatch]) -> Callable[[str], bool]:
    """``folder_ok(root)`` for one tick: available and its root still there (looked up
    once per tick, so a mass deletion does not stat the root per file)."""
    cache: dict[str, bool] = {}
    by_root = {fw.root: fw for fw in folders}

    def folder_ok(root: str) -> bool:
        if root not in cache:
            fw = by_root.get(root)
            cache[root] = fw is not None and bool(fw.available) and fw.probe() is None
        return cache[root]

    return folder_ok


def absolute_path(path: Path) -> Path:
    """Absolute and normalised, without resolving symbolic links (events keep this spelling)."""
    return Path(os.path.normpath(Path(path).absolute()))


def normalise_folders(folders: Sequence[Path]) -> list[Path]:
    """Absolute, without duplicates, and without folders nested in another watched one."""
    absolute = sorted({absolute_path(f) for f in folders}, key=lambda p: len(p.parts))
    kept: list[Path] = []
    for folder in absolute:
        if any(folder.is_relative_to(outer) for outer in kept):
            log.info("%s is inside another watched folder; watched once", folder)
            continue
        kept.append(folder)
    return kept
