"""The app's conductor: composes the controller's parts and wires the tray to them.

Thread contract: GUI thread only. Each responsibility is a part of its own, composed
here (no mixins):

========================  ============================================================
part                      responsibility
========================  ============================================================
``controller_windows``    one instance of each window; their requests leave as signals
``controller_status``     the tray's state, the status and warnings windows' data
``controller_copies``     running copies: the tray's progress ring, pause, resume
``controller_reminders``  the reminder window, snoozing, the guard's activity cues
``controller_safety``     "would these copies make the files safe?", asked of the service
``notifier``              notifications: the tray's balloon, or the log
========================  ============================================================

The controller itself starts and stops the app, handles paths handed to it, the
one-click "Back up now" and quitting (asking first while data is at risk). Every
question to the user goes through the prompt port; every call to the core goes through
the service port (``qt/service_port.py``) and every change comes back as an event.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import QApplication, QSystemTrayIcon, QWidget

from almc_assistant.core.destinations import Destination
from almc_assistant.core.errors import AlmcError
from almc_assistant.core.service_events import PreflightFinished
from almc_assistant.core.session_end.events import ReminderDue
from almc_assistant.core.setup_state import NotSetUp
from almc_assistant.core.transfer.events import JobProgressed
from almc_assistant.core.warnings import SafetyWarning
from almc_assistant.qt.bridge import EventPump
from almc_assistant.qt.controller_copies import CopyTracker
from almc_assistant.qt.controller_reminders import ReminderControls, ReminderPresenter
from almc_assistant.qt.controller_safety import SafetyQuestions, not_safe_reason
from almc_assistant.qt.controller_status import StatusPresenter, compute_status
from almc_assistant.qt.controller_windows import Windows, make_destination
from almc_assistant.qt.icons import State
from almc_assistant.qt.notifier import Notifier
from almc_assistant.qt.prompts import Choice, Level, Message, Prompter, Question, Role
from almc_assistant.qt.reminder_window import ReminderWindow
from almc_assistant.qt.service_port import CopyHandle, ServicePort
from almc_assistant.qt.settings_dialog import SettingsDialog
from almc_assistant.qt.status_window import StatusWindow
from almc_assistant.qt.transfer_window import TransferWindow
from almc_assistant.qt.tray import TrayIcon, TrayStatus
from almc_assistant.qt.warnings_window import DeletionWarningWindow
from almc_assistant.qt.welcome import WelcomeWindow
from almc_assistant.qt.wizard.session_wizard import SessionWizard

__all__ = ["QUIT_WITH_DATA_AT_RISK", "AppController", "compute_status"]

log = logging.getLogger(__name__)

QUIT_WITH_DATA_AT_RISK = "quit-with-data-at-risk"


class AppController(QObject):
    """Owns the tray (or the main window where no tray exists) and the app's parts."""

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
        # Called on the user's own quit, before it goes ahead (the session hooks'
        # ``allow_quit``: macOS must not hold up a logout for a quit of our own).
        self.before_quit: Callable[[], None] | None = None
        notify = self._notify = Notifier(self._tray)
        self.windows = Windows(
            service,
            pump,
            prompter,
            is_main_window=self._tray is None,
            setup=lambda: self.presenter.setup,
            parent=self,
        )
        self.copies = CopyTracker(pump, notify, parent=self)
        self.safety = SafetyQuestions(service, pump, parent=self)
        self.presenter = StatusPresenter(
            service, pump, self.windows, self.copies, self._tray, notify, self._tell_error, self
        )
        self.reminders = ReminderPresenter(
            service, pump, self.windows, self.safety, self._tray, notify, parent=self
        )
        self.presenter.status_changed.connect(self.status_changed)
        self.windows.quit_requested.connect(self.request_quit)
        self.windows.backup_requested.connect(self.back_up_now)
        self.windows.copy_started.connect(self.copies.add)
        if self._tray is not None:
            self._connect_tray(self._tray)

    def _connect_tray(self, tray: TrayIcon) -> None:
        tray.status_requested.connect(self.windows.show_status)
        tray.end_session_requested.connect(self.windows.show_wizard)
        tray.transfer_window_requested.connect(self.windows.show_transfer)
        tray.check_files_requested.connect(self.windows.check_files)
        tray.settings_requested.connect(self.windows.show_settings)
        tray.setup_requested.connect(self.windows.show_welcome)
        tray.pause_requested.connect(self.pause_copies)
        tray.resume_requested.connect(self.resume_copies)
        tray.quit_requested.connect(self.request_quit)

    # ------------------------------------------------------------------ state
    @property
    def tray(self) -> TrayIcon | None:
        return self._tray

    @property
    def status(self) -> TrayStatus | None:
        return self.presenter.status

    @property
    def reminder(self) -> ReminderDue | None:
        """The reminder still pending (shown and neither snoozed nor withdrawn)."""
        return self.reminders.reminder

    def window(self, key: str) -> QWidget | None:
        return self.windows.get(key)

    # ------------------------------------------------------------------ life
    def start(self, paths: list[str]) -> None:
        """Show the tray (or the main window), start watching and the pump."""
        self._pump.start()
        watch_error = self._watch()
        self.presenter.start()
        if self._tray is not None:
            self._tray.show()
        else:  # the status window is the main window: it stays when the welcome closes
            self.windows.show_status()
        if self.presenter.setup is not None:
            self.windows.show_welcome()
        if watch_error is not None:  # a notification, not a modal box at login
            self._notify(watch_error.title, f"{watch_error.detail} {watch_error.next_step}")
        if paths:
            self.open_paths(paths)

    def _watch(self) -> AlmcError | None:
        """Start watching; the error that stops it (a problem shown), if any."""
        try:
            self._service.start_watching()
        except NotSetUp as err:  # not a problem: the welcome window helps set it up
            self.presenter.setup = err.setup
        except AlmcError as err:
            self.presenter.set_problem(err)
            return err
        return None

    def start_watching_again(self) -> None:
        """The engine was restarted: watch again and show the status afresh."""
        error = self._watch()
        if error is not None:
            self._notify(error.title, f"{error.detail} {error.next_step}")
        self.presenter.refresh_later()

    def shutdown(self) -> None:
        """Stop timers, the service and the pump (``aboutToQuit``)."""
        self.presenter.stop()
        try:
            self._service.stop()
        finally:
            self._pump.drain()
            self._pump.stop()
            if self._tray is not None:
                self._tray.hide()
            self.windows.close_all()

    def attach_reminders(
        self, controls: ReminderControls, *, refresh: Callable[[], object] | None = None
    ) -> None:
        """Wire the session-end guard (see :meth:`ReminderPresenter.attach`)."""
        self.reminders.attach(controls, refresh=refresh)

    @Slot(object)
    def on_instance_message(self, message: dict[str, object]) -> None:
        """A second launch: open the paths it was given, or bring the app forward."""
        given = message.get("paths", [])
        paths = [p for p in given if isinstance(p, str)] if isinstance(given, list) else []
        if paths:
            self.open_paths(paths)
        else:
            self.windows.show_status()

    def open_paths(self, paths: list[str]) -> None:
        """Paths handed to the app (command line, a second launch): the transfer window."""
        self.windows.show_transfer().add_paths(paths)

    # ------------------------------------------------------------------ windows
    def show_status(self) -> StatusWindow:
        return self.windows.show_status()

    def show_transfer(self) -> TransferWindow:
        return self.windows.show_transfer()

    def show_wizard(self) -> SessionWizard:
        return self.windows.show_wizard()

    def show_welcome(self) -> WelcomeWindow:
        return self.windows.show_welcome()

    def show_settings(self) -> SettingsDialog:
        return self.windows.show_settings()

    def show_warnings(
        self, warnings: Sequence[SafetyWarning] | None = None
    ) -> DeletionWarningWindow:
        return self.windows.show_warnings(warnings)

    def show_reminder(self) -> ReminderWindow | None:
        return self.reminders.show_reminder()

    def data_folder(self) -> str:
        """Where pickers open: the first acquisition folder, else the home folder."""
        return self.windows.data_folder()

    @staticmethod
    def make_destination(path: Path) -> Destination:
        return make_destination(path)

    # ------------------------------------------------------------------ status
    def refresh(self) -> TrayStatus:
        """Recompute the status from the service and show it everywhere."""
        return self.presenter.refresh()

    def refresh_later(self) -> None:
        self.presenter.refresh_later()

    # ------------------------------------------------------------------ copies
    @Slot(object)
    def _on_copy_started(self, handle: CopyHandle) -> None:
        self.copies.add(handle)

    def _on_job_progressed(self, event: JobProgressed) -> None:
        self.copies.on_job_progressed(event)

    @Slot()
    def pause_copies(self) -> None:
        self.copies.set_paused(True)

    @Slot()
    def resume_copies(self) -> None:
        self.copies.set_paused(False)

    @Slot(object)
    def back_up_now(self, paths: list[Path]) -> None:
        """One click: copy these files to the user's destinations if those make them safe;
        otherwise open the transfer window with them, to choose where."""
        window = self.windows.show_transfer()
        window.add_paths([str(p) for p in paths])
        destinations = list(self._service.destinations())
        if not destinations:
            return

        def answer(event: PreflightFinished) -> None:  # the service's answer, with disks
            reason = not_safe_reason(event)
            if reason:
                self._notify(
                    "Choose where to back up", f"Your destinations are not enough: {reason}."
                )
                return
            transfer = self.windows.of_type("transfer", TransferWindow)
            if transfer is not None:
                transfer.queue_copy([str(p) for p in paths], destinations)

        self.safety.ask(list(paths), destinations, answer)

    # ------------------------------------------------------------------ quitting
    @Slot()
    def request_quit(self) -> bool:
        """Quit, asking first when data is at risk or a copy is running."""
        if self.presenter.quitting:
            return True
        status = self.refresh()
        if status.state in (State.AT_RISK, State.COPYING):
            answer = self._prompter.ask(_quit_question(status))
            if answer == "backup":
                if status.state is State.COPYING:
                    self.windows.show_transfer()
                else:
                    self.windows.show_wizard()
                return False
            if answer != "quit":
                return False
            self.copies.cancel_all()
        self.presenter.quitting = True
        if self.before_quit is not None:
            self.before_quit()
        # Qt 6's quit() first closes every window: the main window (no tray) refuses a
        # close by asking to quit, which would drop this quit. Let it close now.
        main = self.windows.of_type("status", StatusWindow)
        if main is not None:
            main.allow_close()
        QApplication.quit()
        return True

    def _tell_error(self, err: AlmcError) -> None:
        self._prompter.tell(
            Message(err.title, err.detail, err.next_step, Level.ERROR, tuple(err.paths))
        )


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
