"""The coalescing queue between watchdog observers and the stabiliser.

Thread contract: :class:`ChangeQueue` is thread-safe. Observer threads record hints
(``touched``, ``gone``, ``moved``, ``subtree_gone``); the stabiliser thread takes them
all at once with :meth:`ChangeQueue.drain`.

A hint says only *which* path to look at again, never what its size is: the stabiliser
stats every hinted path when it drains, so the latest state on disk always wins and an
event storm cannot leave a file in a stale state. Hints are kept per path (the latest
one replaces earlier ones), so memory grows with the number of distinct paths touched
between two drains, and never past ``max_paths``: beyond it the folder is flagged
``overflowed`` and the stabiliser re-scans it instead.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field


@dataclass(slots=True)
class Hint:
    """What happened to one path since the last drain."""

    folder: str
    gone: bool = False  # the latest event says the path is not there any more
    born: bool = False  # the first event of the batch created it: nobody heard of it yet
    moved_away: bool = False  # it left by a move another hint reports
    moved_from: str | None = None  # it arrived by a move from this (known) path
    content: bool = False  # created, written, moved or deleted (not just chmod/utime)


@dataclass(slots=True)
class Batch:
    """Everything drained at once."""

    hints: dict[str, Hint] = field(default_factory=dict)
    subtrees_gone: dict[str, str] = field(default_factory=dict)  # folder path -> watched root
    overflowed: set[str] = field(default_factory=set)  # watched roots to re-scan


class ChangeQueue:
    """Per-path latest hints, bounded by ``max_paths``."""

    def __init__(self, max_paths: int = 50_000) -> None:
        if max_paths < 1:
            raise ValueError("max_paths must be at least 1")
        self._max = max_paths
        self._lock = threading.Lock()
        self._batch = Batch()
        self.high_water = 0  # most hints held at once (a test and benchmark probe)

    def __len__(self) -> int:
        with self._lock:
            return len(self._batch.hints) + len(self._batch.subtrees_gone)

    def _slot(self, folder: str, path: str) -> Hint | None:
        """The hint for ``path``, created if there is room; None (and overflow) if not."""
        batch = self._batch
        hint = batch.hints.get(path)
        if hint is not None:
            return hint
        if folder in batch.overflowed:
            return None
        if len(batch.hints) + len(batch.subtrees_gone) >= self._max:
            batch.overflowed.add(folder)
            return None
        hint = batch.hints[path] = Hint(folder=folder)
        self.high_water = max(self.high_water, len(batch.hints) + len(batch.subtrees_gone))
        return hint

    def touched(
        self, folder: str, path: str, *, created: bool = False, content: bool = True
    ) -> None:
        """``path`` was created or written (``content``) or only its attributes changed."""
        with self._lock:
            fresh = path not in self._batch.hints
            hint = self._slot(folder, path)
            if hint is None:
                return
            if fresh:
                hint.born = created
            hint.gone = False
            hint.moved_away = False
            hint.content = hint.content or content or created

    def gone(self, folder: str, path: str) -> None:
        """``path`` was deleted or moved out of the watched folder."""
        with self._lock:
            hint = self._slot(folder, path)
            if hint is not None:
                hint.gone = True
                hint.moved_away = False
                hint.content = True

    def moved(self, folder: str, src: str, dest: str) -> None:
        """``src`` was renamed to ``dest`` inside the watched folder."""
        with self._lock:
            batch = self._batch
            before = batch.hints.get(src)
            origin: str | None = src
            if before is not None and (before.born or before.moved_from is not None):
                # src was itself new in this batch: nobody knows its name; forget it.
                origin = None if before.born else before.moved_from
                del batch.hints[src]
            else:
                hint = self._slot(folder, src)
                if hint is None:
                    return
                hint.gone = True
                hint.moved_away = True
                hint.content = True
            target = self._slot(folder, dest)
            if target is None:
                return
            target.gone = False
            target.moved_away = False
            target.moved_from = origin
            target.born = origin is None
            target.content = True

    def subtree_gone(self, folder: str, path: str) -> None:
        """A folder inside the watched tree was deleted or moved away."""
        with self._lock:
            batch = self._batch
            if path in batch.subtrees_gone or folder in batch.overflowed:
                return
            if len(batch.hints) + len(batch.subtrees_gone) >= self._max:
                batch.overflowed.add(folder)
                return
            batch.subtrees_gone[path] = folder

    def overflow(self, folder: str) -> None:
        """Events for ``folder`` were lost (kernel queue overflow): re-scan it."""
        with self._lock:
            self._batch.overflowed.add(folder)

    def drain(self) -> Batch:
        """Take everything recorded so far, leaving the queue empty."""
        with self._lock:
            batch, self._batch = self._batch, Batch()
            return batch
