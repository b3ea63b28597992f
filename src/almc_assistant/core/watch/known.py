"""What the catalog knew: the ``known`` source given to :meth:`Watcher.scan`, normalised.

Thread contract: used under the watcher's lock (stabiliser thread or the scanning
thread); the catalog's callable is called on that thread.

The source is either a mapping ``path -> (size, mtime_ns)`` (a snapshot, used once) or a
callable ``known(path) -> mapping`` answering for a folder (every file under it) and, if
it can, for a single file. The callable is kept for later re-scans and for confirming
moves; a failure to answer is published, never guessed around.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path

from almc_assistant.core.events import Event
from almc_assistant.core.watch.events import WatchFailed

log = logging.getLogger(__name__)

KnownState = tuple[int, int]  # (size, mtime_ns)
KnownMap = Mapping[Path, tuple[int, int]]
KnownSource = KnownMap | Callable[[Path], KnownMap]


class KnownFiles:
    """The catalog's answers, as path strings under a folder."""

    def __init__(self, publish: Callable[[Event], None]) -> None:
        self._publish = publish
        self.source: Callable[[Path], KnownMap] | None = None
        self._unscanned: dict[str, dict[str, KnownState]] = {}  # snapshot shares not used

    def remember(self, known: KnownSource | None) -> None:
        """Keep ``known`` for later when it is a callable (a mapping goes stale)."""
        if callable(known):
            self.source = known

    def keep_for_later(self, folder: Path, share: dict[str, KnownState]) -> None:
        """``folder`` could not be scanned now: use its share when it comes back."""
        self._unscanned[os.fspath(folder)] = share

    def file(self, path: str) -> KnownState | None:
        """The catalog's (size, mtime_ns) of one file; None when it does not say."""
        if self.source is None:
            return None
        entry = self.source(Path(path)).get(Path(path))
        return None if entry is None else (int(entry[0]), int(entry[1]))

    def share(self, folder: Path, known: KnownSource | None = None) -> dict[str, KnownState] | None:
        """The known files under ``folder`` (``known``, else the kept source, else what
        was kept for later, else nothing); None when the catalog failed to answer."""
        source = known if known is not None else self.source
        if source is None:
            return self._unscanned.pop(os.fspath(folder), {})
        try:
            mapping = source(folder) if callable(source) else source
            prefix = os.fspath(folder).rstrip(os.sep) + os.sep
            share = {}
            for path, (size, mtime) in mapping.items():
                key = os.fspath(path)
                if key.startswith(prefix):
                    share[key] = (int(size), int(mtime))
            return share
        except Exception as exc:
            log.exception("known files of %s could not be read", folder)
            self._publish(
                WatchFailed(
                    folder=folder,
                    title=f"Could not compare {folder.name} with the catalog",
                    detail=f"Reading the known files of {folder} failed: {exc}",
                    next_step="The folder was not scanned; it will be tried again.",
                )
            )
            return None
