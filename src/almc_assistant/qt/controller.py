"""The app's conductor: service state to tray and windows, user requests to the service.

Thread contract: GUI thread only. It reads the service's quick queries (``status()``,
``pending_summary()``) on a timer and after each batch of events the pump delivers, opens
windows on request, and routes every question through the prompt port.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot
from PySide6.QtWidgets import QSystemTrayIcon, QWidget

from almc_assistant.core.config import Config
from almc_assistant.core.destinations import Destination, guess_kind
from almc_assistant.core.errors import AlmcError
from almc_assistant.core.policy import Policy, Retention
from almc_assistant.core.session_end.clock import SystemClock
from almc_assistant.core.session_end.pending import as_summary
from almc_assistant.core.session_end.texts import describe_pending
from almc_assistant.core.transfer.events import JobFinished, JobProgressed
from almc_assistant.qt import humanize
from almc_assistant.qt.bridge import EventPump
from almc_assistant.qt.icons import State
from almc_assistant.qt.prompts import Choice, Level, Message, Prompter, Question, Role
from almc_assistant.qt.service_port import ServicePort
from almc_assistant.qt.settings_dialog import SettingsDialog
from almc_assistant.qt.status_window import StatusWindow
from almc_assistant.qt.transfer_window import TransferWindow
from almc_assistant.qt.tray import TrayIcon, TrayStatus
from almc_assistant.qt.warnings_window import DeletionWarningWindow
from almc_assistant.qt.wizard.session_wizard import SessionWizard

log = logging.getLogger(__name__)

REFRESH_INTERVAL_MS = 30_000
# After events arrive, refresh once they calm down (a copy publishes many).
EVENT_REFRESH_DELAY_MS = 400

QUIT_WITH_DATA_AT_RISK = "quit-with-data-at-risk"


def compute_status(
    summary: Any, *, copy_progress: float | None = None, paused: bool = False, problem: str = ""
) -> TrayStatus:
    """The tray's status from the service's pending summary and what is running."""
    pending = describe_pending(as_summary(summary), SystemClock())
    if problem:
        return TrayStatus(State.PROBLEM, problem, (pending,) if summary.files else ())
    if copy_progress is not None:
        percent = f"{round(copy_progress * 100)} %"
        headline = f"Copying paused at {percent}" if paused else f"Copying… {percent}"
        return TrayStatus(
            State.COPYING, headline, (pending,), copy_progress, can_pause=True, paused=paused
        )
    if summary.files > 0:
        return TrayStatus(State.AT_RISK, pending)
    return TrayStatus(State.SAFE, pending)


class AppController(QObject):
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
        self._job_progress: dict[str, tuple[int, int, bool]] = {}  # done, total, paused
        if tray_available is None:
            tray_available = QSystemTrayIcon.isSystemTrayAvailable()
        self._tray: TrayIcon | None = TrayIcon(self) if tray_available else None
        self._windows: dict[str, QWidget] = {}
        self._status: TrayStatus | None = None
        self._problem = ""
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
        if self._tray is not None:
            self._connect_tray(self._tray)

    # ------------------------------------------------------------------ wiring
    def _connect_tray(self, tray: TrayIcon) -> None:
        tray.status_requested.connect(self.show_status)
        tray.end_session_requested.connect(self.show_wizard)
        tray.transfer_window_requested.connect(self.show_transfer)
        tray.check_files_requested.connect(self.check_files)
        tray.settings_requested.connect(self.show_settings)
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

    # ------------------------------------------------------------------ life cycle
    def start(self, paths: list[str]) -> None:
        """Show the tray (or the main window), start watching and the pump."""
        self._pump.start()
        try:
            self._service.start_watching()
        except AlmcError as err:
            self._problem = err.title
            self._tell_error(err)
        self.refresh()
        self._refresh_timer.start()
        if self._tray is not None:
            self._tray.show()
        else:
            self.show_status()
        if paths:
            self.open_paths(paths)

    def shutdown(self) -> None:
        """Stop timers, the service and the pump (``aboutToQuit``)."""
        self._quitting = True
        self._refresh_timer.stop()
        self._event_refresh.stop()
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

    # ------------------------------------------------------------------ state
    @Slot()
    def _on_refresh_timer_timeout(self) -> None:
        self.refresh()

    @Slot(object)
    def _on_pump_batch_arrived(self, _events: list[Any]) -> None:
        if not self._event_refresh.isActive():
            self._event_refresh.start()

    def refresh(self) -> TrayStatus:
        """Recompute the status from the service and show it everywhere."""
        try:
            summary = self._service.pending_summary()
        except AlmcError as err:
            log.warning("status query failed: %s", err)
            status = TrayStatus(State.PROBLEM, err.title, (err.detail,))
        else:
            progress, paused = self._copy_state()
            status = compute_status(
                summary, copy_progress=progress, paused=paused, problem=self._problem
            )
        self._show(status)
        return status

    def _show(self, status: TrayStatus) -> None:
        if status == self._status:
            return
        self._status = status
        if self._tray is not None:
            self._tray.set_status(status)
        main = self._windows.get("status")
        if isinstance(main, StatusWindow):
            main.set_status(status)
        self.status_changed.emit(status)

    # ------------------------------------------------------------------ windows
    def _raise(self, window: QWidget) -> None:
        window.show()
        window.raise_()
        window.activateWindow()

    @Slot()
    def show_status(self) -> StatusWindow:
        def make() -> StatusWindow:
            window = StatusWindow(is_main_window=self._tray is None)
            window.quit_requested.connect(self.request_quit)
            window.end_session_requested.connect(self.show_wizard)
            window.transfer_window_requested.connect(self.show_transfer)
            window.check_files_requested.connect(self.check_files)
            window.settings_requested.connect(self.show_settings)
            if self._status is not None:
                window.set_status(self._status)
            return window

        window: StatusWindow = self._window("status", make)
        return window

    def _window(self, key: str, make: Callable[[], QWidget]) -> Any:
        window = self._windows.get(key)
        if window is None:
            window = make()
            self._windows[key] = window
        self._raise(window)
        return window

    def make_destination(self, path: Path) -> Destination:
        """A folder the user picked for one copy: a destination of the kind it looks like."""
        return Destination(name=path.name or str(path), path=path, kind=guess_kind(path))

    def would_be_safe(self, destinations: Sequence[Any]) -> str:
        """Why copies to ``destinations`` would not make data safe ("" if they would)."""
        known = [*self._config.destinations, *destinations]
        return Policy(self._config.policy, known).would_be_safe(destinations)

    @Slot()
    def show_transfer(self) -> TransferWindow:
        def make() -> TransferWindow:
            window = TransferWindow(self._service, self._prompter, self.make_destination)
            window.connect_pump(self._pump)
            window.copy_started.connect(self._on_copy_started)
            return window

        window: TransferWindow = self._window("transfer", make)
        return window

    @Slot()
    def check_files(self) -> None:
        paths = self._prompter.choose_files("Choose files to check")
        if paths:
            self.show_transfer().add_paths(paths)

    @Slot()
    def show_wizard(self) -> SessionWizard:
        existing = self._windows.get("wizard")
        idle = isinstance(existing, SessionWizard) and (
            existing.state.job is None or existing.state.summary is not None
        )
        if isinstance(existing, SessionWizard) and idle and not existing.isVisible():
            existing.disconnect_pump()  # a finished wizard starts afresh
            existing.deleteLater()
            del self._windows["wizard"]

        def make() -> SessionWizard:
            wizard = SessionWizard(
                self._service,
                self._prompter,
                self._pump,
                make_destination=self.make_destination,
                would_be_safe=self.would_be_safe,
            )
            wizard.copy_page.copy_started.connect(self._on_copy_started)
            return wizard

        wizard: SessionWizard = self._window("wizard", make)
        return wizard

    @Slot()
    def show_settings(self) -> SettingsDialog:
        def make() -> SettingsDialog:
            return SettingsDialog(self._service, self._prompter, self._config)

        dialog: SettingsDialog = self._window("settings", make)
        dialog.reload()
        return dialog

    def show_at_risk(self, records: Sequence[Any], *, disk_full: bool = False) -> None:
        """The pre-deletion warning: these unsafe files may be cleaned up soon."""

        def make() -> DeletionWarningWindow:
            window = DeletionWarningWindow()
            window.backup_requested.connect(self.back_up_now)
            return window

        window: DeletionWarningWindow = self._window("warnings", make)
        window.set_at_risk(records, Retention(self._config.retention), disk_full=disk_full)
        if self._tray is not None and records:
            self._tray.notify("Files may be deleted soon", window.headline.text(), Level.WARNING)

    @Slot(object)
    def back_up_now(self, paths: list[Path]) -> None:
        """One click: copy these files to the user's destinations if those make them safe;
        otherwise open the transfer window with them, to choose where."""
        window = self.show_transfer()
        window.add_paths([str(p) for p in paths])
        destinations = list(self._service.destinations())
        if destinations and not self.would_be_safe(destinations):
            window.queue_copy([str(p) for p in paths], destinations)

    # ------------------------------------------------------------------ copies
    @Slot(object)
    def _on_copy_started(self, handle: Any) -> None:
        job_id = str(getattr(handle, "job_id", ""))
        self._jobs[job_id] = handle
        self._job_progress[job_id] = (0, 1, False)
        self.refresh()

    def _on_job_progressed(self, event: JobProgressed) -> None:
        s = event.snapshot
        if s.job_id in self._jobs:
            paused = s.state == "paused"
            self._job_progress[s.job_id] = (s.bytes_done, max(s.bytes_total, 1), paused)

    def _on_job_finished(self, event: JobFinished) -> None:
        self._jobs.pop(event.job_id, None)
        self._job_progress.pop(event.job_id, None)
        if event.summary.failed and self._tray is not None:
            self._tray.notify(
                "Some files were not copied",
                f"{humanize.count(event.summary.failed, 'copy', 'copies')} failed; "
                "open the transfer window for what to do.",
                Level.WARNING,
            )
        self.refresh()

    def _copy_state(self) -> tuple[float | None, bool]:
        if not self._job_progress:
            return None, False
        done = sum(d for d, _t, _p in self._job_progress.values())
        total = sum(t for _d, t, _p in self._job_progress.values())
        paused = all(p for _d, _t, p in self._job_progress.values())
        return done / total, paused

    @Slot()
    def pause_copies(self) -> None:
        for job_id, handle in self._jobs.items():
            handle.pause()
            done, total, _ = self._job_progress.get(job_id, (0, 1, False))
            self._job_progress[job_id] = (done, total, True)
        self.refresh()

    @Slot()
    def resume_copies(self) -> None:
        for job_id, handle in self._jobs.items():
            handle.resume()
            done, total, _ = self._job_progress.get(job_id, (0, 1, False))
            self._job_progress[job_id] = (done, total, False)
        self.refresh()

    # ------------------------------------------------------------------ quitting
    @Slot()
    def request_quit(self) -> bool:
        """Quit, asking first when data is at risk or a copy is running."""
        if self._quitting:
            return True
        status = self.refresh()
        if status.state in (State.AT_RISK, State.COPYING):
            answer = self._prompter.ask(self._quit_question(status))
            if answer == "backup":
                if status.state is State.COPYING:
                    self.show_transfer()
                else:
                    self.show_wizard()
                return False
            if answer != "quit":
                return False
            for handle in self._jobs.values():
                handle.cancel()
        self._quitting = True
        from PySide6.QtWidgets import QApplication

        QApplication.quit()
        return True

    @staticmethod
    def _quit_question(status: TrayStatus) -> Question:
        copying = status.state is State.COPYING
        text = (
            "A copy is still running. If you quit now it stops, and the files it has not "
            "finished are not backed up."
            if copying
            else f"{status.headline}. If you quit, almc-assistant can no longer remind you "
            "before they are cleaned up."
        )
        return Question(
            key=QUIT_WITH_DATA_AT_RISK,
            title="Quit almc-assistant?",
            text=text,
            detail="\n".join(status.details),
            choices=(
                Choice("backup", "Back up first", Role.ACCEPT),
                Choice("quit", "Quit anyway", Role.DESTRUCTIVE),
                Choice("cancel", "Cancel", Role.REJECT),
            ),
            default="backup",
        )

    def _tell_error(self, err: AlmcError) -> None:
        self._prompter.tell(
            Message(err.title, err.detail, err.next_step, Level.ERROR, tuple(err.paths))
        )
