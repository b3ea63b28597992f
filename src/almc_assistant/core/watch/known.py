"""What the catalog knew: the ``known`` source given to :meth:`Watcher.scan`, normalised.

Thread contract: used under the watcher's lock (stabiliser thread or the scanning
thread); the catalog's callable is called on that thread.

The source is either a mapping ``path -> (size, mtime_ns[, ctime_ns, file number])`` (a
snapshot, used once; ctime and file number 0 or left out when not known) or a
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
from almc_assistant.core.identity import FileIdentity
from almc_assistant.core.watch.events import WatchFailed

log = logging.getLogger(__name__)

# (size, mtime_ns, ctime_ns, file number); ctime and file number 0: the catalog does not
# know them yet (FileIdentified tells it), -1: the source keeps no identities at all.
KnownState = tuple[int, int, int, int]
NO_IDENTITIES = -1
KnownMap = Mapping[Path, tuple[int, ...]]
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
        """What the catalog holds of one file; None when it does not say."""
        if self.source is None:
            return None
        entry = self.source(Path(path)).get(Path(path))
        return None if entry is None else known_state(entry)

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
            for path, entry in mapping.items():
                key = os.fspath(path)
                if key.startswith(prefix):
                    share[key] = known_state(entry)
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


def known_state(entry: tuple[int, ...]) -> KnownState:
    """``(size, mtime_ns[, ctime_ns, file number])`` as a :data:`KnownState`."""
    size, mtime, *rest = entry
    ctime, ino = (int(rest[0]), int(rest[1])) if len(rest) >= 2 else (NO_IDENTITIES,) * 2
    return (int(size), int(mtime), ctime, ino)


def differs(known: KnownState, size: int, mtime: int, ident: FileIdentity | None) -> bool:
    """The file is not as the catalog knew it: another size or mtime, or (when both
    sides know them) another ctime or file number: an edit with the mtime restored, a
    replacement, or a change of attributes (told apart by a re-hash, not here)."""
    if known[:2] != (size, mtime):
        return True
    if ident is None:
        return False
    return (known[2] > 0 and known[2] != ident.ctime_ns) or (
        known[3] > 0 and ident.known and known[3] != ident.ino
    )
