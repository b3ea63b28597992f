"""The app's conductor: service state to tray and windows, user requests to the service.

Thread contract: GUI thread only. It reads the service's quick queries (``status()``,
``pending_summary()``) on a timer and after each batch of events the pump delivers, opens
windows on request, and routes every question through the prompt port.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot
from PySide6.QtWidgets import QSystemTrayIcon, QWidget

from almc_assistant.core.errors import AlmcError
from almc_assistant.core.session_end.clock import SystemClock
from almc_assistant.core.session_end.pending import as_summary
from almc_assistant.core.session_end.texts import describe_pending
from almc_assistant.qt.bridge import EventPump
from almc_assistant.qt.icons import State
from almc_assistant.qt.prompts import Choice, Level, Message, Prompter, Question, Role
from almc_assistant.qt.service_port import ServicePort
from almc_assistant.qt.status_window import StatusWindow
from almc_assistant.qt.tray import TrayIcon, TrayStatus

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
        tray_available: bool | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._service = service
        self._pump = pump
        self._prompter = prompter
        if tray_available is None:
            tray_available = QSystemTrayIcon.isSystemTrayAvailable()
        self._tray: TrayIcon | None = TrayIcon(self) if tray_available else None
        self._windows: dict[str, QWidget] = {}
        self._status: TrayStatus | None = None
        self._problem = ""
        self._copy_progress: float | None = None
        self._copy_paused = False
        self._quitting = False
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setInterval(REFRESH_INTERVAL_MS)
        self._refresh_timer.timeout.connect(self._on_refresh_timer_timeout)
        self._event_refresh = QTimer(self)
        self._event_refresh.setSingleShot(True)
        self._event_refresh.setInterval(EVENT_REFRESH_DELAY_MS)
        self._event_refresh.timeout.connect(self._on_refresh_timer_timeout)
        pump.batch_arrived.connect(self._on_pump_batch_arrived)
        if self._tray is not None:
            self._connect_tray(self._tray)

    # ------------------------------------------------------------------ wiring
    def _connect_tray(self, tray: TrayIcon) -> None:
        tray.status_requested.connect(self.show_status)
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
                window.close()

    @Slot(object)
    def on_instance_message(self, message: dict[str, Any]) -> None:
        """A second launch: open the paths it was given, or bring the app forward."""
        paths = [str(p) for p in message.get("paths", []) if isinstance(p, str)]
        if paths:
            self.open_paths(paths)
        else:
            self.show_status()

    def open_paths(self, paths: list[str]) -> None:
        """Paths handed to the app (command line, a second launch): the status window
        until the transfer window exists."""
        log.info("paths handed to the app: %s", paths)
        self.show_status()

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
            status = compute_status(
                summary,
                copy_progress=self._copy_progress,
                paused=self._copy_paused,
                problem=self._problem,
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
        window = self._windows.get("status")
        if not isinstance(window, StatusWindow):
            window = StatusWindow(is_main_window=self._tray is None)
            window.quit_requested.connect(self.request_quit)
            if self._status is not None:
                window.set_status(self._status)
            self._windows["status"] = window
        self._raise(window)
        return window

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
                return False
            if answer != "quit":
                return False
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
