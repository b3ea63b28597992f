"""The app's conductor: service state to tray and windows, user requests to the service.

Thread contract: GUI thread only. It refreshes the tray and the status window on a
timer and after each batch of events the pump delivers: what it knows (copy progress,
the last pending summary) at once, the service's queries (``pending_summary()``, and
``status()`` with its disk usage while the status window is open) in a worker
(``status_queries``), whose answer arrives through the pump: no catalog read or disk
query runs on the GUI thread during a copy. It opens windows on request
(``controller_windows``), follows copies and asks before quitting
(``controller_copies``), and routes every question through the prompt port.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot
from PySide6.QtWidgets import QSystemTrayIcon, QWidget

from almc_assistant.core import units
from almc_assistant.core.config import Config
from almc_assistant.core.errors import AlmcError
from almc_assistant.core.service_events import (
    PreflightFinished,
    ServiceFailed,
    SettingsApplied,
    StatusChanged,
)
from almc_assistant.core.session_end.clock import SystemClock
from almc_assistant.core.session_end.pending import as_summary
from almc_assistant.core.session_end.texts import describe_pending
from almc_assistant.core.setup_state import NotSetUp, SetupNeeded
from almc_assistant.core.transfer.events import JobFinished, JobProgressed
from almc_assistant.core.warnings import WarningsUpdated
from almc_assistant.qt.bridge import EventPump
from almc_assistant.qt.controller_copies import QUIT_WITH_DATA_AT_RISK, CopiesAndQuit
from almc_assistant.qt.controller_reminders import ReminderActions, not_safe_reason
from almc_assistant.qt.controller_windows import WindowOpeners
from almc_assistant.qt.icons import State
from almc_assistant.qt.prompts import Level, Prompter
from almc_assistant.qt.service_port import ServicePort
from almc_assistant.qt.settings_dialog import SettingsDialog
from almc_assistant.qt.status_queries import StatusQueried, StatusQueries
from almc_assistant.qt.status_window import StatusWindow
from almc_assistant.qt.transfer_window import TransferWindow
from almc_assistant.qt.tray import TrayIcon, TrayStatus
from almc_assistant.qt.warnings_window import DeletionWarningWindow

__all__ = ["QUIT_WITH_DATA_AT_RISK", "AppController", "compute_status"]

log = logging.getLogger(__name__)

REFRESH_INTERVAL_MS = 30_000
# After events arrive, refresh once they calm down (a copy publishes many).
EVENT_REFRESH_DELAY_MS = 400
# The status window's report (every unsafe file, disk usage) is asked for at most this
# often by the refreshes that follow events; opening the window always asks.
REPORT_INTERVAL_S = 5.0


def compute_status(
    summary: Any,
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


class AppController(WindowOpeners, CopiesAndQuit, ReminderActions):
    """Owns the tray (or the main window where no tray exists) and the app's windows."""

    status_changed = Signal(object)  # TrayStatus

    def __init__(
        self,
        service: ServicePort,
        pump: EventPump,
        prompter: Prompter,
        *,
        config: Config | None = None,
        tray_available: bool | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._service = service
        self._pump = pump
        self._prompter = prompter
        self._config = config or Config()
        self._jobs: dict[str, Any] = {}  # running copy jobs: id -> handle
        self._safety_requests: dict[int, Any] = {}  # preflight id -> what it is for
        self._job_progress: dict[str, tuple[int, int, bool]] = {}  # done, total, paused
        if tray_available is None:
            tray_available = QSystemTrayIcon.isSystemTrayAvailable()
        self._tray: TrayIcon | None = TrayIcon(self) if tray_available else None
        self._windows: dict[str, QWidget] = {}
        self._status: TrayStatus | None = None
        self._summary: Any = None  # the last PendingSummary the service gave
        self._queries = StatusQueries(service, pump.sink)
        self._report_asked = float("-inf")  # when the last report was asked for
        self._warnings_given: tuple[Any, ...] | None = None
        self._warnings_wanted = False
        self._problem = ""
        self._problem_lines: tuple[str, ...] = ()  # its detail and next step
        self._setup: SetupNeeded | None = None  # not set up yet: the welcome window helps
        self._quitting = False
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setInterval(REFRESH_INTERVAL_MS)
        self._refresh_timer.timeout.connect(self._on_refresh_timer_timeout)
        self._event_refresh = QTimer(self)
        self._event_refresh.setSingleShot(True)
        self._event_refresh.setInterval(EVENT_REFRESH_DELAY_MS)
        self._event_refresh.timeout.connect(self._on_refresh_timer_timeout)
        pump.batch_arrived.connect(self._on_pump_batch_arrived)
        pump.subscribe(JobProgressed, self._on_job_progressed)
        pump.subscribe(JobFinished, self._on_job_finished)
        pump.subscribe(StatusChanged, self._on_status_changed)
        pump.subscribe(WarningsUpdated, self._on_warnings_updated)
        pump.subscribe(ServiceFailed, self._on_service_failed)
        pump.subscribe(PreflightFinished, self._on_preflight_finished)
        pump.subscribe(StatusQueried, self._on_status_queried)
        pump.subscribe(SettingsApplied, self._on_settings_applied)
        self._warnings_seen: set[tuple[str, str]] = set()
        if self._tray is not None:
            self._connect_tray(self._tray)
        self._connect_reminders(pump, self._tray)

    def _connect_tray(self, tray: TrayIcon) -> None:
        tray.status_requested.connect(self.show_status)
        tray.end_session_requested.connect(self.show_wizard)
        tray.transfer_window_requested.connect(self.show_transfer)
        tray.check_files_requested.connect(self.check_files)
        tray.settings_requested.connect(self.show_settings)
        tray.setup_requested.connect(self.show_welcome)
        tray.pause_requested.connect(self.pause_copies)
        tray.resume_requested.connect(self.resume_copies)
        tray.quit_requested.connect(self.request_quit)

    @property
    def tray(self) -> TrayIcon | None:
        return self._tray

    @property
    def status(self) -> TrayStatus | None:
        return self._status

    def window(self, key: str) -> QWidget | None:
        return self._windows.get(key)

    def start(self, paths: list[str]) -> None:
        """Show the tray (or the main window), start watching and the pump."""
        self._pump.start()
        watch_error: AlmcError | None = None
        try:
            self._service.start_watching()
        except NotSetUp as err:  # not a problem: the welcome window helps set it up
            self._setup = err.setup
        except AlmcError as err:
            self._problem = err.title
            self._problem_lines = (err.detail, err.next_step)
            watch_error = err
        self.refresh()
        self._refresh_timer.start()
        if self._tray is not None:
            self._tray.show()
        else:  # the status window is the main window: it stays when the welcome closes
            self.show_status()
        if self._setup is not None:
            self.show_welcome()
        if watch_error is not None:  # a notification, not a modal box at login
            self._notify(watch_error.title, f"{watch_error.detail} {watch_error.next_step}")
        if paths:
            self.open_paths(paths)

    def shutdown(self) -> None:
        """Stop timers, the service and the pump (``aboutToQuit``)."""
        self._quitting = True
        self._refresh_timer.stop()
        self._event_refresh.stop()
        self._queries.close()  # before the service closes its catalog
        try:
            self._service.stop()
        finally:
            self._pump.drain()
            self._pump.stop()
            if self._tray is not None:
                self._tray.hide()
            for window in self._windows.values():
                window.hide()
                window.deleteLater()
            self._windows.clear()

    @Slot(object)
    def on_instance_message(self, message: dict[str, Any]) -> None:
        """A second launch: open the paths it was given, or bring the app forward."""
        paths = [str(p) for p in message.get("paths", []) if isinstance(p, str)]
        if paths:
            self.open_paths(paths)
        else:
            self.show_status()

    def open_paths(self, paths: list[str]) -> None:
        """Paths handed to the app (command line, a second launch): the transfer window."""
        self.show_transfer().add_paths(paths)

    @Slot()
    def _on_refresh_timer_timeout(self) -> None:
        self.refresh_later()

    @Slot(object)
    def _on_pump_batch_arrived(self, events: list[Any]) -> None:
        """Something happened: refresh soon. Our own query answers do not count, or each
        answer would ask the next question, forever."""
        if self._quitting or self._event_refresh.isActive():
            return
        if any(not isinstance(e, StatusQueried) for e in events):
            self._event_refresh.start()

    def refresh(self) -> TrayStatus:
        """Recompute the status from the service and show it everywhere."""
        if self._quitting and self._status is not None:
            return self._status  # the service is stopping: do not reopen its catalog
        try:
            self._summary = self._service.pending_summary()
        except AlmcError as err:
            log.warning("status query failed: %s", err)
            status = TrayStatus(State.PROBLEM, err.title, _lines(err.detail, err.next_step))
        else:
            status = self._compose()
        self._show(status)
        self._ask_report()
        return status

    def refresh_later(self) -> None:
        """Show at once what is known (copy progress, the last summary); ask the service
        for a fresh summary (and the status window's report) in a worker."""
        if self._quitting:
            return
        if self._summary is None:
            self.refresh()
            return
        self._show(self._compose())
        if not self._ask_report():
            self._queries.request()

    def _ask_report(self, *, now: bool = False) -> bool:
        """Ask a worker for the status window's report if the window is open (at most
        every :data:`REPORT_INTERVAL_S` unless ``now``). Returns whether it asked."""
        window = self._windows.get("status")
        if not isinstance(window, StatusWindow) or not window.isVisible():
            return False
        if not now and time.monotonic() - self._report_asked < REPORT_INTERVAL_S:
            return False
        self._report_asked = time.monotonic()
        self._queries.request(report=True)
        return True

    def _compose(self) -> TrayStatus:
        progress, paused = self._copy_state()
        return compute_status(
            self._summary,
            copy_progress=progress,
            paused=paused,
            problem=self._problem,
            problem_lines=self._problem_lines,
            setup=self._setup,
        )

    def _on_status_queried(self, event: StatusQueried) -> None:
        """A worker's answer (``refresh_later``): the tray, the status window's report."""
        if self._quitting:
            return
        if event.failed:
            log.warning("status query failed: %s", event.title)
            lines = _lines(event.detail, event.next_step)
            self._show(TrayStatus(State.PROBLEM, event.title, lines))
            if self._warnings_wanted:
                self._warnings_wanted = False
                self._tell_error(AlmcError(event.detail, title=event.title))
            return
        self._summary = event.summary
        self._show(self._compose())
        window = self._windows.get("status")
        if event.report is not None and isinstance(window, StatusWindow):
            window.set_report(event.report)
        warnings = self._windows.get("warnings")
        if self._warnings_wanted and event.report is not None:
            given = self._warnings_given if self._warnings_given is not None else event.warnings
            if given is not None and isinstance(warnings, DeletionWarningWindow):
                self._warnings_wanted = False
                warnings.set_report(given, event.report.files)

    def _show(self, status: TrayStatus) -> None:
        if status == self._status:
            return
        self._status = status
        if self._tray is not None:
            self._tray.set_status(status)
        window = self._windows.get("status")
        if isinstance(window, StatusWindow):
            window.set_status(status)
        self.status_changed.emit(status)

    def _update_status_window(self) -> None:
        """The status window was opened: its status now, its report from a worker."""
        window = self._windows.get("status")
        if not isinstance(window, StatusWindow) or self._status is None:
            return
        window.set_status(self._status)
        self._ask_report(now=True)

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
            self.show_warnings(event.warnings)

    def _on_status_changed(self, event: StatusChanged) -> None:
        """The catalog changed: the event carries the new summary (no query needed)."""
        if self._quitting:
            return
        self._summary = event.pending
        self._show(self._compose())
        self._ask_report()

    def _on_settings_applied(self, event: SettingsApplied) -> None:
        """Saved settings now apply (the service watches the new folders): the state
        everywhere, and the windows that show settings read them afresh."""
        self._config = event.config
        was_not_set_up = self._setup is not None
        self._setup = event.setup
        if was_not_set_up and event.setup is None and self._problem == "":
            self._notify("almc-assistant is set up", "It now watches your acquisition folders.")
        settings = self._windows.get("settings")
        if isinstance(settings, SettingsDialog) and settings.isVisible():
            settings.reload()  # saved elsewhere (the welcome window): Save keeps it
        self._show(self._compose())
        self.refresh_later()

    def _on_service_failed(self, event: ServiceFailed) -> None:
        self._notify(event.title, f"{event.detail} {event.next_step}".strip(), Level.ERROR)

    def _on_preflight_finished(self, event: PreflightFinished) -> None:
        purpose = self._safety_requests.pop(event.request_id, None)
        if isinstance(purpose, _OneClickBackup):
            self._one_click_answer(purpose, event)
        elif purpose is not None:
            self._on_reminder_safety(purpose, event)
        settings = self._windows.get("settings")
        if isinstance(settings, SettingsDialog):
            settings.destinations.on_preflight_finished(event)

    def _notify(self, title: str, text: str, level: Level = Level.INFO, key: str = "") -> None:
        if self._tray is not None:
            self._tray.notify(title, text, level, key)
        else:
            log.warning("%s: %s", title, text)

    @Slot(object)
    def back_up_now(self, paths: list[Path]) -> None:
        """One click: copy these files to the user's destinations if those make them safe;
        otherwise open the transfer window with them, to choose where."""
        window = self.show_transfer()
        window.add_paths([str(p) for p in paths])
        destinations = list(self._service.destinations())
        if destinations:  # the service answers (with the disk check); then copy or not
            self.ask_safety(paths, destinations, _OneClickBackup(list(paths), destinations))

    def _one_click_answer(self, backup: _OneClickBackup, event: PreflightFinished) -> None:
        reason = not_safe_reason(event)
        if reason:
            self._notify("Choose where to back up", f"Your destinations are not enough: {reason}.")
            return
        window = self._windows.get("transfer")
        if isinstance(window, TransferWindow):
            window.queue_copy([str(p) for p in backup.paths], backup.destinations)


@dataclass(frozen=True)
class _OneClickBackup:
    """A reminder's "Back up now" waiting for the service's safety answer."""

    paths: list[Path]
    destinations: list[Any]


def _lines(*texts: str) -> tuple[str, ...]:
    return tuple(t for t in texts if t)
