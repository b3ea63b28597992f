"""The one facade the GUI and the CLI call: catalog, watcher, checks, copies, cleanup.

Thread contract: every public method may be called from any thread (the GUI thread
included). *Queries* (``status``, ``session_files``, ``destinations``, ``warnings``,
``pending_summary``, ``plan_cleanup``) read the catalog and return at once. *Actions*
return at once too: the work runs in core workers (the watcher's threads, the copy
engine's pool, the service's own worker pool, the catalog writer thread) which publish
events to the sink given here; no worker swallows an exception (it becomes a
:class:`~almc_assistant.core.service_events.ServiceFailed` event). ``preflight`` and
``apply_cleanup`` are the two blocking calls (for the CLI); their ``*_async`` twins
publish the result as an event. ``inline=True`` runs the service's own work on the
caller's thread (deterministic tests).

This is the only module that imports more than one of ``core.inspect``,
``core.transfer`` and ``core.watch``; each is imported inside the method that needs it.
"""

from __future__ import annotations

import fnmatch
import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from almc_assistant.core import service_events as ev
from almc_assistant.core.catalog import Catalog, CopyRecord, FileRecord, FileState
from almc_assistant.core.catalog.recorder import Recorder
from almc_assistant.core.cleanup import CleanupPlan, CleanupResult, apply_cleanup, plan_cleanup
from almc_assistant.core.config import Config, UserSettings, load_config, save_user_config
from almc_assistant.core.destinations import Destination, DestinationKind
from almc_assistant.core.errors import AlmcError, UsageError
from almc_assistant.core.events import CallbackSink, Event, EventSink, FanOutSink
from almc_assistant.core.paths import AppPaths
from almc_assistant.core.policy import Policy, Retention
from almc_assistant.core.preflight import PreflightResult, plan_files, preflight
from almc_assistant.core.session import PendingSummary, current_user, file_owner
from almc_assistant.core.status import StatusReport, build_status, measure_volumes
from almc_assistant.core.warnings import SafetyWarning, WarningsUpdated, compute_warnings

if TYPE_CHECKING:
    from almc_assistant.core.inspect import CheckReport
    from almc_assistant.core.transfer import CopyJob
    from almc_assistant.core.watch import Watcher

log = logging.getLogger(__name__)
T = TypeVar("T")


class Service:
    """The facade (see the module docstring for the thread contract)."""

    def __init__(
        self,
        paths: AppPaths,
        sink: EventSink,
        *,
        config: Config | None = None,
        clock: Callable[[], float] | None = None,
        user: str | None = None,
        inline: bool = False,
    ) -> None:
        self.paths = paths
        self.sink = sink
        self.config = config if config is not None else load_config(paths)
        self.user = user or current_user()
        self._clock = clock or time.time
        self._inline = inline
        self._lock = threading.RLock()
        self._policy = Policy(self.config.policy, self.config.destinations)
        self._retention = Retention(self.config.retention)
        self._catalog: Catalog | None = None
        self._recorder: Recorder | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._watcher: Watcher | None = None
        self._jobs: list[CopyJob] = []
        self._notes: list[str] = []  # problems to show in status and warnings
        self._preflights = 0

    # ================================================================== plumbing
    @property
    def catalog(self) -> Catalog:
        """The catalog, opened (and repaired if damaged) on first use."""
        with self._lock:
            if self._catalog is None:
                cat = Catalog(
                    self.config.catalog_path(self.paths),
                    safety=lambda copies: self._policy.is_safe(copies),
                    safety_key=self._policy.key,
                    busy_timeout=self.config.busy_timeout_seconds,
                    clock=self._clock,
                )
                if cat.recovery is not None:
                    self._notes.append(cat.recovery.message())
                    self.sink.publish(
                        ev.CatalogRecovered(
                            damaged=cat.recovery.damaged, message=cat.recovery.message()
                        )
                    )
                self._catalog = cat
                self._recorder = Recorder(
                    cat,
                    on_error=self._on_record_error,
                    on_recovered=self._on_record_recovered,
                    inline=self._inline,
                )
                self._recorder.start()
            return self._catalog

    @property
    def recorder(self) -> Recorder:
        _ = self.catalog
        assert self._recorder is not None
        return self._recorder

    def _on_record_error(self, exc: BaseException, waiting: int) -> None:
        if isinstance(exc, AlmcError):
            self.sink.publish(
                ev.CatalogBacklog(
                    waiting=waiting, title=exc.title, detail=exc.detail, next_step=exc.next_step
                )
            )
        else:
            self._failed("record", exc)

    def _on_record_recovered(self) -> None:
        self.sink.publish(
            ev.CatalogBacklog(
                waiting=0,
                title="Catalog up to date",
                detail="Waiting records were written.",
                next_step="",
            )
        )

    def _failed(self, action: str, exc: BaseException) -> None:
        if isinstance(exc, AlmcError):
            event = ev.ServiceFailed(
                action=action, title=exc.title, detail=exc.detail, next_step=exc.next_step
            )
        else:
            log.error("%s failed", action, exc_info=exc)
            event = ev.ServiceFailed(
                action=action,
                title="Internal error",
                detail=f"{type(exc).__name__}: {exc}",
                next_step="Send the log file to the facility staff.",
            )
        self.sink.publish(event)

    def _submit(self, action: str, fn: Callable[[], T]) -> Future[T]:
        """Run ``fn`` in a service worker; an exception becomes a ServiceFailed event."""

        def run() -> T:
            try:
                return fn()
            except BaseException as exc:
                self._failed(action, exc)
                raise

        if self._inline:
            future: Future[T] = Future()
            try:
                future.set_result(run())
            except BaseException as exc:
                future.set_exception(exc)
            return future
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(2, thread_name_prefix="almc-service")
            return self._pool.submit(run)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop watching, cancel copies, write what is queued, close the catalog."""
        with self._lock:
            watcher, self._watcher = self._watcher, None
            jobs, self._jobs = self._jobs, []
            pool, self._pool = self._pool, None
        if watcher is not None:
            watcher.stop(timeout)
        for job in jobs:
            job.cancel()
        for job in jobs:
            job.wait(timeout)
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            recorder, self._recorder = self._recorder, None
            catalog, self._catalog = self._catalog, None
        if recorder is not None:
            left = recorder.stop(timeout)
            if left:
                self.sink.publish(
                    ev.CatalogBacklog(
                        waiting=left,
                        title="Catalog records not written",
                        detail=f"{left} records could not be written before stopping.",
                        next_step="They are found again by the next scan.",
                    )
                )
        if catalog is not None:
            catalog.close()

    # ================================================================== queries
    def status(self, user: str | None = None) -> StatusReport:
        """This user's unsafe files by session, dates, disk usage and overall state."""
        return build_status(
            self.catalog,
            user or self.user,
            policy=self._policy,
            retention=self._retention,
            volumes=measure_volumes(self.config.acquisition_folders),
            problems=[str(p) for p in self.config.problems] + self._notes,
            now=self._clock(),
        )

    def session_files(self, session: int | None = None) -> list[FileRecord]:
        """Files of a session (default: this user's open or latest session)."""
        if session is None:
            found = self.catalog.open_session(self.user) or self.catalog.latest_session(self.user)
            if found is None:
                return []
            session = found.id
        return self.catalog.session_files(session)

    def destinations(self) -> list[Destination]:
        """Facility presets, then the user's own (each with ``.guidance``)."""
        return list(self.config.destinations)

    def warnings(self) -> list[SafetyWarning]:
        return compute_warnings(self.status(), self._retention)

    def pending_summary(self) -> PendingSummary:
        """This user's files without enough verified copies (one indexed lookup)."""
        files, size, oldest = self.catalog.pending(self.user)
        return PendingSummary(files, size, oldest)

    def _publish_status(self) -> None:
        self.sink.publish(ev.StatusChanged(pending=self.pending_summary()))
        self.sink.publish(WarningsUpdated(warnings=tuple(self.warnings())))

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
        """Watch the acquisition folders; a first scan reconciles what changed meanwhile."""
        if not self.config.acquisition_folders:
            raise UsageError(
                "No acquisition folders are configured.",
                next_step=f"Ask staff to list them under [watch] folders in "
                f"{self.paths.facility_config}.",
            )
        with self._lock:
            if self._watcher is not None:
                return
            watcher = self._make_watcher(FanOutSink(CallbackSink(self._on_watch), self.sink))
            self._watcher = watcher
        watcher.start()
        self._submit("watch", lambda: watcher.scan(self.catalog.known_files))

    def scan_once(self) -> None:
        """Scan the folders now, record what changed, check finished files (blocking)."""
        watcher = self._make_watcher(FanOutSink(CallbackSink(self._on_watch), self.sink))
        watcher.scan(self.catalog.known_files)
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
            rec.submit(
                lambda c: c.record_seen(
                    path, size=size, mtime_ns=mtime, owner=owner, state=state, root=root
                )
            )
            if done:
                self._submit("check", lambda: self._check_one(path))
        elif isinstance(event, w.FileMoved):
            src, dest, size, mtime = event.src, event.dest, event.size, event.mtime_ns
            rec.submit(lambda c: c.record_moved(src, dest, size=size, mtime_ns=mtime))
        elif isinstance(event, w.FileDeleted):
            gone = event.path
            rec.submit(lambda c: self._record_deleted(c, gone))
        elif isinstance(event, w.ScanFinished):
            rec.submit(lambda c: self._publish_status())

    def _record_deleted(self, catalog: Catalog, path: Path) -> None:
        before = catalog.file(path)
        if catalog.record_deleted(path) is FileState.LOST and before is not None:
            self.sink.publish(ev.FileLost(path=path, owner=before.owner))

    def _root_of(self, path: Path) -> Path | None:
        roots = [r for r in self.config.acquisition_folders if r == path or r in path.parents]
        return max(roots, key=lambda r: len(r.parts), default=None)

    # ================================================================== checks
    def _check_one(self, path: Path) -> None:
        from almc_assistant.core.inspect import check_file

        result = check_file(path)
        verdict, reasons = str(result.verdict), tuple(result.reasons)
        self.recorder.submit(lambda c: c.record_verdict(path, verdict, reasons))
        self.sink.publish(
            ev.VerdictRecorded(
                path=path, verdict=verdict, reasons=reasons, next_step=result.next_step
            )
        )

    def check(self, paths: Sequence[Path]) -> Future[CheckReport]:
        """Check files and folders in a worker; progress and results arrive as the
        checker's events; verdicts of catalogued files are stored."""
        from almc_assistant.core.inspect import check_paths

        def run() -> CheckReport:
            report = check_paths(list(paths), sink=self.sink)
            verdicts = [(fc.path, str(fc.verdict), tuple(fc.reasons)) for fc in report.files]

            def store(catalog: Catalog) -> None:
                for path, verdict, reasons in verdicts:
                    catalog.record_verdict(path, verdict, reasons)

            self.recorder.submit(store)
            return report

        return self._submit("check", run)

    # ================================================================== copies
    def preflight(
        self, files: Sequence[Path], destinations: Sequence[Destination]
    ) -> list[PreflightResult]:
        """Blocking preflight of each destination for these files (does I/O)."""
        planned = plan_files(list(files), self.config.acquisition_folders)
        return [preflight(d, planned) for d in destinations]

    def preflight_async(self, files: Sequence[Path], destinations: Sequence[Destination]) -> int:
        """Run :meth:`preflight` in a worker; publishes PreflightFinished(request_id)."""
        with self._lock:
            self._preflights += 1
            request = self._preflights

        def run() -> None:
            results = self.preflight(files, destinations)
            self.sink.publish(ev.PreflightFinished(request_id=request, results=tuple(results)))

        self._submit("preflight", run)
        return request

    def start_copy(
        self,
        files: Sequence[Path],
        destinations: Sequence[Destination | Path],
        workers: int | None = None,
    ) -> CopyJob:
        """Start a verified copy; every verified copy is recorded in the catalog."""
        from almc_assistant.core.transfer import CopyRequest, start_copy

        roots = [Path(d.path) if isinstance(d, Destination) else Path(d) for d in destinations]
        request = CopyRequest(sources=list(files), destinations=roots, workers=workers)
        _ = self.catalog  # open it (and its writer) before events arrive
        job = start_copy(request, FanOutSink(CallbackSink(self._on_copy), self.sink))
        with self._lock:
            self._jobs = [j for j in self._jobs if j.wait(0) is None] + [job]
        return job

    def _on_copy(self, event: Event) -> None:
        """Copy workers: record verified copies (queued, batched)."""
        from almc_assistant.core.transfer import CopyVerified, JobFinished

        if isinstance(event, CopyVerified):
            source = event.source
            copy = CopyRecord(
                destination_root=event.destination_root,
                path=event.destination,
                size=event.size,
                mtime_ns=event.mtime_ns,
                blake3=event.blake3,
                verified_at=event.verified_at,
            )
            owner = file_owner(source, self.user)
            self.recorder.submit(lambda c: c.record_copy(source, copy, owner=owner))
        elif isinstance(event, JobFinished):
            self.recorder.submit(lambda c: self._publish_status())

    # ================================================================== session, settings
    def end_session(self) -> int | None:
        """Close this user's session; the next file starts a new one."""
        self.recorder.flush()
        session = self.catalog.end_session(self.user)
        self.sink.publish(ev.SessionEnded(session_id=session, pending=self.pending_summary()))
        return session

    def save_user_config(self, settings: UserSettings) -> Path:
        """Write the user's TOML and apply it (destinations change what is safe)."""
        written = save_user_config(self.paths, settings)
        self.reload_config()
        return written

    def reload_config(self) -> None:
        self.config = load_config(self.paths)
        policy = Policy(self.config.policy, self.config.destinations)
        self._retention = Retention(self.config.retention)
        if policy.key != self._policy.key:
            self._policy = policy
            self.recorder.submit(lambda c: c.recompute_safety())
            self.recorder.submit(lambda c: c._set_meta("safety_key", policy.key))
            self.recorder.submit(lambda c: self._publish_status())
        self._policy = policy

    def add_destination(
        self,
        name: str,
        path: Path,
        kind: DestinationKind,
        *,
        university_managed: bool = False,
        note: str = "",
    ) -> Destination:
        if any(d.name == name for d in self.config.destinations):
            raise UsageError(
                f"A destination named {name!r} exists already.",
                next_step="Choose another name, or remove the old one first.",
            )
        dest = Destination(name, Path(path), kind, "user", university_managed, note)
        user = self.config.user
        self.save_user_config(replace(user, destinations=(*user.destinations, dest)))
        return dest

    def remove_destination(self, name: str) -> bool:
        """Remove one of the user's destinations (facility presets cannot be removed)."""
        user = self.config.user
        kept = tuple(d for d in user.destinations if d.name != name)
        if len(kept) == len(user.destinations):
            return False
        self.save_user_config(replace(user, destinations=kept))
        return True

    # ================================================================== cleanup
    def plan_cleanup(self) -> CleanupPlan:
        self.recorder.flush()
        return plan_cleanup(
            self.catalog,
            policy=self._policy,
            retention=self._retention,
            volumes=measure_volumes(self.config.acquisition_folders),
            now=self._clock(),
        )

    def apply_cleanup(self, plan: CleanupPlan) -> CleanupResult:
        """Blocking: delete the plan's safe files after re-checking their copies."""
        self.recorder.flush()
        return apply_cleanup(
            plan,
            self.catalog,
            policy=self._policy,
            settings=self.config.cleanup,
            audit_log=self.paths.audit_log,
            user=self.user,
        )

    def apply_cleanup_async(self, plan: CleanupPlan) -> Future[CleanupResult]:
        def run() -> CleanupResult:
            result = self.apply_cleanup(plan)
            self.sink.publish(ev.CleanupFinished(result=result))
            self._publish_status()
            return result

        return self._submit("cleanup", run)
