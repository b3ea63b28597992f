"""The names in a network share's folders, listed once per job instead of looked up per file.

Thread contract: one :class:`FolderListings` per share destination per job, shared by
the workers; thread-safe (a folder is listed once, by the first worker that needs it).

Why: before copying a file the engine looks at its final name (absent: copy; a
same-size file: adopt it; a different file: keep both). On a share each look-up of an
absent name is a round trip the kernel makes wait behind every ``create``/``link`` in
that folder (they hold its lock), so with many workers it costs several round trips per
file. One listing of the folder (a few round trips for thousands of names) answers
"absent" for all of them.

Safety does not rest on it: a name that appears after the listing is found by the
publish itself (``link`` fails on an existing name: nothing is replaced) and then
settled by reading it back, as for any name taken meanwhile (:mod:`landing`). A name the
listing shows is looked up as before. A folder over ``MAX_NAMES`` is not kept.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

MAX_NAMES = 200_000  # per folder; a larger one is looked up name by name


class FolderListings:
    """Which names each folder below ``root`` held when this job first listed it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()
        self._folders: dict[Path, set[str] | None] = {}  # None: not kept (too large)
        self._listing: dict[Path, threading.Lock] = {}

    def surely_absent(self, final: Path, folder: Path | None = None) -> bool:
        """True when ``final``'s folder (``folder``, when the caller has it) was listed
        without ``final``'s name in it (a missing folder: nothing in it). False means
        "look it up"."""
        if folder is None:
            folder = final.parent
        with self._lock:
            if folder in self._folders:
                names = self._folders[folder]
                return names is not None and final.name not in names
            gate = self._listing.setdefault(folder, threading.Lock())
        with gate:
            with self._lock:
                done = folder in self._folders
            if not done:
                names = self._list(folder)
                with self._lock:
                    self._folders[folder] = names
        with self._lock:
            names = self._folders[folder]
        return names is not None and final.name not in names

    @staticmethod
    def _list(folder: Path) -> set[str] | None:
        try:
            with os.scandir(folder) as entries:
                names: set[str] = set()
                for entry in entries:
                    names.add(entry.name)
                    if len(names) > MAX_NAMES:
                        return None
                return names
        except FileNotFoundError:
            return set()  # not made yet: nothing in it
        except OSError:
            return None  # look names up one by one (the copy reports real errors)
