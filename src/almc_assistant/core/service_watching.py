"""The service's watching part: watchers over the acquisition folders, into the catalog.

Thread contract: :meth:`Watching.start` and :meth:`Watching.scan_once` may be called from
any thread (``scan_once`` blocks until the scan, its checks and its records are done).
Watcher threads call :meth:`Watching.on_watch`, which only queues catalog writes and
checks. While watching, a ticker thread re-publishes status and warnings every
``warning_interval`` seconds (cleanup dates approach even when no file changes). A change
of the acquisition folders or watch settings restarts the watcher in a worker.
"""

from __future__ import annotations

import fnmatch
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from almc_assistant.core import service_events as ev
from almc_assistant.core.catalog import Catalog, FileState
from almc_assistant.core.config import Config
from almc_assistant.core.events import CallbackSink, Event, EventSink, FanOutSink
from almc_assistant.core.service_runtime import Runtime
from almc_assistant.core.session import file_owner
from almc_assistant.core.setup_state import NotSetUp, SetupNeeded

if TYPE_CHECKING:
    from almc_assistant.core.watch import Watcher


class Watching:
    """Watchers, the first scan, and turning their events into catalog writes."""

    def __init__(
        self,
        runtime: Runtime,
        user: str,
        *,
        check: Callable[[Path], None],
        import_receipts: Callable[[], int],
        publish_status: Callable[[], None],
        setup_needed: Callable[[], SetupNeeded | None],
        warning_interval: float,
    ) -> None:
        self._rt = runtime
        self._user = user
        self._check = check
        self._import_receipts = import_receipts
        self._publish_status = publish_status
        self._setup_needed = setup_needed
        self._warning_interval = warning_interval
        self._watcher: Watcher | None = None
        self._ticker: threading.Thread | None = None
        self._ticking = threading.Event()
        self._wanted = False  # start() was asked for (the tray app)
        runtime.settings.follow(self._on_settings_changed)

    @property
    def _config(self) -> Config:
        return self._rt.settings.config

    def make_watcher(self, sink: EventSink) -> Watcher:
        from almc_assistant.core.watch import Watcher

        config = self._config
        patterns = [p.lower() for p in config.watch.ignore]

        def ignore(path: Path) -> bool:  # the facility's patterns, on top of the built-ins
            name = path.name.lower()
            return any(fnmatch.fnmatchcase(name, p) for p in patterns)

        return Watcher(
            list(config.acquisition_folders),
            sink,
            quiet_seconds=config.watch.quiet_seconds,
            polling=True if config.watch.polling else None,
            ignore=ignore if patterns else None,
        )

    def _sink(self) -> EventSink:
        return FanOutSink(CallbackSink(self.on_watch), self._rt.sink)

    def start(self) -> None:
        """Watch the acquisition folders; a first scan reconciles what changed meanwhile.
        Raises :class:`NotSetUp` when there are none yet; watching then starts by itself
        once settings that name some apply."""
        self._wanted = True
        setup = self._setup_needed()
        if setup is not None:
            raise NotSetUp(setup)
        with self._rt.lock:
            if self._watcher is not None:
                return
            watcher = self.make_watcher(self._sink())
            self._watcher = watcher
        watcher.start()

        def first_scan() -> None:
            watcher.scan(self._rt.catalog.known_files)
            self._rt.recorder.flush()
            self._import_receipts()

        self._rt.submit("watch", first_scan)
        self._start_ticker()

    def _on_settings_changed(self, before: Config, after: Config) -> None:
        """New settings: watch the new set of acquisition folders (in a worker: stopping
        the old watcher joins its threads)."""
        if not self._wanted or (
            before.acquisition_folders == after.acquisition_folders
            and before.watch == after.watch
            and self._watcher is not None
        ):
            return

        def rewatch() -> None:
            with self._rt.lock:
                old, self._watcher = self._watcher, None
            if old is not None:
                old.stop()
            if self._setup_needed() is None:
                self.start()

        self._rt.submit("watch", rewatch)

    def _start_ticker(self) -> None:
        with self._rt.lock:
            if self._ticker is not None:
                return
            self._ticking.clear()
            self._ticker = threading.Thread(target=self._tick, name="almc-service-warnings")
            self._ticker.start()

    def _tick(self) -> None:
        while not self._ticking.wait(self._warning_interval):
            try:
                self._publish_status()
            except Exception as exc:  # reported, and the ticker keeps going
                self._rt.failed("warnings", exc)

    def scan_once(self) -> None:
        """Scan the folders now, record what changed, check finished files, and import
        copy receipts found at the destinations (blocking)."""
        watcher = self.make_watcher(self._sink())
        watcher.scan(self._rt.catalog.known_files)
        self._rt.recorder.flush()
        self._import_receipts()
        self._rt.finish_work()  # the checks of finished files
        self._rt.recorder.flush()

    def stop(self, timeout: float) -> None:
        with self._rt.lock:
            watcher, self._watcher = self._watcher, None
            ticker, self._ticker = self._ticker, None
        self._ticking.set()
        if ticker is not None:
            ticker.join(timeout)
        if watcher is not None:
            watcher.stop(timeout)

    # ------------------------------------------------------------------ events
    def on_watch(self, event: Event) -> None:
        """Watcher threads: turn its events into catalog writes (queued, batched)."""
        from almc_assistant.core import watch as w

        rec = self._rt.recorder
        user = self._user
        if isinstance(event, (w.FileAppeared, w.FileChanged, w.FileStabilised)):
            done = isinstance(event, w.FileStabilised)
            path, size, mtime = event.path, event.size, event.mtime_ns
            owner = file_owner(path, user)
            root = self.root_of(path)
            state = FileState.COMPLETE if done else FileState.ACQUIRING
            identity = event.identity
            rec.submit(
                lambda c: c.record_seen(
                    path,
                    size=size,
                    mtime_ns=mtime,
                    owner=owner,
                    state=state,
                    root=root,
                    identity=identity,
                )
            )
            if done:
                self._check(path)
        elif isinstance(event, w.FileIdentified):
            found, size, mtime, identity = event.path, event.size, event.mtime_ns, event.identity
            rec.submit(
                lambda c: c.record_identity(found, size=size, mtime_ns=mtime, identity=identity)
            )
        elif isinstance(event, w.FileMoved):
            src, dest, size, mtime = event.src, event.dest, event.size, event.mtime_ns
            owner, root = file_owner(dest, user), self.root_of(dest)
            moved_identity = event.identity

            def moved(c: Catalog) -> None:
                if not c.record_moved(
                    src, dest, size=size, mtime_ns=mtime, root=root, identity=moved_identity
                ):
                    # Not catalogued yet: a new file; the next scan finds it complete.
                    c.record_seen(dest, size=size, mtime_ns=mtime, owner=owner, root=root)

            rec.submit(moved)
        elif isinstance(event, w.FileDeleted):
            gone = event.path
            rec.submit(lambda c: self._record_deleted(c, gone))
        elif isinstance(event, w.ScanFinished):
            rec.submit_after(self._publish_status)

    def _record_deleted(self, catalog: Catalog, path: Path) -> None:
        before = catalog.file(path)
        if catalog.record_deleted(path) is FileState.LOST and before is not None:
            self._rt.sink.publish(ev.FileLost(path=path, owner=before.owner))

    def root_of(self, path: Path) -> Path | None:
        """The acquisition folder holding ``path`` (the innermost), or ``None``."""
        roots = [r for r in self._config.acquisition_folders if r == path or r in path.parents]
        return max(roots, key=lambda r: len(r.parts), default=None)
