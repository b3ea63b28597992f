"""The service's plumbing, queries, settings and cleanup (no watcher, checker or copier).

Thread contract: as :class:`almc_assistant.core.service.Service`, which extends this class
with the pieces that import ``core.watch``, ``core.inspect`` and ``core.transfer``. Every
public method may be called from any thread; queries return at once; work runs in the
service's worker pool or the catalog writer thread and reports through the sink.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

from almc_assistant.core import service_events as ev
from almc_assistant.core.catalog import Catalog, FileRecord
from almc_assistant.core.catalog.recorder import Recorder
from almc_assistant.core.cleanup import CleanupPlan, CleanupResult, apply_cleanup, plan_cleanup
from almc_assistant.core.config import Config, UserSettings, load_config, save_user_config
from almc_assistant.core.destinations import Destination, DestinationKind
from almc_assistant.core.errors import AlmcError, ServiceStopped, UsageError
from almc_assistant.core.events import EventSink
from almc_assistant.core.evidence import EvidenceRules
from almc_assistant.core.paths import AppPaths
from almc_assistant.core.policy import Policy, Retention
from almc_assistant.core.preflight import PreflightResult, plan_files, preflight
from almc_assistant.core.session import PendingSummary, current_user
from almc_assistant.core.status import StatusReport, build_status, measure_volumes
from almc_assistant.core.warnings import SafetyWarning, WarningsUpdated, compute_warnings

log = logging.getLogger(__name__)
T = TypeVar("T")


class ServiceCore:
    """Plumbing, queries, settings and cleanup of the facade."""

    def __init__(
        self,
        paths: AppPaths,
        sink: EventSink,
        *,
        config: Config | None = None,
        clock: Callable[[], float] | None = None,
        user: str | None = None,
        inline: bool = False,
        warning_interval: float = 900.0,
        verify_catalog: bool = False,
    ) -> None:
        self.paths = paths
        self.sink = sink
        self.config = config if config is not None else load_config(paths)
        self.user = user or current_user()
        self._clock = clock or time.time
        self._inline = inline
        self._lock = threading.RLock()
        self._policy = self._make_policy()
        self._retention = Retention(self.config.retention)
        self._catalog: Catalog | None = None
        self._recorder: Recorder | None = None
        self._stopped = False  # after stop(), nothing reopens the catalog or a worker
        self._pool: ThreadPoolExecutor | None = None
        self._notes: list[str] = []  # problems to show in status and warnings
        self._preflights = 0
        self._warning_interval = warning_interval
        self._verify_catalog = verify_catalog  # quick_check at open (headless watcher)
        self._setup()

    def _make_policy(self) -> Policy:
        return Policy(
            self.config.policy,
            self.config.destinations,
            acquisition_roots=self.config.acquisition_folders,
        )

    def _setup(self) -> None:
        """Extension point: the subclass creates its own state here."""

    # ================================================================== plumbing
    @property
    def catalog(self) -> Catalog:
        """The catalog, opened (and repaired if damaged) on first use."""
        with self._lock:
            if self._catalog is None:
                self._refuse_when_stopped()
                cat = Catalog(
                    self.config.catalog_path(self.paths),
                    safety=lambda copies: self._policy.is_safe(copies),
                    safety_key=self._policy.key,
                    busy_timeout=self.config.busy_timeout_seconds,
                    clock=self._clock,
                    verify=self._verify_catalog,
                    shared=self.config.shared_state_dir is not None,
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
            self._refuse_when_stopped()
            if self._pool is None:
                self._pool = ThreadPoolExecutor(2, thread_name_prefix="almc-service")
            return self._pool.submit(run)

    def _refuse_when_stopped(self) -> None:
        """A stopped service stays stopped: a late call (a timer firing during shut-down)
        must not reopen the catalog and start a writer thread that nobody stops."""
        if self._stopped:
            raise ServiceStopped(
                "almc-assistant is shutting down and no longer reads or records files.",
                next_step="Start almc-assistant again to go on.",
            )

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the service's workers, write what is queued, close the catalog.
        Afterwards every call that needs the catalog raises :class:`ServiceStopped`."""
        with self._lock:
            self._stopped = True
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        # Stop the writer while the catalog is still open: its after-commit calls
        # (status updates) read it; only then forget both.
        recorder = self._recorder
        left = recorder.stop(timeout) if recorder is not None else 0
        with self._lock:
            self._recorder = None
            catalog, self._catalog = self._catalog, None
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

    # ================================================================== copies
    def preflight_now(
        self, files: Sequence[Path | str], destinations: Sequence[Destination]
    ) -> list[PreflightResult]:
        """Blocking preflight of each destination for these files (does I/O: the CLI)."""
        planned = plan_files([Path(f) for f in files], self.config.acquisition_folders)
        return [preflight(d, planned) for d in destinations]

    def preflight(self, files: Sequence[Path | str], destinations: Sequence[Destination]) -> int:
        """Returns at once; a worker runs :meth:`preflight_now` and publishes
        ``PreflightFinished(request_id, results)``. Returns the request id."""
        with self._lock:
            self._preflights += 1
            request = self._preflights
        files, destinations = list(files), list(destinations)

        def run() -> None:
            results = self.preflight_now(files, destinations)
            self.sink.publish(ev.PreflightFinished(request_id=request, results=tuple(results)))

        self._submit("preflight", run)
        return request

    # ================================================================== session, settings
    def end_session(self) -> int | None:
        """Close this user's session; the next file starts a new one."""
        self.recorder.flush()
        session = self.catalog.end_session(self.user)
        self.sink.publish(ev.SessionEnded(session_id=session, pending=self.pending_summary()))
        return session

    def new_login(self, at: float | None = None) -> int | None:
        """The user logged in (the tray app starts): a session left open by a logout
        without "End session" is closed, so this login's files form a new session.
        Returns the id of the session closed, if any."""
        return self.catalog.end_session_before(self.user, self._clock() if at is None else at)

    def dismiss_lost(self, paths: Sequence[Path] | None = None) -> int:
        """The user has taken note of files lost (all, or these): stop reporting them."""
        count = self.catalog.dismiss_lost(self.user, paths)
        self._publish_status()
        return count

    def save_user_config(self, settings: UserSettings) -> Path:
        """Write the user's TOML and apply it (destinations change what is safe)."""
        written = save_user_config(self.paths, settings)
        self.reload_config()
        return written

    def reload_config(self) -> None:
        self.config = load_config(self.paths)
        policy = self._make_policy()
        self._retention = Retention(self.config.retention)
        if policy.key != self._policy.key:
            self._policy = policy
            self.recorder.submit(lambda c: c.recompute_safety())
            self.recorder.submit(lambda c: c.note("safety_key", policy.key))
            self.recorder.submit_after(self._publish_status)
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
            rules=self.evidence_rules(),
            acquisition_roots=self.config.acquisition_folders,
            audit_log=self.paths.audit_log,
            user=self.user,
            clock=self._clock,
        )

    def evidence_rules(self) -> EvidenceRules:
        """Whose rows this catalog may speak for, and which destinations count.

        The machine-wide catalog (a shared state folder) is treated as staff's; a
        private catalog speaks only for its user's files. Destinations: the facility's,
        and this user's own for their own files (other users' configurations are not read
        here)."""
        me = os.getuid() if hasattr(os, "getuid") else 0
        mine = tuple(Path(d.path) for d in self.config.destinations if d.origin != "facility")
        return EvidenceRules(
            catalog_owner_uid=None if self.config.shared_state_dir is not None else me,
            facility_destinations=tuple(
                Path(d.path) for d in self.config.destinations if d.origin == "facility"
            ),
            owner_destinations=lambda uid: mine if uid == me else (),
        )

    def apply_cleanup_async(self, plan: CleanupPlan) -> Future[CleanupResult]:
        def run() -> CleanupResult:
            result = self.apply_cleanup(plan)
            self.sink.publish(ev.CleanupFinished(result=result))
            self._publish_status()
            return result

        return self._submit("cleanup", run)
