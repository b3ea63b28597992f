"""Events the watcher publishes about files in the acquisition folders.

Thread contract: plain frozen values; the watcher publishes them from its stabiliser
thread, from the thread that calls :meth:`Watcher.scan`, or (for :class:`WatchFailed`)
from a watchdog observer thread. Paths are absolute and spelled under the configured
folder (symbolic links are not resolved).

Life of a file: :class:`FileAppeared` (state "acquiring"), any number of
:class:`FileChanged` while it grows, then :class:`FileStabilised` once its size and mtime
have been quiet for the configured period and it opens. A modified complete file goes
back to acquiring with :class:`FileChanged` (modified: another size, mtime, ctime or
file number than the catalog holds, see :func:`core.watch.known.differs`; a path the
catalog does not know yet must be treated as appeared). :class:`FileDeleted` may name a
path the catalog never heard of (it then has nothing to do).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from almc_assistant.core.events import Event
from almc_assistant.core.identity import FileIdentity


@dataclass(frozen=True, slots=True, kw_only=True)
class FileAppeared(Event):
    """A new file was seen; it is "acquiring" until :class:`FileStabilised`."""

    path: Path
    size: int
    mtime_ns: int
    identity: FileIdentity | None = None  # its stat as seen (None: not known)


@dataclass(frozen=True, slots=True, kw_only=True)
class FileChanged(Event):
    """A file is still growing or being written (or a complete file was modified)."""

    path: Path
    size: int
    mtime_ns: int
    identity: FileIdentity | None = None  # its stat as seen (None: not known)


@dataclass(frozen=True, slots=True, kw_only=True)
class FileStabilised(Event):
    """Acquisition finished: size and mtime quiet for the period and the file opens."""

    path: Path
    size: int
    mtime_ns: int
    identity: FileIdentity | None = None  # its stat as seen (None: not known)


@dataclass(frozen=True, slots=True, kw_only=True)
class FileIdentified(Event):
    """A scan met a file the catalog holds with this size and mtime but without its
    identity (recorded by an older version): nothing changed as far as can be told;
    record ``identity`` so that later changes of ctime or file number are seen."""

    path: Path
    size: int
    mtime_ns: int
    identity: FileIdentity


@dataclass(frozen=True, slots=True, kw_only=True)
class FileMoved(Event):
    """A file was renamed or moved inside the watched folders."""

    src: Path
    dest: Path
    size: int
    mtime_ns: int
    identity: FileIdentity | None = None  # at the new name (a rename moves the ctime)


@dataclass(frozen=True, slots=True, kw_only=True)
class FileDeleted(Event):
    """A file is gone (deleted, or moved out of the watched folders)."""

    path: Path


@dataclass(frozen=True, slots=True, kw_only=True)
class FolderUnavailable(Event):
    """A watched folder was removed, unplugged or cannot be read; retried until back."""

    folder: Path
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class FolderAvailable(Event):
    """A watched folder that was unavailable is back (a re-scan follows)."""

    folder: Path


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanFinished(Event):
    """A scan of ``folder`` finished: ``files`` regular files seen in ``seconds``."""

    folder: Path
    files: int
    seconds: float


@dataclass(frozen=True, slots=True, kw_only=True)
class WatchFailed(Event):
    """Something went wrong while watching ``folder`` (a folder or a file in it)."""

    folder: Path
    title: str
    detail: str
    next_step: str = ""
