"""The one facade the GUI and the CLI call, and the one owner of live state.

It owns the configuration in force (:class:`~almc_assistant.core.service_settings.
LiveSettings`, with its policy and retention), the destinations, the reminder settings
and the session-end guard; and it is composed of small parts, each in a module of its
own, that share one :class:`~almc_assistant.core.service_runtime.Runtime` (workers,
failure reports, the catalog and its writer):

========================  ============================================================
part                      responsibility
========================  ============================================================
``service_watching``      watchers over the acquisition folders, into the catalog
``service_checks``        file checks (``core.inspect``), verdicts recorded
``service_copies``        verified copies (``core.transfer``), receipts, preflight
``service_cleanup``       cleanup plans and their application; staff's view
``service_status``        status, warnings, the pending summary; asked asynchronously
``service_settings``      the configuration in force; who follows its changes
``service_reminders``     the session-end guard and the reminder settings in force
``service_remotes``       remote destinations set up, tested, signed in to (issue 13)
========================  ============================================================

A change of settings (:meth:`Service.save_user_config`, :meth:`Service.apply_settings`)
is read once and reaches every part that depends on it (the catalog's safety flags, the
watcher, the running reminders), then :class:`~almc_assistant.core.service_events.
SettingsApplied` tells the front ends.

Thread contract: every public method may be called from any thread. *Quick queries*
(``pending_summary``, ``session_files``, ``destinations``, ``setup_needed``,
``reminder_settings``) read the catalog or the configuration and return at once.
*Slow queries* block and are for the command line or a worker: ``status`` and
``warnings`` measure disks; a front end calls ``request_status`` instead, whose answer
arrives as ``StatusQueried``. *Actions* return at once: the work runs in core workers
(the watcher's threads, the copy engine's pool, the service's own workers, the catalog
writer thread) which publish events to the sink given here; no worker swallows an
exception (it becomes a ``ServiceFailed`` event). The blocking calls say so:
``preflight_now``, ``plan_safety``, ``check_now``, ``partial_datasets``,
``plan_cleanup``, ``apply_cleanup``, ``scan_once``, ``import_receipts``,
``verify_destination`` and ``save_user_config`` (one small file written, then applied;
slow consequences such as re-watching run in a worker). ``inline=True`` runs the
service's own work on the caller's thread (deterministic tests).

The tray app runs it in a child process behind the same port
(:mod:`almc_assistant.core.service_process`), so that its workers never hold the GUI's
GIL; the command line runs it in its own process.

Only the parts import ``core.inspect``, ``core.transfer`` and ``core.watch`` (each
inside the method that needs it); the front ends import only this facade, its events
and the domain's values (an import-linter layers contract in ``pyproject.toml``).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from almc_assistant.core import service_events as ev
from almc_assistant.core.atomicfile import write_atomically
from almc_assistant.core.catalog import Catalog, FileRecord
from almc_assistant.core.catalog.recorder import Recorder
from almc_assistant.core.cleanup import CleanupPlan, CleanupResult
from almc_assistant.core.config import Config, ReminderSettings, UserSettings
from almc_assistant.core.destinations import Destination, DestinationKind
from almc_assistant.core.errors import UsageError, describe_os_error
from almc_assistant.core.events import EventSink
from almc_assistant.core.paths import AppPaths
from almc_assistant.core.plan_safety import PlanSafety
from almc_assistant.core.preflight import PreflightResult
from almc_assistant.core.receipts import read_receipt
from almc_assistant.core.service_checks import Checking
from almc_assistant.core.service_cleanup import CleanupPart
from almc_assistant.core.service_copies import Copying
from almc_assistant.core.service_reminders import Reminders
from almc_assistant.core.service_remotes import Remotes, RemoteSetup
from almc_assistant.core.service_runtime import Runtime
from almc_assistant.core.service_settings import LiveSettings
from almc_assistant.core.service_status import StatusPart
from almc_assistant.core.service_watching import Watching
from almc_assistant.core.session import PendingSummary, current_user
from almc_assistant.core.setup_state import SetupNeeded
from almc_assistant.core.status import StatusReport
from almc_assistant.core.warnings import SafetyWarning

if TYPE_CHECKING:
    from almc_assistant.core.autostart import Autostart
    from almc_assistant.core.inspect import CheckReport, PartialDataset
    from almc_assistant.core.session_end import SessionEndGuard
    from almc_assistant.core.transfer import CopyJob, OnConflict, VerifyReport

__all__ = ["Service", "read_receipt", "save_text_now"]


def save_text_now(path: Path | str, text: str, sink: EventSink) -> None:
    """Write ``text`` to ``path`` (a temporary name, then a rename, so the name never
    holds half a file) and publish ``TextSaved`` or ``TextSaveFailed``. Blocking: the
    service runs it in a worker; the GUI's engine process in a thread of its own (it is
    the user's file, chosen in the GUI: it needs no engine, even one that crashed)."""
    target = Path(path)
    try:
        write_atomically(target, text.encode("utf-8"))
    except OSError as exc:
        err = describe_os_error(exc, action="save", path=target)
        sink.publish(
            ev.TextSaveFailed(
                path=str(path), title=err.title, detail=err.detail, next_step=err.next_step
            )
        )
    else:
        sink.publish(ev.TextSaved(path=str(path)))


class Service:
    """The facade (see the module docstring for its parts and thread contract)."""

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
        self.user = user or current_user()
        self.settings = LiveSettings(paths, config)
        self.settings.follow(self._on_policy_changed)
        self._policy_key = self.settings.policy.key
        self._apply_lock = threading.Lock()
        self._location_tests = 0
        rt = self._runtime = Runtime(
            paths,
            sink,
            self.settings,
            clock=clock or time.time,
            inline=inline,
            verify_catalog=verify_catalog,
        )
        self.checking = Checking(rt)
        self.cleanup = CleanupPart(
            rt,
            self.user,
            verdict_of=self.checking.verdict_of,
            partial_datasets=self.checking.partial_datasets,
            remote_session=lambda: self.copying.remote_session(),
        )
        self.state = StatusPart(rt, self.user, self.cleanup)
        self.watching = Watching(
            rt,
            self.user,
            check=self.checking.queue,
            import_receipts=lambda: self.copying.import_receipts(),
            publish_status=self.state.publish,
            setup_needed=self.state.setup_needed,
            warning_interval=warning_interval,
        )
        self.copying = Copying(
            rt, self.user, root_of=self.watching.root_of, publish_status=self.state.publish
        )
        self.reminders = Reminders(rt, self.state.pending_summary)
        from almc_assistant.core.remote.session import rclone_config_path

        self.remotes = Remotes(rt, self.settings, rclone_config_path().parent)

    # ================================================================== state
    @property
    def config(self) -> Config:
        """The configuration in force (it changes when settings are applied)."""
        return self.settings.config

    @property
    def catalog(self) -> Catalog:
        """The catalog, opened (and repaired if damaged) on first use."""
        return self._runtime.catalog

    @property
    def recorder(self) -> Recorder:
        """The catalog's writer thread (queued, batched writes)."""
        return self._runtime.recorder

    def stop(self, timeout: float = 10.0) -> None:
        """Stop watching, cancel copies, write what is queued, close the catalog.
        Afterwards every call that needs the catalog raises ``ServiceStopped``."""
        self.remotes.stop(timeout)
        self.watching.stop(timeout)
        self.copying.stop(timeout)
        self.state.close()
        self._runtime.stop(timeout)
        self.cleanup.close()

    # ================================================================== settings
    def save_user_config(self, settings: UserSettings) -> Path:
        """Write the user's TOML and apply it at once (:meth:`apply_settings`). Blocking
        but brief (one small file, written atomically); what is slow about applying
        (stopping and starting watchers) runs in a worker."""
        with self._apply_lock:
            written = self.settings.save(settings)
        self._settings_applied()
        return written

    def apply_settings(self) -> Config:
        """The one path by which new settings take effect while running: re-read the
        configuration; the policy, the retention, the watched folders and the running
        reminders follow it; then :class:`~almc_assistant.core.service_events.
        SettingsApplied` tells the front ends."""
        with self._apply_lock:
            self.settings.reload()
        return self._settings_applied()

    def _settings_applied(self) -> Config:
        config = self.settings.config
        self.sink.publish(ev.SettingsApplied(config=config, setup=self.setup_needed()))
        return config

    def _on_policy_changed(self, _before: Config, _after: Config) -> None:
        """A new safety policy: the stored safety flags are recomputed (by the writer),
        then the status is published again."""
        policy = self.settings.policy
        if policy.key == self._policy_key:
            return
        self._policy_key = policy.key
        recorder = self.recorder
        recorder.submit(lambda c: c.recompute_safety())
        recorder.submit(lambda c: c.note("safety_key", policy.key))
        recorder.submit_after(self.state.publish)

    def test_locations(
        self,
        folders: Sequence[Path],
        destinations: Sequence[Destination],
        *,
        request_id: int | None = None,
    ) -> int:
        """Returns a request id at once; a worker tests each acquisition folder and
        destination (reachable, readable or writable, free space, file system) and
        publishes ``LocationsChecked`` (the welcome window's "Test"). The request id is
        ``request_id`` when given (the GUI's engine process picks its own, so that it
        never waits for the answer)."""
        from almc_assistant.core.location_check import check_acquisition_folder, check_destination

        with self._apply_lock:
            self._location_tests += 1
            request = self._location_tests if request_id is None else request_id
        folders, destinations = list(folders), list(destinations)

        def run() -> None:
            results = [check_acquisition_folder(f) for f in folders]
            results += [check_destination(d) for d in destinations]
            self.sink.publish(ev.LocationsChecked(request_id=request, results=tuple(results)))

        self._runtime.submit("test", run)
        return request

    def autostart(self) -> Autostart:
        """Starting at login on this OS, under the facility's policy in force (its
        methods do small file or registry I/O: see :mod:`almc_assistant.core.autostart`)."""
        from almc_assistant.core.autostart import for_config

        return for_config(self.config, self.paths)

    def reminder_settings(self) -> ReminderSettings:
        """The reminder settings in force."""
        return self.reminders.settings

    def session_end_guard(self, *, platform: str = sys.platform) -> SessionEndGuard:
        """The session-end guard the service owns (created on the first call): the
        desktop's adapters ask it whether a logout may go ahead; new reminder settings
        reach it as soon as they apply."""
        return self.reminders.guard(platform=platform)

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

    # ================================================================== quick queries
    def setup_needed(self) -> SetupNeeded | None:
        """Why nothing is watched yet (no acquisition folders), or ``None``."""
        return self.state.setup_needed()

    def pending_summary(self) -> PendingSummary:
        """This user's files without enough verified copies (one indexed lookup)."""
        return self.state.pending_summary()

    def session_files(self, session: int | None = None) -> list[FileRecord]:
        """Files of a session (default: this user's open or latest session)."""
        catalog = self.catalog
        if session is None:
            found = catalog.open_session(self.user) or catalog.latest_session(self.user)
            if found is None:
                return []
            session = found.id
        return catalog.session_files(session)

    def destinations(self) -> list[Destination]:
        """Facility presets, then the user's own (each with ``.guidance``); then the
        remote destinations (the facility's, then the user's)."""
        return list(self.config.destinations + self.config.remote_destinations)

    # ================================================================== remotes (issue 13)
    # Each takes an optional ``request_id`` (the GUI's engine process picks its own, so
    # that it never waits for the answer); without one the service picks it.
    def set_up_remote(self, setup: RemoteSetup, *, request_id: int | None = None) -> int:
        """Returns a request id at once; a worker saves ``setup`` in the user's private
        rclone config (secrets encrypted when a keyring is there), tests it like a copy
        would, and publishes ``RemoteTested``."""
        return self.remotes.set_up(setup, request_id=request_id)

    def test_remote(self, destination: str, *, request_id: int | None = None) -> int:
        """Returns a request id at once; a worker opens ``destination``
        (``name:folder``) as a copy would and publishes ``RemoteTested``."""
        return self.remotes.test(destination, request_id=request_id)

    def trust_host_key(
        self, destination: str, fingerprint: str, *, request_id: int | None = None
    ) -> int:
        """Returns a request id at once; a worker reads the key of SFTP remote
        ``destination``'s server, pins it if its fingerprint is ``fingerprint`` (the
        one the person confirmed), tests the remote and publishes ``RemoteTested``."""
        return self.remotes.trust(destination, fingerprint, request_id=request_id)

    def sign_in(
        self, backend: str, name: str, folder: str = "", *, request_id: int | None = None
    ) -> int:
        """Returns a request id at once; a worker starts the browser sign-in to
        ``backend`` ("drive", "onedrive") with the facility's app, publishes
        ``SignInOpened`` (the page to open), waits for the browser, stores the token as
        remote ``name`` and publishes ``RemoteTested``."""
        return self.remotes.sign_in(backend, name, folder, request_id=request_id)

    def cancel_sign_in(self, request_id: int) -> None:
        self.remotes.cancel_sign_in(request_id)

    # ================================================================== slow queries
    def status(self, user: str | None = None) -> StatusReport:
        """Blocking (it measures disks): this user's unsafe files by session, dates, disk
        usage and overall state. Another user's (``user``) only for staff, read from that
        user's own catalog as hints (:mod:`almc_assistant.core.staff_view`)."""
        return self.state.status(user)

    def warnings(self) -> list[SafetyWarning]:
        """Blocking (it builds the status): the pre-deletion warnings."""
        return self.state.warnings()

    def request_status(self, *, report: bool = False, warnings: bool = False) -> None:
        """Returns at once: the pending summary (and the status report, and the warnings,
        when asked) arrive as a ``StatusQueried`` event."""
        self.state.request(report=report, warnings=warnings)

    # ================================================================== watching
    def start_watching(self) -> None:
        """Watch the acquisition folders (raises ``NotSetUp`` when there are none yet;
        watching then starts by itself once settings that name some apply)."""
        self.watching.start()

    def scan_once(self) -> None:
        """Scan the folders, record, check finished files, import receipts (blocking)."""
        self.watching.scan_once()

    # ================================================================== checks
    def check(self, paths: Sequence[Path | str]) -> Future[CheckReport]:
        """Check files and folders in a worker: ``FileChecked`` per file, then
        ``CheckReportReady``; verdicts of catalogued files are stored."""
        return self.checking.check(paths)

    def check_now(
        self, paths: Sequence[Path | str], *, workers: int | None = None, record: bool = True
    ) -> CheckReport:
        """Blocking :meth:`check` (the command line)."""
        return self.checking.check_now(paths, workers=workers, record=record)

    def partial_datasets(self, paths: Sequence[Path | str]) -> list[PartialDataset]:
        """Multi-file datasets of which ``paths`` (files and folders) hold only some files:
        warn before copying or deleting them. Blocking (it lists the folders)."""
        return self.checking.partial_datasets(paths)

    # ================================================================== copies
    def start_copy(
        self,
        files: Sequence[Path],
        destinations: Sequence[Destination | Path | str],
        workers: int | None = None,
        *,
        on_conflict: OnConflict | None = None,
        record: bool = True,
        keep_tree: bool = False,
        create_missing: bool = False,
        job_id: str = "",
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

        A destination that is a remote (a :class:`Destination` with ``remote`` set, or
        text such as ``research:lab/me``) goes through its rclone backend in the same job.

        ``record=False`` copies without touching the catalog, for when it cannot be
        opened and the data's safety comes first (the CLI); the copy receipts at the
        destinations let a later scan record those copies.

        ``job_id`` names the job in its events (the GUI's engine process picks it, so
        that it goes on at once and learns the outcome by event); "" picks a new one.
        """
        return self.copying.start_copy(
            files,
            destinations,
            workers,
            on_conflict=on_conflict,
            record=record,
            keep_tree=keep_tree,
            create_missing=create_missing,
            job_id=job_id,
        )

    def import_receipts(self) -> int:
        """Record the verified copies listed in the copy receipts at the configured
        destinations (copies made by ``almc-assistant copy``, or recorded in a catalog
        that was damaged). Each receipt is read once; files no longer on the workstation
        are not brought back. Only this user's own receipts count, only for this user's
        own files and copies under the destination they were found in
        (:mod:`almc_assistant.core.receipts`). Returns the number of receipts read."""
        return self.copying.import_receipts()

    def preflight_now(
        self, files: Sequence[Path | str], destinations: Sequence[Destination]
    ) -> list[PreflightResult]:
        """Blocking preflight of each destination for these files (does I/O: the CLI)."""
        return self.copying.preflight_now(files, destinations)

    def plan_safety(
        self, files: Sequence[Path | str], destinations: Sequence[Destination]
    ) -> PlanSafety:
        """Blocking (it stats files and destinations): what copies of ``files`` to
        ``destinations`` would count for under the facility's policy, once verified."""
        return self.copying.plan_safety(files, destinations)

    def preflight(
        self,
        files: Sequence[Path | str],
        destinations: Sequence[Destination],
        *,
        request_id: int | None = None,
    ) -> int:
        """Returns at once; a worker runs :meth:`preflight_now` and :meth:`plan_safety`
        and publishes ``PreflightFinished(request_id, results, safety)`` (with
        ``error_title`` when it failed). Returns the request id: ``request_id`` when given
        (the GUI's engine process picks its own, so that it never waits for the answer)."""
        return self.copying.preflight(files, destinations, request_id=request_id)

    def verify_destination(self, destination: Path | str) -> VerifyReport:
        """Blocking: re-read every file ``destination``'s manifest lists and compare
        BLAKE3 (``EntryChecked`` events go to the sink as it goes)."""
        return self.copying.verify_destination(destination)

    def manifest_entries(self, destination: Path | str) -> int:
        """How many files ``destination``'s manifest lists (blocking; ``AlmcError`` when
        it cannot be read)."""
        return self.copying.manifest_entries(destination)

    def save_text(self, path: Path | str, text: str) -> None:
        """Returns at once: a worker writes ``text`` to ``path`` (a temporary name, then a
        rename, so the name never holds half a file) and publishes ``TextSaved`` or
        ``TextSaveFailed`` (a receipt the user saves)."""
        self._runtime.submit("save", lambda: save_text_now(path, text, self.sink))

    # ================================================================== session
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
        when = self._runtime.clock() if at is None else at
        return self.catalog.end_session_before(self.user, when)

    def dismiss_lost(self, paths: Sequence[Path] | None = None) -> int:
        """The user has taken note of files lost (all, or these): stop reporting them."""
        count = self.catalog.dismiss_lost(self.user, paths)
        self.state.publish()
        return count

    # ================================================================== cleanup
    def plan_cleanup(self) -> CleanupPlan:
        """Blocking: what retention makes candidates, in this user's catalog and, for root
        with a shared state folder, in every user's (each user's rows about their own
        files)."""
        return self.cleanup.plan()

    def cleanup_problems(self) -> list[str]:
        """Users' catalogs staff's cleanup could not read (each costs only that user)."""
        return self.cleanup.problems()

    def apply_cleanup(self, plan: CleanupPlan) -> CleanupResult:
        """Blocking: delete the plan's safe files after re-checking their copies, each
        against the catalog it was planned from."""
        return self.cleanup.apply(plan)
