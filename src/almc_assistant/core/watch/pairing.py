"""Holding deletions briefly, so that a move seen as "deleted + appeared" is a move.

Thread contract: used under the watcher's lock only (stabiliser thread).

Some moves reach the handler as two unrelated events: a file moved into a folder created
an instant before (inotify watches the new folder too late; watchdog reports what it
finds there as created and the unmatched IN_MOVED_FROM as deleted half a second later),
or a move between two watched folders (two observers). Reporting a deletion there would
make the catalog record a complete file as **lost**. So a deletion is held for a short
window; when it is released, a file that appeared meanwhile with the same size and mtime
(a rename keeps both), and only one such, makes it a :class:`FileMoved`.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

KnownState = tuple[int, int]  # (size, mtime_ns)


class MovePairing:
    """Deletions waiting for a partner, and recent arrivals that could be one."""

    def __init__(self, window: float, cap: int) -> None:
        self.window = window
        self._cap = cap
        self._gone: dict[str, tuple[float, KnownState | None]] = {}  # deadline, signature
        self._arrived: OrderedDict[str, tuple[int, int, float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._gone) + len(self._arrived)

    def hold(self, path: str, signature: KnownState | None, now: float) -> bool:
        """Hold the deletion of ``path``; False when full (publish it at once)."""
        if path not in self._gone and len(self._gone) >= self._cap:
            return False
        self._gone[path] = (now + self.window, signature)
        return True

    def arrived(self, path: str, size: int, mtime_ns: int, now: float) -> None:
        """A file appeared (possibly the other half of a move)."""
        self._arrived.pop(path, None)
        self._arrived[path] = (size, mtime_ns, now)
        while len(self._arrived) > self._cap:
            self._arrived.popitem(last=False)

    def forget_arrival(self, path: str) -> None:
        """``path`` is gone again: it cannot be the other half of a move."""
        self._arrived.pop(path, None)

    def due(self, now: float, *, everything: bool = False) -> dict[str, KnownState | None]:
        """Take the held deletions whose window is over (all of them with ``everything``)."""
        ready = {
            p: sig for p, (deadline, sig) in self._gone.items() if everything or deadline <= now
        }
        for path in ready:
            del self._gone[path]
        while self._arrived:  # arrivals older than two windows cannot pair any more
            first = next(iter(self._arrived.values()))
            if now - first[2] < 2 * self.window:
                break
            self._arrived.popitem(last=False)
        return ready

    @property
    def has_arrivals(self) -> bool:
        return bool(self._arrived)

    def pair(
        self, gone: dict[str, KnownState], exists: Callable[[str], bool]
    ) -> list[tuple[str, str, int, int]]:
        """(src, dest, size, mtime_ns) for each deletion with exactly one matching arrival
        that still ``exists`` (an arrival at a deleted path is no candidate)."""
        wanted_sigs = set(gone.values())
        by_sig: dict[KnownState, list[str]] = {}
        for path, (size, mtime, _) in list(self._arrived.items()):
            if (size, mtime) not in wanted_sigs or path in gone:
                continue
            if not exists(path):
                del self._arrived[path]
                continue
            by_sig.setdefault((size, mtime), []).append(path)
        wanted: dict[KnownState, list[str]] = {}
        for path, sig in gone.items():
            if sig[0] > 0:
                wanted.setdefault(sig, []).append(path)
        pairs = []
        for sig, sources in wanted.items():
            dests = by_sig.get(sig, [])
            if len(sources) == 1 and len(dests) == 1:
                pairs.append((sources[0], dests[0], sig[0], sig[1]))
                del self._arrived[dests[0]]
        return pairs
