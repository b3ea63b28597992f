"""The one facade the GUI and the CLI call: catalog, watcher, checks, copies, cleanup.

Thread contract: every public method may be called from any thread (the GUI thread
included). *Queries* (``status``, ``session_files``, ``destinations``, ``warnings``,
``pending_summary``, ``plan_cleanup``) read the catalog and return at once. *Actions*
return at once too: the work runs in core workers (the watcher's threads, the copy
engine's pool, the service's own worker pool, the catalog writer thread) which publish
events to the sink given here; no worker swallows an exception (it becomes a
:class:`~almc_assistant.core.service_events.ServiceFailed` event). The blocking calls
are named as such: ``preflight_now`` and ``apply_cleanup`` (for the CLI); ``preflight``
and ``apply_cleanup_async`` run the same work in a worker and publish the result
(``PreflightFinished``, ``CleanupFinished``). ``inline=True`` runs the service's own work
on the caller's thread (deterministic tests).

This is the only module that imports more than one of ``core.inspect``,
``core.transfer`` and ``core.watch``; each is imported inside the method that needs it.
Plumbing, queries, settings and cleanup live in :mod:`almc_assistant.core.service_core`.
"""

from __future__ import annotations

import fnmatch
import logging
import os
import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING

from almc_assistant.core import service_events as ev
from almc_assistant.core.catalog import Catalog, FileState
from almc_assistant.core.cleanup import CleanupPlan, keep_unchecked_damage, keep_whole_datasets
from almc_assistant.core.config import Config
from almc_assistant.core.copies import CopyRecord
from almc_assistant.core.destinations import Destination
from almc_assistant.core.events import CallbackSink, Event, EventSink, FanOutSink
from almc_assistant.core.receipts import read_receipt
from almc_assistant.core.service_core import ServiceCore
from almc_assistant.core.session import file_owner
from almc_assistant.core.setup_state import NotSetUp

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from almc_assistant.core.inspect import CheckReport, PartialDataset
    from almc_assistant.core.transfer import CopyJob, OnConflict
    from almc_assistant.core.watch import Watcher

__all__ = ["Service", "read_receipt"]


class Service(ServiceCore):
    """The facade (see the module docstring for the thread contract)."""

    def _setup(self) -> None:
        self._watcher: Watcher | None = None
        self._jobs: list[CopyJob] = []
        self._ticker: threading.Thread | None = None
        self._ticking = threading.Event()
        self._to_check: deque[Path] = deque()
        self._checking = False
        self._last_copied: tuple[Path, bool, str] | None = None  # see _copy_source
        self._watch_wanted = False  # start_watching was asked for (the tray app)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop watching, cancel copies, write what is queued, close the catalog."""
        with self._lock:
            watcher, self._watcher = self._watcher, None
            jobs, self._jobs = self._jobs, []
            ticker, self._ticker = self._ticker, None
        self._ticking.set()
        if ticker is not None:
            ticker.join(timeout)
        if watcher is not None:
            watcher.stop(timeout)
        for job in jobs:
            job.cancel()
        for job in jobs:
            job.wait(timeout)
        super().stop(timeout)

    # ================================================================== watching
    def _make_watcher(self, sink: EventSink) -> Watcher:
        from almc_assistant.core.watch import Watcher

        patterns = [p.lower() for p in self.config.watch.ignore]

        def ignore(path: Path) -> bool:  # the facility's patterns, on top of the built-ins
            name = path.name.lower()
            return any(fnmatch.fnmatchcase(name, p) for p in patterns)

        return Watcher(
            list(self.config.acquisition_folders),
            sink,
            quiet_seconds=self.config.watch.quiet_seconds,
            polling=True if self.config.watch.polling else None,
            ignore=ignore if patterns else None,
        )

    def start_watching(self) -> None:
        """Watch the acquisition folders; a first scan reconciles what changed meanwhile.
        Raises :class:`NotSetUp` when there are none yet; watching then starts by itself
        once settings that name some are applied (:meth:`apply_settings`)."""
        self._watch_wanted = True
        setup = self.setup_needed()
        if setup is not None:
            raise NotSetUp(setup)
        with self._lock:
            if self._watcher is not None:
                return
            watcher = self._make_watcher(FanOutSink(CallbackSink(self._on_watch), self.sink))
            self._watcher = watcher
        watcher.start()

        def first_scan() -> None:
            watcher.scan(self.catalog.known_files)
            self.recorder.flush()
            self.import_receipts()

        self._submit("watch", first_scan)
        self._start_ticker()

    def _settings_changed(self, before: Config, after: Config) -> None:
        """New settings: watch the new set of acquisition folders (in a worker: stopping
        the old watcher joins its threads)."""
        if not self._watch_wanted or (
            before.acquisition_folders == after.acquisition_folders
            and before.watch == after.watch
            and self._watcher is not None
        ):
            return

        def rewatch() -> None:
            with self._lock:
                old, self._watcher = self._watcher, None
            if old is not None:
                old.stop()
            if self.setup_needed() is None:
                self.start_watching()

        self._submit("watch", rewatch)

    def _start_ticker(self) -> None:
        """Re-publish status and warnings every ``warning_interval`` seconds while
        watching: cleanup dates approach even when no file changes."""
        with self._lock:
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
                self._failed("warnings", exc)

    def scan_once(self) -> None:
        """Scan the folders now, record what changed, check finished files, and import
        copy receipts found at the destinations (blocking)."""
        watcher = self._make_watcher(FanOutSink(CallbackSink(self._on_watch), self.sink))
        watcher.scan(self.catalog.known_files)
        self.recorder.flush()
        self.import_receipts()
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:  # the checks of finished files
            pool.shutdown(wait=True)
        self.recorder.flush()

    def _on_watch(self, event: Event) -> None:
        """Watcher threads: turn its events into catalog writes (queued, batched)."""
        from almc_assistant.core import watch as w

        rec = self.recorder
        if isinstance(event, (w.FileAppeared, w.FileChanged, w.FileStabilised)):
            done = isinstance(event, w.FileStabilised)
            path, size, mtime = event.path, event.size, event.mtime_ns
            owner = file_owner(path, self.user)
            root = self._root_of(path)
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
                self._queue_check(path)
        elif isinstance(event, w.FileIdentified):
            found, size, mtime, identity = event.path, event.size, event.mtime_ns, event.identity
            rec.submit(
                lambda c: c.record_identity(found, size=size, mtime_ns=mtime, identity=identity)
            )
        elif isinstance(event, w.FileMoved):
            src, dest, size, mtime = event.src, event.dest, event.size, event.mtime_ns
            owner, root = file_owner(dest, self.user), self._root_of(dest)
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
            self.sink.publish(ev.FileLost(path=path, owner=before.owner))

    def _root_of(self, path: Path) -> Path | None:
        roots = [r for r in self.config.acquisition_folders if r == path or r in path.parents]
        return max(roots, key=lambda r: len(r.parts), default=None)

    # ================================================================== checks
    def _queue_check(self, path: Path) -> None:
        """Finished files wait in one queue; one worker task drains it (a scan of 10^5
        files queues paths, not 10^5 tasks)."""
        with self._lock:
            self._to_check.append(path)
            if self._checking:
                return
            self._checking = True
        self._submit("check", self._check_queued)

    def _check_queued(self) -> None:
        while True:
            with self._lock:
                if not self._to_check:
                    self._checking = False
                    return
                path = self._to_check.popleft()
            self._check_one(path)

    def _check_one(self, path: Path) -> None:
        from almc_assistant.core.catalog.revalidate import revalidate
        from almc_assistant.core.inspect import check_file

        # Its identity moved but not its size or mtime (chmod, a hard link, or an edit
        # with the mtime restored): re-hash it to tell whether its copies still hold it.
        self.recorder.flush()
        revalidate(self.catalog, path)
        result = check_file(path)
        verdict, reasons = str(result.verdict), tuple(result.reasons)
        self.recorder.submit(lambda c: c.record_verdict(path, verdict, reasons))
        self.sink.publish(
            ev.VerdictRecorded(
                path=path, verdict=verdict, reasons=reasons, next_step=result.next_step
            )
        )

    def check(self, paths: Sequence[Path | str]) -> Future[CheckReport]:
        """Check files and folders in a worker; progress arrives as the checker's events
        (``FileChecked``), the whole report as ``CheckReportReady``; verdicts of
        catalogued files are stored."""
        from almc_assistant.core.inspect import check_paths

        def run() -> CheckReport:
            report = check_paths(list(paths), sink=self.sink)
            verdicts = [(fc.path, str(fc.verdict), tuple(fc.reasons)) for fc in report.files]

            def store(catalog: Catalog) -> None:
                for path, verdict, reasons in verdicts:
                    catalog.record_verdict(path, verdict, reasons)

            self.recorder.submit(store)
            self.sink.publish(
                ev.CheckReportReady(paths=tuple(str(p) for p in paths), report=report)
            )
            return report

        return self._submit("check", run)

    def partial_datasets(self, paths: Sequence[Path | str]) -> list[PartialDataset]:
        """Multi-file datasets of which ``paths`` (files and folders) hold only some files:
        warn before copying or deleting them. Blocking (it lists the folders): the CLI,
        or a worker."""
        from almc_assistant.core.inspect import partial_datasets

        return partial_datasets(paths)

    def start_copy(
        self,
        files: Sequence[Path],
        destinations: Sequence[Destination | Path],
        workers: int | None = None,
        *,
        on_conflict: OnConflict | None = None,
        record: bool = True,
        keep_tree: bool = False,
        create_missing: bool = False,
    ) -> CopyJob:
        """Start a verified copy; every verified copy is recorded in the catalog (opened
        first: its error, if it cannot be opened, is raised before anything is copied).

        ``keep_tree=True`` (every copy the GUI starts): a source inside an acquisition
        folder lands at its path relative to that folder, as the preflight planned it
        (:mod:`almc_assistant.core.layout`); otherwise each source lands under its own
        name, as the command line's ``copy SRC --to DEST`` promises.

        ``create_missing=True`` (the command line's ``copy --to NEW`` only): a missing
        destination folder is created when its parent is an ordinary folder; otherwise a
        missing destination is "not reachable" and nothing is written.

        ``record=False`` copies without touching the catalog, for when it cannot be
        opened and the data's safety comes first (the CLI); the copy receipts at the
        destinations let a later scan record those copies.
        """
        from almc_assistant.core.transfer import CopyRequest, OnConflict, start_copy

        roots = [Path(d.path) if isinstance(d, Destination) else Path(d) for d in destinations]
        # Absolute sources: the catalog and the receipts name files by absolute path.
        sources = [Path(os.path.normpath(Path(f).absolute())) for f in files]
        request = CopyRequest(
            sources=sources,
            destinations=roots,
            workers=workers,
            on_conflict=on_conflict or OnConflict.KEEP_BOTH,
            relative_to=tuple(self.config.acquisition_folders) if keep_tree else (),
            create_missing=create_missing,
        )
        sink = self.sink
        if record:
            _ = self.catalog  # open it (and its writer) before events arrive
            sink = FanOutSink(CallbackSink(self._on_copy), self.sink)
        job = start_copy(request, sink)
        with self._lock:
            self._jobs = [j for j in self._jobs if j.wait(0) is None] + [job]
        return job

    def import_receipts(self) -> int:
        """Record the verified copies listed in the copy receipts at the configured
        destinations (copies made by ``almc-assistant copy``, or recorded in a catalog
        that was damaged). Each receipt is read once; files no longer on the workstation
        are not brought back. Only this user's own receipts count, only for this user's
        own files and copies under the destination they were found in
        (:mod:`almc_assistant.core.receipts`). Returns the number of receipts read."""
        from almc_assistant.core.transfer import RECEIPTS_DIR

        count = 0
        sources: dict[Path, None] = {}
        for dest in self.config.destinations:
            try:
                receipts = sorted((Path(dest.path) / RECEIPTS_DIR).glob("*.json"))
            except OSError:
                continue  # not reachable now: next time
            for receipt in receipts:
                key = f"receipt:{receipt}"
                if self.catalog.noted(key):
                    continue
                found = read_receipt(receipt, Path(dest.path))
                self.recorder.submit(self._receipt_writer(key, found))
                sources.update(dict.fromkeys(copy.source for copy in found))
                count += 1
        self.recorder.flush()
        if sources:  # a receipt does not say which version of a file was copied
            self._submit("check", lambda: self._revalidate(list(sources)))
        return count

    def _revalidate(self, sources: Sequence[Path]) -> None:
        """Copies whose source identity is not known (from receipts) count once the
        file, re-read from storage, hashes as they do."""
        from almc_assistant.core.catalog.revalidate import revalidate

        for source in sources:
            revalidate(self.catalog, source)

    def _receipt_writer(self, key: str, copies: list[CopyRecord]) -> Callable[[Catalog], None]:
        def write(catalog: Catalog) -> None:
            for copy in copies:
                catalog.record_copy(copy, owner=self.user, create=False)
            catalog.note(key)

        return write

    def _on_copy(self, event: Event) -> None:
        """Copy workers: record verified copies (queued, batched)."""
        from almc_assistant.core.transfer import CopyVerified, JobFinished

        if isinstance(event, CopyVerified):
            copy = event.copy
            # Files from outside the acquisition folders (a USB stick) are not tracked.
            track, owner = self._copy_source(copy.source)
            self.recorder.submit(lambda c: c.record_copy(copy, owner=owner, create=track))
        elif isinstance(event, JobFinished):
            self.recorder.submit_after(self._publish_status)

    def _copy_source(self, source: Path) -> tuple[bool, str]:
        """Whether a copied source is tracked, and its owner (unused when it is not): once
        per source, not per destination (the verified copies of one file come in a row)."""
        last = self._last_copied
        if last is not None and last[0] == source:
            return last[1], last[2]
        track = self._root_of(source) is not None
        owner = file_owner(source, self.user) if track else self.user
        self._last_copied = (source, track, owner)
        return track, owner

    # ================================================================== cleanup
    def _keep_datasets(self, plan: CleanupPlan, catalog: Catalog) -> CleanupPlan:
        """A file never checked is checked first (damaged, unreadable or empty: kept), and
        a file of a multi-file dataset is kept unless the whole dataset is safe; run when
        planning and again right before applying (copies may have changed)."""
        plan = keep_unchecked_damage(plan, catalog, self._verdict_of)
        return keep_whole_datasets(plan, catalog, self.partial_datasets)

    @staticmethod
    def _verdict_of(path: Path) -> tuple[str, tuple[str, ...]]:
        from almc_assistant.core.inspect import check_file

        result = check_file(path)
        return str(result.verdict), tuple(result.reasons)
