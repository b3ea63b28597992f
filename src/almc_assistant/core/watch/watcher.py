"""The watcher: observers on the acquisition folders, a stabiliser thread, scans.

Thread contract: the public methods may be called from any thread. :meth:`Watcher.start`
starts one watchdog observer per folder (its threads only filter and enqueue) and one
stabiliser thread (``almc-watch-stabiliser``, not a daemon) that drains the queue, looks
at the disk, keeps folders' availability and publishes events. :meth:`Watcher.scan` runs
on the caller's thread. One lock serialises the stabiliser and scans, so they never
publish contradictory events. :meth:`Watcher.stop` joins every thread it started.

Typical use (the service)::

    watcher = Watcher(folders, sink, quiet_seconds=60, can_open=checker_opens)
    watcher.start()                 # events from now on are not missed
    watcher.scan(catalog.known)     # reconcile what changed while the app was not running
    ...
    watcher.stop()
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from almc_assistant.core.errors import UsageError
from almc_assistant.core.events import EventSink
from almc_assistant.core.watch.changes import ChangeQueue
from almc_assistant.core.watch.clock import Monotonic, MonotonicClock
from almc_assistant.core.watch.events import (
    FolderAvailable,
    FolderUnavailable,
    ScanFinished,
    WatchFailed,
)
from almc_assistant.core.watch.filesystems import use_polling
from almc_assistant.core.watch.folders import (
    FolderWatch,
    absolute_path,
    folder_ok_cache,
    normalise_folders,
    unavailable_reason,
)
from almc_assistant.core.watch.handler import EnqueueHandler
from almc_assistant.core.watch.ignore import IgnoreRule
from almc_assistant.core.watch.known import KnownFiles, KnownSource, KnownState
from almc_assistant.core.watch.observer import OverflowSpy
from almc_assistant.core.watch.pairing import MovePairing
from almc_assistant.core.watch.reconcile import Reconciler
from almc_assistant.core.watch.scanner import reconcile_tree
from almc_assistant.core.watch.stability import (
    PendingFile,
    RecentlySettled,
    Tracker,
    opens_for_reading,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class WatchStats:
    """Sizes of the watcher's internal structures (memory probes for tests, benchmarks)."""

    queued: int
    queued_high_water: int
    acquiring: int
    acquiring_high_water: int


class Watcher:
    """Watches acquisition folders and publishes :mod:`core.watch.events` to ``sink``."""

    def __init__(
        self,
        folders: Sequence[Path],
        sink: EventSink,
        *,
        quiet_seconds: float = 60.0,
        can_open: Callable[[Path], bool] | None = None,
        polling: bool | None = None,
        clock: Monotonic | None = None,
        ignore: IgnoreRule | None = None,
        poll_interval: float = 5.0,
        max_queued: int = 50_000,
        retry_interval: float = 5.0,
        rescan_interval: float | None = 1800.0,
    ) -> None:
        if quiet_seconds < 0 or poll_interval <= 0 or retry_interval < 0 or max_queued < 1:
            raise UsageError(
                f"Invalid watch settings: quiet_seconds={quiet_seconds}, "
                f"poll_interval={poll_interval}, retry_interval={retry_interval}, "
                f"max_queued={max_queued}.",
                next_step="Use a quiet period >= 0 s, a poll interval > 0 s, a queue >= 1.",
            )
        self._sink = sink
        self._clock: Monotonic = clock or MonotonicClock()
        self._ignore = ignore
        self._retry_interval = retry_interval
        self._rescan_interval = rescan_interval
        self._lock = threading.RLock()
        self._queue = ChangeQueue(max_queued)
        self._tracker = Tracker(quiet_seconds)
        self.tick_seconds = min(1.0, max(0.05, quiet_seconds / 4))
        self._reconciler = Reconciler(
            sink,
            self._tracker,
            can_open or opens_for_reading,
            changed_every=min(quiet_seconds, 10.0),
            settled=RecentlySettled(cap=max(max_queued, 100_000), ttl=max(60.0, 2 * quiet_seconds)),
        )
        self._folders = [
            FolderWatch(
                folder,
                polling=use_polling(folder, polling),
                poll_interval=poll_interval,
                handler=EnqueueHandler(folder, self._queue, sink, ignore),
            )
            for folder in normalise_folders(folders)
        ]
        # Deletions wait this long for the other half of a move (inotify holds an
        # unmatched rename 0.5 s; two polled folders may be seen one poll apart).
        polled = poll_interval if any(fw.polling for fw in self._folders) else 0.0
        window = max(2.0, polled + 3 * self.tick_seconds)
        self._reconciler.pairing = MovePairing(window=window, cap=max_queued)
        self._reconciler.polled = self._polled
        self._known = KnownFiles(self._reconciler.publish)
        self._observing = False
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._overflowed = threading.Event()
        self._spy = OverflowSpy(self._overflowed.set)
        self._next_rescan: float | None = None

    # ------------------------------------------------------------------ inspection
    @property
    def folders(self) -> tuple[Path, ...]:
        return tuple(f.folder for f in self._folders)

    def polls(self, folder: Path) -> bool:
        """Whether ``folder`` is watched by polling."""
        return self._folder(folder).polling

    def _polled(self, root: str) -> bool:
        return any(fw.polling for fw in self._folders if fw.root == root)

    def handler(self, folder: Path) -> EnqueueHandler:
        """The watchdog handler of ``folder`` (tests feed it synthetic events)."""
        return self._folder(folder).handler  # type: ignore[return-value]

    def _folder(self, folder: Path) -> FolderWatch:
        for fw in self._folders:
            if fw.folder == absolute_path(folder):
                return fw
        raise UsageError(f"{folder} is not a watched folder.")

    def pending(self) -> list[PendingFile]:
        """Files still acquiring: path, last size and mtime, since when (wall clock)."""
        with self._lock:
            return self._tracker.pending()

    def stats(self) -> WatchStats:
        with self._lock:
            return WatchStats(
                len(self._queue),
                self._queue.high_water,
                len(self._tracker),
                self._tracker.high_water,
            )

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Start the observers and the stabiliser thread (a folder that is unavailable
        now is reported with :class:`FolderUnavailable` and retried)."""
        with self._lock:
            if self._thread is not None:
                raise UsageError("The watcher is already running.")
            self._spy.install()
            self._observing = True
            self._stopping.clear()
            now = self._clock.monotonic()
            for fw in self._folders:
                if not self._bring_up(fw):
                    fw.next_retry = now + self._retry_interval
            self._thread = threading.Thread(
                target=self._run, name="almc-watch-stabiliser", daemon=False
            )
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the stabiliser thread and every observer, and join them."""
        self._stopping.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)
        with self._lock:
            self._observing = False
            stuck = [fw.folder for fw in self._folders if not fw.stop(timeout)]
            self._reconciler.release_deletions(self._clock.monotonic(), everything=True)
            self._spy.remove()
        if thread is not None and thread.is_alive():
            stuck.append(Path("(stabiliser)"))
        if stuck:
            self._reconciler.publish(
                WatchFailed(
                    folder=stuck[0],
                    title="The watcher did not stop in time",
                    detail=f"Still busy after {timeout:.0f} s: {', '.join(map(str, stuck))}.",
                    next_step="A network share may be hanging; quit and restart the app.",
                )
            )

    def _run(self) -> None:
        while not self._stopping.wait(self.tick_seconds):
            try:
                self.check_stability()
            except Exception as exc:  # keep watching; say what happened
                log.exception("stabiliser tick failed")
                self._reconciler.publish(
                    WatchFailed(
                        folder=self._folders[0].folder if self._folders else Path(),
                        title="The watcher hit an unexpected error",
                        detail=f"{type(exc).__name__}: {exc}",
                        next_step="Watching goes on; if this repeats, ask staff.",
                    )
                )

    # ------------------------------------------------------------------ availability
    def _mark_unavailable(self, fw: FolderWatch, reason: str) -> None:
        if fw.available is not False or fw.reason != reason:
            self._reconciler.publish(FolderUnavailable(folder=fw.folder, reason=reason))
        fw.available, fw.reason = False, reason

    def _bring_up(self, fw: FolderWatch) -> bool:
        """Make ``fw`` available (starting its observer when observing); False if not."""
        reason = fw.probe(returning=True)
        if reason is None and self._observing:
            reason = fw.start_or_poll(self._reconciler.publish)
        if reason is None:
            try:
                fw.dev = fw.folder.stat().st_dev  # a remounted drive may have a new one
            except OSError as exc:
                fw.stop(1.0)
                reason = unavailable_reason(exc)
        if reason is not None:
            self._mark_unavailable(fw, reason)
            return False
        if fw.available is False:
            self._reconciler.publish(FolderAvailable(folder=fw.folder))
            fw.rescan = True
        fw.available = True
        return True

    def _check_folders(self, now: float) -> None:
        for fw in self._folders:
            if fw.available:
                reason = fw.health()
                if reason is not None:
                    fw.stop(1.0)
                    self._mark_unavailable(fw, reason)
                    fw.next_retry = now + self._retry_interval
            elif now >= fw.next_retry and not self._bring_up(fw):
                fw.next_retry = now + self._retry_interval

    # ------------------------------------------------------------------ the tick
    def check_stability(self, now: float | None = None) -> None:
        """One stabiliser tick (the thread calls it; tests call it directly).

        Drains the change queue and looks at every hinted path, checks every folder's
        availability (retrying unavailable ones, re-scanning returning ones), re-scans
        folders whose events were lost, and publishes :class:`FileStabilised` for files
        quiet for the period that open.
        """
        batch = self._queue.drain()
        with self._lock:
            now = self._clock.monotonic() if now is None else now
            self._reconciler.begin_tick(now)
            self._check_folders(now)
            folder_ok = folder_ok_cache(self._folders)
            for path, hint in batch.hints.items():
                self._reconciler.apply_hint(path, hint, folder_ok, now)
            for sub, root in batch.subtrees_gone.items():
                if folder_ok(root):
                    self._reconcile_subtree(root, sub, now)
            self._reconciler.release_deletions(now)
            self._plan_rescans(batch.overflowed, now)
            for fw in self._folders:
                if (
                    fw.rescan
                    and fw.available
                    and now >= fw.rescan_not_before
                    and not self._stopping.is_set()
                ):
                    fw.rescan = False
                    share = self._known.share(fw.folder)
                    if share is not None:
                        self._scan_folder(fw, share)
            self._reconciler.check_due(folder_ok, now)

    def _plan_rescans(self, overflowed: set[str], now: float) -> None:
        if self._overflowed.is_set():
            self._overflowed.clear()
            overflowed = overflowed | {fw.root for fw in self._folders if not fw.polling}
        periodic = (
            self._known.source is not None
            and self._next_rescan is not None
            and self._rescan_interval is not None
            and now >= self._next_rescan
        )
        if periodic and self._rescan_interval is not None:
            self._next_rescan = now + self._rescan_interval
        for fw in self._folders:
            if periodic or fw.root in overflowed:
                fw.rescan = True

    def _reconcile_subtree(self, root: str, sub: str, now: float) -> None:
        """A folder under ``root`` was deleted or moved away: reconcile what was in it."""
        known = self._known.share(Path(sub)) or {}
        if Path(sub).is_dir():
            try:
                reconcile_tree(
                    root, sub, known, self._reconciler, self._ignore, self._clock.monotonic
                )
            except OSError:
                pass  # gone again meanwhile; a later event or scan settles it
            return
        prefix = sub.rstrip(os.sep) + os.sep
        for path in sorted(set(known) | set(self._tracker.under(prefix))):
            if path.startswith(prefix):  # held: the folder may reappear in another tree
                track = self._tracker.forget(path)
                entry = known.get(path)
                signature = (entry and entry[:2]) or (track and (track.size, track.mtime_ns))
                self._reconciler.gone_later(path, signature or None, now)

    # ------------------------------------------------------------------ scans
    def scan(self, known: KnownSource | None = None) -> None:
        """Reconcile every available folder with ``known`` (what the catalog had).

        ``known`` maps path -> (size, mtime_ns[, ctime_ns, file number]) of the files
        the catalog holds as
        complete (leave out files still acquiring: they are re-evaluated), or is a
        callable ``known(path) -> mapping`` answering for any folder or subfolder (every
        file under it) and for a single file (that file, if known). Give the callable: it
        is kept for later re-scans (a folder coming back, lost events, the periodic
        re-scan) and to confirm live moves (a rename keeps size and mtime), so those can
        report deletions and moves correctly.

        Publishes FileAppeared / FileChanged (then FileStabilised at once when the file
        is quiet by its mtime and opens, else it stays acquiring), FileMoved (a vanished
        and a new file of identical size and mtime), FileDeleted, WatchFailed for
        unreadable subfolders, and ScanFinished per folder. Unchanged files: no event.
        """
        self._known.remember(known)
        if self._known.source is not None:
            self._reconciler.known_file = self._known.file
            self._reconciler.known_under = lambda folder: self._known.share(Path(folder))
        with self._lock:
            now = self._clock.monotonic()
            if self._rescan_interval is not None:
                self._next_rescan = now + self._rescan_interval
            for fw in self._folders:
                share = self._known.share(fw.folder, known)
                if share is None:
                    continue
                if not (fw.available if self._observing else self._bring_up(fw)):
                    self._known.keep_for_later(fw.folder, share)
                    self._mark_unavailable(fw, fw.reason or "it cannot be read")
                    continue
                fw.rescan = False
                self._scan_folder(fw, share)

    def _scan_folder(self, fw: FolderWatch, share: dict[str, KnownState]) -> None:
        started = time.perf_counter()
        try:
            report = reconcile_tree(
                fw.root, fw.root, share, self._reconciler, self._ignore, self._clock.monotonic
            )
        except OSError as exc:
            fw.stop(1.0)
            self._mark_unavailable(fw, unavailable_reason(exc))
            return
        seconds = time.perf_counter() - started
        fw.rescan_not_before = self._clock.monotonic() + max(1.0, 4 * seconds)
        for path, err in report.unreadable:
            self._reconciler.publish(
                WatchFailed(
                    folder=Path(path),
                    title=f"Cannot read {Path(path).name}",
                    detail=f"{path} could not be read ({unavailable_reason(err)}); "
                    "files in it are not watched.",
                    next_step="Ask staff to give this account read access to it.",
                )
            )
        self._reconciler.publish(
            ScanFinished(folder=fw.folder, files=report.files, seconds=seconds)
        )
