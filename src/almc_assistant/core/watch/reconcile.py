"""Deciding which events a fresh look at a file means, given what the watcher knows.

Thread contract: a :class:`Reconciler` is used under the watcher's lock only (from the
stabiliser thread or the thread running :meth:`Watcher.scan`). It publishes to the sink
on that thread.

Inputs are hints drained from the :class:`ChangeQueue`, files met by a scan, and the
tracker's due list; the output is the events of :mod:`core.watch.events`. Deletions are
only concluded while the watched folder is healthy (``folder_ok``): an unplugged drive
must never look like thousands of deleted files.
"""

from __future__ import annotations

import logging
import stat
from collections.abc import Callable
from pathlib import Path

from almc_assistant.core.errors import describe_os_error
from almc_assistant.core.events import Event, EventSink
from almc_assistant.core.identity import FileIdentity
from almc_assistant.core.watch.changes import Hint
from almc_assistant.core.watch.events import (
    FileAppeared,
    FileChanged,
    FileDeleted,
    FileIdentified,
    FileMoved,
    FileStabilised,
    WatchFailed,
)
from almc_assistant.core.watch.known import KnownState, differs
from almc_assistant.core.watch.pairing import KnownState as Signature
from almc_assistant.core.watch.pairing import MovePairing
from almc_assistant.core.watch.stability import (
    RecentlySettled,
    Tracker,
    quiet_by_mtime,
    stat_file,
)

log = logging.getLogger(__name__)

FolderOk = Callable[[str], bool]


class Reconciler:
    """Turns observations into events and keeps the tracker of acquiring files."""

    def __init__(
        self,
        sink: EventSink,
        tracker: Tracker,
        can_open: Callable[[Path], bool],
        *,
        changed_every: float,
        settled: RecentlySettled,
        pairing: MovePairing | None = None,
    ) -> None:
        self._sink = sink
        self.tracker = tracker
        self._can_open = can_open
        self._changed_every = changed_every  # at most one FileChanged per file this often
        self.settled = settled
        self._deleted: set[str] = set()  # published this tick (hints and subtrees overlap)
        self._under: dict[str, dict[str, KnownState]] = {}  # catalog answers this tick
        # What the catalog holds of one file, None if unknown; None: cannot ask.
        self.known_file: Callable[[str], KnownState | None] | None = None
        # The catalog's files under a folder; None: cannot ask.
        self.known_under: Callable[[str], dict[str, KnownState] | None] | None = None
        self.pairing: MovePairing | None = pairing
        self.polled: Callable[[str], bool] = lambda root: False  # is that folder polled?

    def begin_tick(self, now: float) -> None:
        self._deleted.clear()
        self._under.clear()
        self.settled.expire(now)

    def publish(self, event: Event) -> None:
        try:
            self._sink.publish(event)
        except Exception:  # the sink is someone else's code; keep watching
            log.exception("the event sink failed on %r", event)

    def _failed(self, folder: str, exc: OSError, path: str, action: str) -> None:
        err = describe_os_error(exc, action=action, path=path)
        self.publish(
            WatchFailed(
                folder=Path(folder), title=err.title, detail=err.detail, next_step=err.next_step
            )
        )

    def _lstat(self, folder: str, path: str) -> tuple[bool, int, int, FileIdentity] | None:
        """(is a regular file, size, mtime_ns, identity), or None if gone; raises
        only the ``OSError`` it reported."""
        try:
            st = stat_file(path)
            ident = None if st is None else FileIdentity.of(st, path)
        except (FileNotFoundError, NotADirectoryError):
            return None  # gone between the stat and the look through a handle (Windows)
        except OSError as exc:
            self._failed(folder, exc, path, "look at")
            raise
        if st is None or ident is None:
            return None
        return stat.S_ISREG(st.st_mode), st.st_size, st.st_mtime_ns, ident

    # ------------------------------------------------------------------ live hints
    def apply_hint(self, path: str, hint: Hint, folder_ok: FolderOk, now: float) -> None:
        try:
            seen = self._lstat(hint.folder, path)
        except OSError:
            return
        if seen is None or not seen[0]:
            if seen is None and folder_ok(hint.folder):
                self._hint_gone(path, hint, now)
            return
        _, size, mtime, ident = seen
        origin = hint.moved_from
        if origin is not None and stat_file(origin) is None:
            if self._same_file(origin, size, mtime, polled=self.polled(hint.folder)):
                self.tracker.move(origin, path, hint.folder)
                self.publish(
                    FileMoved(
                        src=Path(origin), dest=Path(path), size=size, mtime_ns=mtime, identity=ident
                    )
                )
                if path in self.tracker:
                    self._observe(path, size, mtime, now)
                return
            self.vanished(origin)  # not the file the catalog knew: gone + appeared
        if path in self.tracker:
            self._observe(path, size, mtime, now)
        elif self._already_settled(path, size, mtime, ident):
            pass  # a late event for a file settled since (event storms, re-scans)
        elif hint.born or origin is not None:
            self._begin(hint.folder, path, size, mtime, now, FileAppeared, ident)
            if self.pairing is not None:
                self.pairing.arrived(path, size, mtime, now)
        elif (
            hint.content
            or not quiet_by_mtime(mtime, self.tracker.quiet_seconds)
            or self._known_differs(path, size, mtime, ident)
        ):
            # Written; or only attributes changed but the mtime is recent (``touch``), or
            # the identity is not the catalog's (a change the copies may not hold: the
            # service re-hashes the file once it settles to tell).
            self._begin(hint.folder, path, size, mtime, now, FileChanged, ident)
        # else: only attributes of a file the catalog does not hold changed.

    def _same_file(self, origin: str, size: int, mtime: int, *, polled: bool) -> bool:
        """Is a file that arrived by a move from ``origin`` the one known there?

        A move must never hand one file's verified copies to another. An acquiring file
        is the same (it may have grown); a rename keeps size and mtime, so compare with
        what was last seen or what the catalog holds. When nobody can tell, trust a
        kernel rename, but not a polling diff: it takes a deleted file's reused inode
        for a move.
        """
        if origin in self.tracker:
            return True
        was = self._signatures({origin: None}).get(origin)
        if was is None and self.known_file is not None:
            try:
                entry = self.known_file(origin)
                was = None if entry is None else entry[:2]
            except Exception:
                log.exception("the catalog could not tell what %s was", origin)
        if was is not None:
            return was == (size, mtime)
        return not polled

    def _already_settled(self, path: str, size: int, mtime: int, ident: FileIdentity) -> bool:
        """Settled recently, or complete in the catalog, exactly as it is now (size,
        mtime, and ctime and file number where known)."""
        if self.settled.matches(path, size, mtime, ident):
            return True
        known = self._known(path)
        return known is not None and not differs(known, size, mtime, ident)

    def _known_differs(self, path: str, size: int, mtime: int, ident: FileIdentity) -> bool:
        """The catalog holds ``path`` with another size, mtime, ctime or file number."""
        known = self._known(path)
        return known is not None and differs(known, size, mtime, ident)

    def _known(self, path: str) -> KnownState | None:
        """What the catalog knows of ``path`` (None when nothing, or it cannot tell)."""
        if self.known_file is None:
            return None
        try:
            return self.known_file(path)
        except Exception:
            log.exception("the catalog could not tell what %s is", path)
            return None

    def _hint_gone(self, path: str, hint: Hint, now: float) -> None:
        if hint.moved_away:
            return  # the destination's hint reports the move
        if hint.moved_from is not None:  # arrived by a move, then vanished
            self.tracker.forget(path)
            self.vanished(hint.moved_from)
            return
        track = self.tracker.forget(path)
        if self.pairing is not None:
            self.pairing.forget_arrival(path)
        if track is None and hint.born:
            return  # created and deleted between two ticks: nobody heard of it
        self.gone_later(path, None if track is None else (track.size, track.mtime_ns), now)

    def gone_later(self, path: str, signature: Signature | None, now: float) -> None:
        """``path`` is gone: hold the deletion a moment (a move's other half may come)."""
        if self.pairing is None or not self.pairing.hold(path, signature, now):
            self.vanished(path)

    def release_deletions(self, now: float, *, everything: bool = False) -> None:
        """Publish held deletions whose window is over: moves when a partner appeared."""
        if self.pairing is None:
            return
        due = self.pairing.due(now, everything=everything)
        due = {p: sig for p, sig in due.items() if stat_file(p) is None}  # back meanwhile?
        if not due:
            return
        paired: set[str] = set()
        if self.pairing.has_arrivals:
            exists = lambda p: stat_file(p) is not None  # noqa: E731
            for src, dest, size, mtime in self.pairing.pair(self._signatures(due), exists):
                paired.add(src)
                self.settled.discard(src)
                self.publish(FileMoved(src=Path(src), dest=Path(dest), size=size, mtime_ns=mtime))
        for path in sorted(due.keys() - paired):
            self.vanished(path)

    def _signatures(self, due: dict[str, Signature | None]) -> dict[str, Signature]:
        """(size, mtime_ns) of deleted files: as last seen, else from the catalog."""
        found = {p: sig for p, sig in due.items() if sig is not None}
        for path in due.keys() - found.keys():
            recent = self.settled.get(path)
            if recent is not None:
                found[path] = recent
        missing = due.keys() - found.keys()
        if missing and self.known_under is not None:
            for parent in {str(Path(p).parent) for p in missing}:
                if parent not in self._under:  # one catalog query per folder and tick
                    self._under[parent] = self.known_under(parent) or {}
                share = self._under[parent]
                found.update({p: share[p][:2] for p in missing if p in share})
        return found

    def _begin(
        self,
        folder: str,
        path: str,
        size: int,
        mtime: int,
        now: float,
        kind: type[FileAppeared] | type[FileChanged],
        ident: FileIdentity | None = None,
    ) -> None:
        self.publish(kind(path=Path(path), size=size, mtime_ns=mtime, identity=ident))
        self.tracker.start(folder, path, size, mtime, now)

    def _observe(self, path: str, size: int, mtime: int, now: float) -> bool:
        """Record a fresh stat of a tracked file; True (and maybe FileChanged) if it changed."""
        if not self.tracker.observe(path, size, mtime, now):
            return False
        track = self.tracker.get(path)
        if track is not None and now - track.reported_at >= self._changed_every:
            track.reported_at = now
            self.publish(FileChanged(path=Path(path), size=size, mtime_ns=mtime))
        return True

    # ------------------------------------------------------------------ stability
    def opens(self, folder: str, path: str, as_path: Path | None = None) -> bool:
        """The injected open test; an exception from it counts as "does not open"."""
        try:
            return bool(self._can_open(as_path or Path(path)))
        except Exception as exc:
            log.exception("open test failed on %s", path)
            self.publish(
                WatchFailed(
                    folder=Path(folder),
                    title=f"Could not test whether {Path(path).name} is finished",
                    detail=f"Testing {path} failed: {type(exc).__name__}: {exc}",
                    next_step="It stays 'acquiring'; it is tested again after a quiet period.",
                )
            )
            return False

    def check_due(self, folder_ok: FolderOk, now: float) -> None:
        """Stat every file quiet for the period; publish FileStabilised when it opens."""
        for path in self.tracker.due(now):
            track = self.tracker.get(path)
            if track is None:
                continue
            try:
                seen = self._lstat(track.folder, path)
            except OSError:
                self.tracker.restart_quiet(path, now)
                continue
            if seen is None or not seen[0]:
                if folder_ok(track.folder):
                    self.vanished(path)
                continue
            _, size, mtime, ident = seen
            if self._observe(path, size, mtime, now):
                continue
            if self.opens(track.folder, path):
                self.tracker.forget(path)
                self._stabilised(path, size, mtime, now, ident=ident)
            else:
                self.tracker.restart_quiet(path, now)

    # ------------------------------------------------------------------ scans
    def seen(
        self,
        folder: str,
        path: str,
        size: int,
        mtime: int,
        known: KnownState | None,
        now: float,
        ident: FileIdentity | None = None,
    ) -> None:
        """A scan met ``path``; ``known`` is what the catalog had for it (None: new)."""
        if path in self.tracker:
            self._observe(path, size, mtime, now)
            return
        changed = known is None or differs(known, size, mtime, ident)
        if changed and self.settled.matches(path, size, mtime, ident):
            # Stabilised live, as it is now, after the scan's catalog snapshot was
            # taken (the first scan runs while the observers already work): not new.
            return
        as_path = Path(path)  # built once: a first scan meets 100,000s of files
        if known is None:
            self.publish(FileAppeared(path=as_path, size=size, mtime_ns=mtime, identity=ident))
        elif changed:
            self.publish(FileChanged(path=as_path, size=size, mtime_ns=mtime, identity=ident))
        else:
            if ident is not None and known[2] == 0:  # the catalog does not know it yet
                self.publish(
                    FileIdentified(path=as_path, size=size, mtime_ns=mtime, identity=ident)
                )
            return
        self.settle(folder, path, size, mtime, now, as_path, ident)

    def settle(
        self,
        folder: str,
        path: str,
        size: int,
        mtime: int,
        now: float,
        as_path: Path | None = None,
        ident: FileIdentity | None = None,
    ) -> None:
        """Stabilised at once if quiet by its mtime and it opens; else acquiring.

        The walk's stat may be seconds old by now (a big folder, held back for rename
        pairing): the file is looked at again before it is called finished.
        """
        if quiet_by_mtime(mtime, self.tracker.quiet_seconds):
            try:
                fresh = stat_file(path)
                again = None if fresh is None else FileIdentity.of(fresh, path)
            except OSError:
                again = None
            if (
                again is not None
                and (ident is None or again.unchanged_since(ident))
                and (again.size, again.mtime_ns) == (size, mtime)
                and self.opens(folder, path, as_path)
            ):
                self._stabilised(path, size, mtime, now, as_path, again)
                return
            if fresh is not None:
                size, mtime = fresh.st_size, fresh.st_mtime_ns
        self.tracker.start(folder, path, size, mtime, now)

    def _stabilised(
        self,
        path: str,
        size: int,
        mtime: int,
        now: float,
        as_path: Path | None = None,
        ident: FileIdentity | None = None,
    ) -> None:
        self.settled.add(path, size, mtime, now, ident)
        self.publish(
            FileStabilised(path=as_path or Path(path), size=size, mtime_ns=mtime, identity=ident)
        )

    def moved(
        self,
        folder: str,
        src: str,
        dest: str,
        size: int,
        mtime: int,
        now: float,
        ident: FileIdentity | None = None,
    ) -> None:
        """A scan paired a vanished known file with a new one of identical size and mtime."""
        was_tracked = src in self.tracker
        self.tracker.move(src, dest, folder)
        self.publish(
            FileMoved(src=Path(src), dest=Path(dest), size=size, mtime_ns=mtime, identity=ident)
        )
        if was_tracked:
            self._observe(dest, size, mtime, now)

    def vanished(self, path: str) -> None:
        """``path`` is gone from a healthy folder."""
        self.tracker.forget(path)
        self.settled.discard(path)
        if self.pairing is not None:
            self.pairing.forget_arrival(path)
        if path not in self._deleted:
            self._deleted.add(path)
            self.publish(FileDeleted(path=Path(path)))
