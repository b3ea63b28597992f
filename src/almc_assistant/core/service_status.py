"""The service's status part: what is not yet safe, the warnings, and asking for them.

Thread contract: any thread. :meth:`StatusPart.pending_summary` is one indexed catalog
read. :meth:`StatusPart.status` and :meth:`StatusPart.warnings` are **slow**: they list
every unsafe file of the user and measure the disk usage of each acquisition folder
(which can hang on an unreachable network share), so they block: the command line calls
them. A front end calls :meth:`StatusPart.request` instead, which returns at once: the
query runs on the part's own thread and its answer arrives as a
:class:`~almc_assistant.core.service_events.StatusQueried` event. At most one query runs
at a time; requests made meanwhile merge into one follow-up query, so a copy's stream of
events never queues up queries.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import replace

from almc_assistant.core import service_events as ev
from almc_assistant.core.catalog import CatalogError
from almc_assistant.core.errors import AlmcError
from almc_assistant.core.service_cleanup import CleanupPart
from almc_assistant.core.service_runtime import Runtime
from almc_assistant.core.session import PendingSummary
from almc_assistant.core.setup_state import SetupNeeded, setup_needed
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


class StatusPart:
    """Status, warnings and the pending summary; their asynchronous query."""

    def __init__(self, runtime: Runtime, user: str, cleanup: CleanupPart) -> None:
        self._rt = runtime
        self._user = user
        self._cleanup = cleanup
        self._query_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._again: tuple[bool, bool] | None = None  # asked meanwhile: (report, warnings)
        self._closed = False

    def setup_needed(self) -> SetupNeeded | None:
        return setup_needed(self._rt.settings.config, self._rt.paths)

    def pending_summary(self) -> PendingSummary:
        files, size, oldest = self._rt.catalog.pending(self._user)
        return PendingSummary(files, size, oldest)

    def status(self, user: str | None = None) -> StatusReport:
        """Blocking (it measures disks): see the module docstring."""
        rt = self._rt
        catalog, policy = rt.catalog, rt.settings.policy
        if user is not None and user != self._user:
            catalog, policy = self._cleanup.other_users_catalog(user)
        else:
            self.refresh_safety()
        config = rt.settings.config
        report = build_status(
            catalog,
            user or self._user,
            policy=policy,
            retention=rt.settings.retention,
            volumes=measure_volumes(config.acquisition_folders),
            problems=[str(p) for p in config.problems] + rt.notes,
            now=rt.clock(),
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

    def warnings(self) -> list[SafetyWarning]:
        """Blocking (it builds the status): the pre-deletion warnings."""
        return compute_warnings(self.status(), self._rt.settings.retention)

    def refresh_safety(self) -> None:
        """A destination is back since its files were judged: judge them again (the
        stored flags said "unsafe" while it could not be reached)."""
        try:
            self._rt.catalog.refresh_safety(self._rt.settings.policy.device_of)
        except CatalogError as exc:  # busy or full: the flags stay; the next call retries
            log.warning("safety flags not refreshed: %s", exc)

    def publish(self) -> None:
        """Publish ``StatusChanged`` and ``WarningsUpdated`` (a worker: it is slow)."""
        self.refresh_safety()
        self._rt.sink.publish(ev.StatusChanged(pending=self.pending_summary()))
        self._rt.sink.publish(WarningsUpdated(warnings=tuple(self.warnings())))

    # ------------------------------------------------------------------ asynchronous
    def request(self, *, report: bool = False, warnings: bool = False) -> None:
        """Returns at once; a ``StatusQueried`` event brings the pending summary (and the
        report, and the warnings, when asked), or why they could not be read."""
        if self._rt.inline:
            self._rt.sink.publish(self._query(report, warnings))
            return
        with self._query_lock:
            if self._closed:
                return
            if self._thread is not None:
                before = self._again or (False, False)
                self._again = (before[0] or report, before[1] or warnings)
                return
            self._thread = threading.Thread(
                target=self._run,
                args=((report, warnings),),
                name="almc-status-query",
                daemon=True,  # a status stuck on a dead network share must not hold exit
            )
            thread = self._thread
        thread.start()

    @property
    def busy(self) -> bool:
        """A query runs (its answer is published before it is done)."""
        with self._query_lock:
            return self._thread is not None

    def close(self, timeout: float = 5.0) -> None:
        """No more queries; wait (briefly) for the one in flight."""
        with self._query_lock:
            self._closed = True
            self._again = None
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _run(self, asked: tuple[bool, bool]) -> None:
        while True:
            self._rt.sink.publish(self._query(*asked))
            with self._query_lock:
                again, self._again = self._again, None
                if again is None or self._closed:
                    self._thread = None
                    return
            asked = again

    def _query(self, report: bool, warnings: bool) -> ev.StatusQueried:
        try:
            summary = self.pending_summary()
            full = self.status() if report or warnings else None
            found = (
                tuple(compute_warnings(full, self._rt.settings.retention))
                if warnings and full is not None
                else None
            )
        except AlmcError as err:
            return ev.StatusQueried(title=err.title, detail=err.detail, next_step=err.next_step)
        except Exception as exc:  # reported, never swallowed
            log.exception("status query failed")
            return ev.StatusQueried(
                title="Status not available",
                detail=f"An unexpected error occurred ({type(exc).__name__}).",
                next_step="Quit and start almc-assistant again; if it persists, send its "
                "log file to the facility staff.",
            )
        return ev.StatusQueried(summary=summary, report=full, warnings=found)
