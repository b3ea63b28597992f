"""Acquisition finished? The table of files still acquiring and the default open test.

Thread contract: :class:`Tracker` is not thread-safe by itself; the watcher guards it
with its lock (the stabiliser thread and :meth:`Watcher.scan` both use it). All times in
it are monotonic seconds from the injected clock, except ``since`` (wall clock, for
display). :func:`opens_for_reading` may run on any thread.

A file is finished when its size and mtime have not changed for ``quiet_seconds`` and
the open test passes. A failed open test restarts the quiet period: acquisition software
may keep a finished-looking file locked, and an ND2 being written grows for hours.
"""

from __future__ import annotations

import os
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from almc_assistant.core.identity import FileIdentity


@dataclass(frozen=True, slots=True)
class PendingFile:
    """A file still acquiring: its last seen size and mtime, and since when (wall clock)."""

    path: Path
    size: int
    mtime_ns: int
    since: float


@dataclass(slots=True)
class Track:
    """What the stabiliser knows of one acquiring file."""

    folder: str
    size: int
    mtime_ns: int
    since: float  # wall clock, first seen acquiring
    changed_at: float  # monotonic: last change seen, or last failed open test
    reported_at: float  # monotonic: last FileAppeared/FileChanged published


class Tracker:
    """Files still acquiring, keyed by path string."""

    def __init__(self, quiet_seconds: float) -> None:
        self.quiet_seconds = quiet_seconds
        self._tracks: dict[str, Track] = {}
        self.high_water = 0  # most files tracked at once (a test and benchmark probe)

    def __len__(self) -> int:
        return len(self._tracks)

    def __contains__(self, path: str) -> bool:
        return path in self._tracks

    def get(self, path: str) -> Track | None:
        return self._tracks.get(path)

    def start(self, folder: str, path: str, size: int, mtime_ns: int, now: float) -> None:
        """Begin (or restart) the quiet period of ``path``."""
        self._tracks[path] = Track(folder, size, mtime_ns, time.time(), now, now)
        self.high_water = max(self.high_water, len(self._tracks))

    def observe(self, path: str, size: int, mtime_ns: int, now: float) -> bool:
        """Record a fresh stat of a tracked file; True when it changed."""
        track = self._tracks[path]
        if (track.size, track.mtime_ns) == (size, mtime_ns):
            return False
        track.size, track.mtime_ns, track.changed_at = size, mtime_ns, now
        return True

    def restart_quiet(self, path: str, now: float) -> None:
        """The open test failed: wait a full quiet period again."""
        self._tracks[path].changed_at = now

    def forget(self, path: str) -> Track | None:
        return self._tracks.pop(path, None)

    def move(self, src: str, dest: str, folder: str) -> None:
        """``src`` was renamed to ``dest``: carry its quiet period over."""
        track = self._tracks.pop(src, None)
        if track is not None:
            track.folder = folder
            self._tracks[dest] = track

    def due(self, now: float) -> list[str]:
        """Paths quiet for at least the quiet period (to stat and open-test again)."""
        limit = now - self.quiet_seconds
        return [p for p, t in self._tracks.items() if t.changed_at <= limit]

    def under(self, prefix: str) -> list[str]:
        """Tracked paths in the folder ``prefix`` (which ends with a separator)."""
        return [p for p in self._tracks if p.startswith(prefix)]

    def pending(self) -> list[PendingFile]:
        return [
            PendingFile(Path(p), t.size, t.mtime_ns, t.since)
            for p, t in sorted(self._tracks.items())
        ]


def opens_for_reading(path: Path) -> bool:
    """The default open test: the file opens for reading.

    On Windows, acquisition software that keeps a file open without sharing makes this
    fail with a sharing violation (``PermissionError``) until it lets go. Nothing is
    read: on a cold cache a read would cost a disk seek per file (a first scan of a
    folder of 100,000 files went from about 1 s to over 20 s).
    """
    try:
        with open(path, "rb", buffering=0):
            pass
    except OSError:
        return False
    return True


def quiet_by_mtime(mtime_ns: int, quiet_seconds: float) -> bool:
    """For a file found by a scan: was it last modified at least the quiet period ago?

    Uses the wall clock against the file's mtime (nothing else is known of its past); a
    mtime in the future (clock skew on a share) counts as not quiet.
    """
    age_ns = time.time_ns() - mtime_ns
    return age_ns >= quiet_seconds * 1e9 and age_ns >= 0


def stat_file(path: str) -> os.stat_result | None:
    """``lstat`` of ``path``; None when it is not there (other errors propagate)."""
    try:
        return os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None


class RecentlySettled:
    """Files stabilised in the last ``ttl`` seconds, at most ``cap`` of them.

    In an event storm, watchdog may deliver a file's creation event after a re-scan has
    already found it and the stabiliser has settled it; an untracked file whose size,
    mtime, ctime and file number match an entry here is that stale echo, not a new
    acquisition (an edit with the mtime restored moves the ctime: not an echo).
    """

    def __init__(self, cap: int, ttl: float) -> None:
        self._cap, self._ttl = cap, ttl
        # size, mtime_ns, when, ctime_ns, file number (0: not known)
        self._entries: OrderedDict[str, tuple[int, int, float, int, int]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def add(
        self, path: str, size: int, mtime_ns: int, now: float, ident: FileIdentity | None = None
    ) -> None:
        self._entries.pop(path, None)
        ctime, ino = (0, 0) if ident is None else (ident.ctime_ns, ident.ino)
        self._entries[path] = (size, mtime_ns, now, ctime, ino)
        while len(self._entries) > self._cap:
            self._entries.popitem(last=False)

    def matches(
        self, path: str, size: int, mtime_ns: int, ident: FileIdentity | None = None
    ) -> bool:
        entry = self._entries.get(path)
        if entry is None or entry[:2] != (size, mtime_ns):
            return False
        if ident is None:
            return True
        return (entry[3] in (0, ident.ctime_ns)) and (entry[4] in (0, ident.ino))

    def get(self, path: str) -> tuple[int, int] | None:
        entry = self._entries.get(path)
        return None if entry is None else entry[:2]

    def discard(self, path: str) -> None:
        self._entries.pop(path, None)

    def expire(self, now: float) -> None:
        while self._entries:
            first = next(iter(self._entries.values()))
            if now - first[2] < self._ttl:
                break
            self._entries.popitem(last=False)
