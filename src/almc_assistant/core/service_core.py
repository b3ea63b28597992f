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
from typing import NamedTuple, TypeVar

from almc_assistant.core import service_events as ev
from almc_assistant.core.catalog import Catalog, CatalogError, FileRecord
from almc_assistant.core.catalog.recorder import Recorder
from almc_assistant.core.cleanup import (
    Action,
    CleanupItem,
    CleanupOutcome,
    CleanupPlan,
    CleanupResult,
    apply_cleanup,
    plan_cleanup,
)
from almc_assistant.core.config import Config, UserSettings, load_config, save_user_config
from almc_assistant.core.destinations import Destination, DestinationKind
from almc_assistant.core.errors import AlmcError, ServiceStopped, UsageError
from almc_assistant.core.events import EventSink
from almc_assistant.core.evidence import EvidenceRules
from almc_assistant.core.paths import AppPaths
from almc_assistant.core.plan_safety import PlanSafety, plan_safety
from almc_assistant.core.policy import Policy, Retention
from almc_assistant.core.preflight import PreflightResult, plan_files, preflight
from almc_assistant.core.privatefs import is_root, is_staff
from almc_assistant.core.session import PendingSummary, current_user
from almc_assistant.core.setup_state import SetupNeeded, setup_needed
from almc_assistant.core.shared_state import user_catalog
from almc_assistant.core.staff_view import StaffView
from almc_assistant.core.status import (
    OverallState,
    Problem,
    ProblemKind,
    StatusReport,
    build_status,
    measure_volumes,
)
from almc_assistant.core.units import plural
from almc_assistant.core.warnings import SafetyWarning, WarningsUpdated, compute_warnings

log = logging.getLogger(__name__)
T = TypeVar("T")


class CleanupSource(NamedTuple):
    """One catalog cleanup plans from, and what its evidence may be trusted for."""

    catalog: Catalog
    policy: Policy  # decides safety for this catalog's files
    owner_uid: int | None  # the user whose private catalog it is; None: the caller's own
    owner_roots: tuple[Path, ...]  # destinations that user configured themselves


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
        self._staff: StaffView | None = None  # other users' catalogs (root's cleanup)
        self._planned: dict[Path, Catalog] = {}  # which catalog each planned file came from
        self._setup()

    def _make_policy(self) -> Policy:
        return Policy(
            self.config.policy,
            self.config.destinations + self.config.remote_destinations,  # issue 13: remotes
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
                place = user_catalog(self.config.shared_state_dir, self.paths.catalog_db)
                self._notes.extend(n for n in place.notes if n not in self._notes)
                cat = Catalog(
                    place.path,
                    safety=lambda copies: self._policy.is_safe(copies),
                    safety_key=self._policy.key,
                    busy_timeout=self.config.busy_timeout_seconds,
                    clock=self._clock,
                    verify=self._verify_catalog,
                )
                # Where this user's settings are: staff's cleanup reads the user's own
                # destinations from there (a file the user owns; see core.staff_view).
                where = str(self.paths.user_config.absolute())
                if cat.noted("user_config") != where:
                    cat.note("user_config", where)
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
        with self._lock:
            staff, self._staff = self._staff, None
        if staff is not None:
            staff.close()

    # ================================================================== queries
    def status(self, user: str | None = None) -> StatusReport:
        """This user's unsafe files by session, dates, disk usage and overall state.

        Another user's (``user``) only for staff (root, an administrator, or a member
        of the facility's ``staff_group``): read from that user's own catalog, as hints
        (see :mod:`almc_assistant.core.staff_view`)."""
        catalog, policy = self.catalog, self._policy
        if user is not None and user != self.user:
            catalog, policy = self._other_users_catalog(user)
        else:
            self._refresh_safety()
        report = build_status(
            catalog,
            user or self.user,
            policy=policy,
            retention=self._retention,
            volumes=measure_volumes(self.config.acquisition_folders),
            problems=[str(p) for p in self.config.problems] + self._notes,
            now=self._clock(),
            setup=self.setup_needed(),
        )
        if catalog.bad_rows:
            note = Problem(
                ProblemKind.CATALOG,
                "Catalog records left out",
                f"{plural(len(catalog.bad_rows), 'record')} in the catalog {catalog.path} "
                "could not be read and were left out (a damaged or foreign entry).",
                "The next scan finds the files they describe again; if this persists, "
                "tell the facility staff.",
            )
            report = replace(report, problems=(*report.problems, note), state=OverallState.PROBLEM)
        return report

    def _other_users_catalog(self, user: str) -> tuple[Catalog, Policy]:
        if not is_staff(self.config.staff_group):
            raise UsageError(
                f"Only staff may see another user's files; you are {self.user}, not {user}.",
                next_step="Run 'almc-assistant status' for your own files, or ask staff.",
            )
        staff = self._staff_view() if is_root() else None
        hints = staff.for_user(user) if staff is not None else None
        if hints is None:
            where = self.config.shared_state_dir
            raise UsageError(
                f"No catalog of {user} could be read"
                + (
                    f" under {where}."
                    if where
                    else ": the facility keeps no shared state "
                    "folder (shared_state_dir), so each user's catalog is in their home."
                ),
                next_step="Run this as root on a workstation whose facility configuration "
                "sets shared_state_dir; problems reading it are listed by 'cleanup'.",
            )
        return hints.catalog, hints.policy

    def setup_needed(self) -> SetupNeeded | None:
        """Why nothing is watched yet (no acquisition folders), or ``None``."""
        return setup_needed(self.config, self.paths)

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

    def _refresh_safety(self) -> None:
        """A destination is back since its files were judged: judge them again (the
        stored flags said "unsafe" while it could not be reached)."""
        try:
            self.catalog.refresh_safety(self._policy.device_of)
        except CatalogError as exc:  # busy or full: the flags stay; the next call retries
            log.warning("safety flags not refreshed: %s", exc)

    def _publish_status(self) -> None:
        self._refresh_safety()
        self.sink.publish(ev.StatusChanged(pending=self.pending_summary()))
        self.sink.publish(WarningsUpdated(warnings=tuple(self.warnings())))

    # ================================================================== copies
    def preflight_now(
        self, files: Sequence[Path | str], destinations: Sequence[Destination]
    ) -> list[PreflightResult]:
        """Blocking preflight of each destination for these files (does I/O: the CLI)."""
        planned = plan_files([Path(f) for f in files], self.config.acquisition_folders)
        return [preflight(d, planned) for d in destinations]

    def plan_safety(
        self, files: Sequence[Path | str], destinations: Sequence[Destination]
    ) -> PlanSafety:
        """Blocking (it stats files and destinations): what copies of ``files`` to
        ``destinations`` would count for under the facility's policy, once verified."""
        return plan_safety(self._policy, [Path(f) for f in files], destinations)

    def preflight(self, files: Sequence[Path | str], destinations: Sequence[Destination]) -> int:
        """Returns at once; a worker runs :meth:`preflight_now` and :meth:`plan_safety`
        and publishes ``PreflightFinished(request_id, results, safety)``. Returns the
        request id."""
        with self._lock:
            self._preflights += 1
            request = self._preflights
        files, destinations = list(files), list(destinations)

        def run() -> None:
            results = self.preflight_now(files, destinations)
            safety = self.plan_safety(files, destinations)
            self.sink.publish(
                ev.PreflightFinished(request_id=request, results=tuple(results), safety=safety)
            )

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
        """Write the user's TOML and apply it at once (:meth:`apply_settings`)."""
        written = save_user_config(self.paths, settings)
        self.apply_settings()
        return written

    def apply_settings(self) -> Config:
        """The one path by which new settings take effect while running: re-read the
        configuration, apply the policy and retention, let the subclass follow the new
        acquisition folders (:meth:`_settings_changed`), then publish
        :class:`~almc_assistant.core.service_events.SettingsApplied` for the front ends
        (the tray's state, the reminder settings, an open Settings window)."""
        before = self.config
        self.reload_config()
        self._settings_changed(before, self.config)
        self.sink.publish(ev.SettingsApplied(config=self.config, setup=self.setup_needed()))
        return self.config

    def _settings_changed(self, before: Config, after: Config) -> None:
        """Extension point: the subclass restarts its watcher when the folders changed."""

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
    def _keep_datasets(self, plan: CleanupPlan, catalog: Catalog) -> CleanupPlan:
        """Extension point: the dataset rule (the subclass finds datasets)."""
        return plan

    def _staff_view(self) -> StaffView | None:
        """Root, with a shared state folder: every other user's catalog, as hints."""
        if self.config.shared_state_dir is None or not is_root():
            return None
        with self._lock:
            if self._staff is None:
                self._staff = StaffView(self.config, skip_uid=os.geteuid()).open()
            return self._staff

    def _cleanup_sources(self) -> list[CleanupSource]:
        """This user's own catalog, then (root) every other user's, as hints."""
        own = tuple(Path(d.path) for d in self.config.user.destinations)
        sources = [CleanupSource(self.catalog, self._policy, None, own)]
        staff = self._staff_view()
        if staff is not None:
            sources += [
                CleanupSource(
                    u.catalog,
                    u.policy,
                    u.folder.uid,
                    tuple(Path(d.path) for d in u.owner_destinations),
                )
                for u in staff.users
            ]
        return sources

    def plan_cleanup(self) -> CleanupPlan:
        """What retention makes candidates, in this user's catalog and, for root with a
        shared state folder, in every user's (each user's rows about their own files)."""
        self.recorder.flush()
        volumes = measure_volumes(self.config.acquisition_folders)
        items: list[CleanupItem] = []
        self._planned = {}
        for catalog, policy, _, _ in self._cleanup_sources():
            plan = plan_cleanup(
                catalog,
                policy=policy,
                retention=self._retention,
                volumes=volumes,
                now=self._clock(),
            )
            for item in self._keep_datasets(plan, catalog).items:
                if item.file.path not in self._planned:
                    self._planned[item.file.path] = catalog
                    items.append(item)
        # As each plan is ordered: deletions first, then kept files, oldest first in each.
        items.sort(key=lambda i: (i.action is Action.KEEP, i.candidate_date, str(i.file.path)))
        return CleanupPlan(created_at=self._clock(), items=tuple(items))

    def cleanup_problems(self) -> list[str]:
        """Users' catalogs staff's cleanup could not read (each costs only that user)."""
        staff = self._staff_view()
        return list(staff.problems) if staff is not None else []

    def apply_cleanup(self, plan: CleanupPlan) -> CleanupResult:
        """Blocking: delete the plan's safe files after re-checking their copies, each
        against the catalog it was planned from."""
        self.recorder.flush()
        outcomes: list[CleanupOutcome] = []
        for source in self._cleanup_sources():
            catalog = source.catalog
            mine = [
                i for i in plan.items if self._planned.get(i.file.path, self.catalog) is catalog
            ]
            if not mine:
                continue
            part = self._keep_datasets(CleanupPlan(plan.created_at, tuple(mine)), catalog)
            result = apply_cleanup(
                part,
                catalog,
                policy=source.policy,
                rules=self._evidence_rules(source),
                acquisition_roots=self.config.acquisition_folders,
                audit_log=self.paths.audit_log,
                user=self.user,
                clock=self._clock,
            )
            outcomes.extend(result.outcomes)
        return CleanupResult(tuple(outcomes), self.paths.audit_log)

    def _evidence_rules(self, source: CleanupSource) -> EvidenceRules:
        """What cleanup may believe of one catalog: a user's private catalog speaks only
        for that user's files (root's own is staff's: it speaks for anyone's); copies
        count in the facility's destinations and in those the file's owner configured."""
        me = os.geteuid() if hasattr(os, "geteuid") else 0
        owner = source.owner_uid if source.owner_uid is not None else me
        staffs = source.owner_uid is None and is_root()
        roots = source.owner_roots
        return EvidenceRules(
            catalog_owner_uid=None if staffs else owner,
            facility_destinations=tuple(Path(d.path) for d in self.config.facility_destinations),
            owner_destinations=lambda uid: roots if uid == owner else (),
        )

    def apply_cleanup_async(self, plan: CleanupPlan) -> Future[CleanupResult]:
        def run() -> CleanupResult:
            result = self.apply_cleanup(plan)
            self.sink.publish(ev.CleanupFinished(result=result))
            self._publish_status()
            return result

        return self._submit("cleanup", run)
