"""The watchdog event handler: filters and enqueues, nothing else.

Thread contract: :meth:`EnqueueHandler.dispatch` runs on a watchdog observer thread. It
never touches the disk and never blocks beyond the :class:`ChangeQueue` lock, so an
observer keeps up with tens of thousands of events (as maestral's ``FSEventHandler``).
It never raises: a failure is published as :class:`WatchFailed` (an exception escaping a
handler would kill the observer thread).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from watchdog.events import (
    DirDeletedEvent,
    DirMovedEvent,
    FileAttribEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)

from almc_assistant.core.events import EventSink
from almc_assistant.core.watch.changes import ChangeQueue
from almc_assistant.core.watch.events import WatchFailed
from almc_assistant.core.watch.ignore import IgnoreRule, is_ignored_name

log = logging.getLogger(__name__)

_WRITTEN = (FileModifiedEvent, FileClosedEvent)


class EnqueueHandler(FileSystemEventHandler):
    """Turns one watched folder's watchdog events into :class:`ChangeQueue` hints."""

    def __init__(
        self, folder: Path, queue: ChangeQueue, sink: EventSink, ignore: IgnoreRule | None
    ) -> None:
        super().__init__()
        self.folder = folder
        self._root = os.fspath(folder)
        self._prefix = self._root.rstrip(os.sep) + os.sep
        self._queue = queue
        self._sink = sink
        self._ignore = ignore

    def _wanted(self, path: str) -> bool:
        """Inside the folder, and neither it nor a parent below the folder is ignored."""
        if not path.startswith(self._prefix):
            return False
        relative = path[len(self._prefix) :]
        if any(is_ignored_name(part) for part in relative.split(os.sep)):  # noqa: PTH206 (hot path, str)
            return False
        return self._ignore is None or not self._ignore(Path(path))

    def dispatch(self, event: FileSystemEvent) -> None:
        try:
            self._enqueue(event)
        except Exception as exc:  # never let an exception kill the observer thread
            log.exception("watch handler failed on %r", event)
            self._sink.publish(
                WatchFailed(
                    folder=self.folder,
                    title="A change could not be recorded",
                    detail=f"While watching {self.folder}: {type(exc).__name__}: {exc}",
                    next_step="The folder will be re-scanned; if this repeats, ask staff.",
                )
            )
            self._queue.overflow(self._root)

    def _enqueue(self, event: FileSystemEvent) -> None:
        src = os.fsdecode(event.src_path)
        if isinstance(event, FileMovedEvent):
            dest = os.fsdecode(event.dest_path)
            src_ok, dest_ok = self._wanted(src), self._wanted(dest)
            if src_ok and dest_ok:
                self._queue.moved(self._root, src, dest)
            elif src_ok:
                self._queue.gone(self._root, src)
            elif dest_ok:
                self._queue.touched(self._root, dest, created=True)
        elif isinstance(event, FileCreatedEvent):
            if self._wanted(src):
                self._queue.touched(self._root, src, created=True)
        elif isinstance(event, _WRITTEN):
            if self._wanted(src):
                self._queue.touched(self._root, src)
        elif isinstance(event, FileAttribEvent):
            if self._wanted(src):
                self._queue.touched(self._root, src, content=False)
        elif isinstance(event, FileDeletedEvent):
            if self._wanted(src):
                self._queue.gone(self._root, src)
        elif isinstance(event, DirDeletedEvent):
            # A folder moved out of the tree gets no event per file: reconcile under it.
            if src.startswith(self._prefix):
                self._queue.subtree_gone(self._root, src)
        elif (
            isinstance(event, DirMovedEvent)
            and self._wanted(src)
            and not self._wanted(os.fsdecode(event.dest_path))
        ):
            # Files of a folder moved within the tree get their own FileMovedEvents; a
            # folder moved to an ignored name left the tree as far as we are concerned.
            self._queue.subtree_gone(self._root, src)
        # Opened / closed-without-writing / folder-modified events say nothing new.
