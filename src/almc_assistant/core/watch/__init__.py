"""Watching acquisition folders: observers, filter-and-enqueue handler, stabiliser.

Public API: :class:`Watcher` and the events of :mod:`core.watch.events`; the clock port
(:class:`Monotonic`, :class:`ManualClock` for tests); :func:`use_polling` (observer choice);
:func:`default_ignore`; :class:`PendingFile` and :class:`WatchStats`. This package never
imports ``core.inspect`` or ``core.transfer``: the open test is injected (``can_open``).
"""

from almc_assistant.core.watch.clock import ManualClock, Monotonic, MonotonicClock
from almc_assistant.core.watch.events import (
    FileAppeared,
    FileChanged,
    FileDeleted,
    FileIdentified,
    FileMoved,
    FileStabilised,
    FolderAvailable,
    FolderUnavailable,
    ScanFinished,
    WatchFailed,
)
from almc_assistant.core.watch.filesystems import filesystem_type, use_polling
from almc_assistant.core.watch.ignore import default_ignore
from almc_assistant.core.watch.known import KnownMap, KnownSource
from almc_assistant.core.watch.stability import PendingFile, opens_for_reading
from almc_assistant.core.watch.watcher import Watcher, WatchStats

__all__ = [
    "FileAppeared",
    "FileChanged",
    "FileDeleted",
    "FileIdentified",
    "FileMoved",
    "FileStabilised",
    "FolderAvailable",
    "FolderUnavailable",
    "KnownMap",
    "KnownSource",
    "ManualClock",
    "Monotonic",
    "MonotonicClock",
    "PendingFile",
    "ScanFinished",
    "WatchFailed",
    "WatchStats",
    "Watcher",
    "default_ignore",
    "filesystem_type",
    "opens_for_reading",
    "use_polling",
]
