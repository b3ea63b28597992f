"""The controller's status: the tray's state and the status and warnings windows' data.

Thread contract: GUI thread only. It shows at once what it knows (copy progress from
:class:`~almc_assistant.qt.controller_copies.CopyTracker`, the last pending summary) and
asks the service for the rest with ``request_status``, whose answer (``StatusQueried``)
arrives through the pump: the status report (every unsafe file and the disks' usage,
which can hang on an unreachable share) never runs on the GUI thread. It refreshes on a
timer and soon after each batch of events, and follows ``StatusChanged`` (the new
summary rides on the event), ``SettingsApplied``, ``WarningsUpdated`` and
``ServiceFailed``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from almc_assistant.core import units
from almc_assistant.core.errors import AlmcError
from almc_assistant.core.events import Event
from almc_assistant.core.service_events import (
    ServiceFailed,
    SettingsApplied,
    StatusChanged,
    StatusQueried,
)
from almc_assistant.core.session import PendingSummary
from almc_assistant.core.session_end.clock import SystemClock
from almc_assistant.core.session_end.pending import as_summary
from almc_assistant.core.session_end.texts import describe_pending
from almc_assistant.core.setup_state import SetupNeeded
from almc_assistant.core.warnings import SafetyWarning, WarningsUpdated
from almc_assistant.qt.bridge import EventPump
from almc_assistant.qt.controller_copies import CopyTracker
from almc_assistant.qt.controller_windows import Windows
from almc_assistant.qt.icons import State
from almc_assistant.qt.notifier import Notifier
from almc_assistant.qt.prompts import Level
from almc_assistant.qt.service_port import ServicePort
from almc_assistant.qt.status_window import StatusWindow
from almc_assistant.qt.tray import TrayIcon, TrayStatus
from almc_assistant.qt.warnings_window import DeletionWarningWindow

log = logging.getLogger(__name__)

REFRESH_INTERVAL_MS = 30_000
# After events arrive, refresh once they calm down (a copy publishes many).
EVENT_REFRESH_DELAY_MS = 400
# The status window's report (every unsafe file, disk usage) is asked for at most this
# often by the refreshes that follow events; opening the window always asks.
REPORT_INTERVAL_S = 5.0


def compute_status(
    summary: PendingSummary,
    *,
    copy_progress: float | None = None,
    paused: bool = False,
    problem: str = "",
    problem_lines: tuple[str, ...] = (),
    setup: SetupNeeded | None = None,
) -> TrayStatus:
    """The tray's status from the service's pending summary and what is running.

    A problem names its cause and next step (``problem_lines``); "not set up" uses the
    words of :mod:`almc_assistant.core.setup_state`, as the command line does."""
    pending = describe_pending(as_summary(summary), SystemClock())
    if problem:
        lines = tuple(line for line in problem_lines if line)
        return TrayStatus(State.PROBLEM, problem, lines + ((pending,) if summary.files else ()))
    if setup is not None and copy_progress is None:
        return TrayStatus(State.NOT_SET_UP, setup.title, setup.lines())
    if copy_progress is not None:
        percent = units.percent(copy_progress)
        headline = f"Copying paused at {percent}" if paused else f"Copying… {percent}"
        return TrayStatus(
            State.COPYING, headline, (pending,), copy_progress, can_pause=True, paused=paused
        )
    if summary.files > 0:
        return TrayStatus(State.AT_RISK, pending)
    return TrayStatus(State.SAFE, pending)


def lines(*texts: str) -> tuple[str, ...]:
    return tuple(t for t in texts if t)


class StatusPresenter(QObject):
    """The app's status everywhere it shows: tray, status window, warnings window."""

    status_changed = Signal(object)  # TrayStatus

    def __init__(
        self,
        service: ServicePort,
        pump: EventPump,
        windows: Windows,
        copies: CopyTracker,
        tray: TrayIcon | None,
        notify: Notifier,
        tell_error: Callable[[AlmcError], None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._service = service
        self._windows = windows
        self._copies = copies
        self._tray = tray
        self._notify = notify
        self._tell_error = tell_error
        self.status: TrayStatus | None = None
        self.setup: SetupNeeded | None = None  # not set up yet: the welcome window helps
        self.problem = ""
        self.problem_lines: tuple[str, ...] = ()  # its detail and next step
        self.quitting = False
        self._summary: PendingSummary | None = None  # the last one the service gave
        self._report_asked = float("-inf")  # when the last report was asked for
        self._warnings_given: tuple[SafetyWarning, ...] | None = None
        self._warnings_wanted = False
        self._warnings_seen: set[tuple[str, str]] = set()
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setInterval(REFRESH_INTERVAL_MS)
        self._refresh_timer.timeout.connect(self._on_refresh_timer_timeout)
        self.event_refresh = QTimer(self)
        self.event_refresh.setSingleShot(True)
        self.event_refresh.setInterval(EVENT_REFRESH_DELAY_MS)
        self.event_refresh.timeout.connect(self._on_refresh_timer_timeout)
        pump.batch_arrived.connect(self._on_pump_batch_arrived)
        pump.subscribe(StatusChanged, self._on_status_changed)
        pump.subscribe(StatusQueried, self._on_status_queried)
        pump.subscribe(SettingsApplied, self._on_settings_applied)
        pump.subscribe(WarningsUpdated, self._on_warnings_updated)
        pump.subscribe(ServiceFailed, self._on_service_failed)
        copies.changed.connect(self.refresh_later)
        windows.status_opened.connect(self._on_status_window_opened)
        windows.warnings_opened.connect(self._on_warnings_window_opened)

    def start(self) -> None:
        self.refresh()
        self._refresh_timer.start()

    def stop(self) -> None:
        self.quitting = True
        self._refresh_timer.stop()
        self.event_refresh.stop()

    def set_problem(self, err: AlmcError) -> None:
        self.problem = err.title
        self.problem_lines = (err.detail, err.next_step)

    # ------------------------------------------------------------------ refreshing
    @Slot()
    def _on_refresh_timer_timeout(self) -> None:
        self.refresh_later()

    @Slot(object)
    def _on_pump_batch_arrived(self, events: list[Event]) -> None:
        """Something happened: refresh soon. Our own query answers do not count, or each
        answer would ask the next question, forever."""
        if self.quitting or self.event_refresh.isActive():
            return
        if any(not isinstance(e, StatusQueried) for e in events):
            self.event_refresh.start()

    def refresh(self) -> TrayStatus:
        """Recompute the status from the service (one catalog read) and show it."""
        if self.quitting and self.status is not None:
            return self.status  # the service is stopping: do not reopen its catalog
        try:
            self._summary = self._service.pending_summary()
        except AlmcError as err:
            log.warning("status query failed: %s", err)
            status = TrayStatus(State.PROBLEM, err.title, lines(err.detail, err.next_step))
        else:
            status = self._compose()
        self.show(status)
        self._ask_report()
        return status

    @Slot()
    def refresh_later(self) -> None:
        """Show at once what is known (copy progress, the last summary); ask the service
        for a fresh summary (and the status window's report)."""
        if self.quitting:
            return
        if self._summary is None:
            self.refresh()
            return
        self.show(self._compose())
        if not self._ask_report():
            self._service.request_status()

    def _ask_report(self, *, now: bool = False) -> bool:
        """Ask for the status window's report if the window is open (at most every
        :data:`REPORT_INTERVAL_S` unless ``now``). Returns whether it asked."""
        window = self._windows.of_type("status", StatusWindow)
        if window is None or not window.isVisible():
            return False
        if not now and time.monotonic() - self._report_asked < REPORT_INTERVAL_S:
            return False
        self._report_asked = time.monotonic()
        self._service.request_status(report=True)
        return True

    def _compose(self) -> TrayStatus:
        progress, paused = self._copies.progress()
        return compute_status(
            self._summary or PendingSummary(),
            copy_progress=progress,
            paused=paused,
            problem=self.problem,
            problem_lines=self.problem_lines,
            setup=self.setup,
        )

    def show(self, status: TrayStatus) -> None:
        if status == self.status:
            return
        self.status = status
        if self._tray is not None:
            self._tray.set_status(status)
        window = self._windows.of_type("status", StatusWindow)
        if window is not None:
            window.set_status(status)
        self.status_changed.emit(status)

    # ------------------------------------------------------------------ events
    def _on_status_queried(self, event: StatusQueried) -> None:
        """The service's answer: the tray, the status window's report, the warnings."""
        if self.quitting:
            return
        if event.failed:
            log.warning("status query failed: %s", event.title)
            self.show(TrayStatus(State.PROBLEM, event.title, lines(event.detail, event.next_step)))
            if self._warnings_wanted:
                self._warnings_wanted = False
                self._tell_error(AlmcError(event.detail, title=event.title))
            return
        self._summary = event.summary
        self.show(self._compose())
        report = event.report
        window = self._windows.of_type("status", StatusWindow)
        if report is not None and window is not None:
            window.set_report(report)
        warnings = self._windows.of_type("warnings", DeletionWarningWindow)
        if self._warnings_wanted and report is not None:
            given = self._warnings_given if self._warnings_given is not None else event.warnings
            if given is not None and warnings is not None:
                self._warnings_wanted = False
                warnings.set_report(given, report.files)

    def _on_status_changed(self, event: StatusChanged) -> None:
        """The catalog changed: the event carries the new summary (no query needed)."""
        if self.quitting:
            return
        self._summary = event.pending
        self.show(self._compose())
        self._ask_report()

    def _on_settings_applied(self, event: SettingsApplied) -> None:
        """Saved settings now apply (the service watches the new folders): the state
        everywhere."""
        was_not_set_up = self.setup is not None
        self.setup = event.setup
        if was_not_set_up and event.setup is None and self.problem == "":
            self._notify(
                "almc-assistant is set up", "It now watches your acquisition folders.", Level.INFO
            )
        self.show(self._compose())
        self.refresh_later()

    def _on_warnings_updated(self, event: WarningsUpdated) -> None:
        """New warnings: one summarised notification, and the window for serious ones."""
        current = {(str(w.kind), w.title) for w in event.warnings}
        new = [w for w in event.warnings if (str(w.kind), w.title) not in self._warnings_seen]
        self._warnings_seen = current
        if not new:
            return
        first = new[0]
        more = f" (and {len(new) - 1} more)" if len(new) > 1 else ""
        self._notify(first.title + more, first.next_step, Level.WARNING)
        if any(str(w.severity) in ("warning", "critical") for w in new):
            self._windows.show_warnings(event.warnings)

    def _on_service_failed(self, event: ServiceFailed) -> None:
        if event.action == "watch":  # not watching: the tray says so, as at a failed start
            self.problem = event.title
            self.problem_lines = (event.detail, event.next_step)
            self.refresh()
        self._notify(event.title, f"{event.detail} {event.next_step}".strip(), Level.ERROR)

    # ------------------------------------------------------------------ windows
    @Slot()
    def _on_status_window_opened(self) -> None:
        """The status window was opened: its status now, its report from the service."""
        window = self._windows.of_type("status", StatusWindow)
        if window is None or self.status is None:
            return
        window.set_status(self.status)
        self._ask_report(now=True)

    @Slot(object)
    def _on_warnings_window_opened(self, warnings: Sequence[SafetyWarning] | None) -> None:
        """The warnings window waits for its files (and ``warnings`` if not given)."""
        self._warnings_given = None if warnings is None else tuple(warnings)
        self._warnings_wanted = True
        self._service.request_status(report=True, warnings=warnings is None)
