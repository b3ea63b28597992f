"""The controller's windows: one instance of each, created on first use, raised after.

Thread contract: GUI thread only. Windows get the service port, the prompt port and the
pump, never each other; what a window asks of the rest of the app leaves as one of this
part's signals (``quit_requested``, ``backup_requested``, ``copy_started``,
``warnings_opened``, ``status_opened``), which the controller wires to the part that
answers it. An open Settings window follows settings applied elsewhere (it reloads on
``SettingsApplied``), so its Save never drops what another window saved meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import QWidget

from almc_assistant.core.config import Config
from almc_assistant.core.destinations import Destination, guess_kind
from almc_assistant.core.service_events import (
    PreflightFinished,
    SettingsApplied,
    SettingsNotSaved,
)
from almc_assistant.core.service_remotes import RemoteTested, SignInOpened
from almc_assistant.core.setup_state import SetupNeeded
from almc_assistant.core.warnings import SafetyWarning
from almc_assistant.qt.bridge import EventPump
from almc_assistant.qt.prompts import Level, Message, Prompter
from almc_assistant.qt.service_port import ServicePort
from almc_assistant.qt.settings_dialog import SettingsDialog
from almc_assistant.qt.status_window import StatusWindow
from almc_assistant.qt.transfer_window import TransferWindow
from almc_assistant.qt.warnings_window import DeletionWarningWindow
from almc_assistant.qt.welcome import WelcomeWindow
from almc_assistant.qt.wizard.session_wizard import SessionWizard

W = TypeVar("W", bound=QWidget)


def make_destination(path: Path) -> Destination:
    """A folder the user picked for one copy: a destination of the kind it looks like."""
    return Destination(name=path.name or str(path), path=path, kind=guess_kind(path))


class Windows(QObject):
    """``show_status``, ``show_transfer``, ``show_wizard``, ``show_welcome``,
    ``show_settings``, ``show_warnings``, ``check_files``; :meth:`get` by key."""

    quit_requested = Signal()
    backup_requested = Signal(object)  # list[Path]: back these up now
    copy_started = Signal(object)  # CopyHandle
    warnings_opened = Signal(object)  # the warnings given, or None: read them
    status_opened = Signal()  # the status window was shown: its report is wanted

    def __init__(
        self,
        service: ServicePort,
        pump: EventPump,
        prompter: Prompter,
        *,
        is_main_window: bool,
        setup: Callable[[], SetupNeeded | None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._service = service
        self._pump = pump
        self._prompter = prompter
        self._is_main_window = is_main_window  # no tray: the status window is the app
        self._setup = setup
        self._windows: dict[str, QWidget] = {}
        pump.subscribe(SettingsApplied, self._on_settings_applied)
        pump.subscribe(SettingsNotSaved, self._on_settings_not_saved)
        pump.subscribe(PreflightFinished, self._on_preflight_finished)
        pump.subscribe(RemoteTested, self._on_remote_event)
        pump.subscribe(SignInOpened, self._on_remote_event)

    def get(self, key: str) -> QWidget | None:
        return self._windows.get(key)

    def of_type(self, key: str, kind: type[W]) -> W | None:
        """The window ``key`` if it exists and is a ``kind``."""
        window = self._windows.get(key)
        return window if isinstance(window, kind) else None

    def adopt(self, key: str, window: QWidget) -> None:
        """Keep a window another part made (the reminder window) with the others."""
        self._windows[key] = window

    def close_all(self) -> None:
        for window in self._windows.values():
            window.hide()
            window.deleteLater()
        self._windows.clear()

    def config(self) -> Config:
        """The configuration in force (the service's: it changes when settings apply)."""
        return self._service.config

    def data_folder(self) -> str:
        """Where pickers open: the first acquisition folder, else the home folder."""
        folders = self.config().acquisition_folders
        return str(folders[0]) if folders else str(Path.home())

    def _window(self, key: str, make: Callable[[], W]) -> W:
        window = self._windows.get(key)
        if window is None:
            window = make()
            self._windows[key] = window
        window.show()
        window.raise_()
        window.activateWindow()
        return window  # type: ignore[return-value]  # made by make() for this key

    @Slot()
    def show_status(self) -> StatusWindow:
        def make() -> StatusWindow:
            window = StatusWindow(is_main_window=self._is_main_window)
            window.quit_requested.connect(self.quit_requested)
            window.end_session_requested.connect(self.show_wizard)
            window.transfer_window_requested.connect(self.show_transfer)
            window.check_files_requested.connect(self.check_files)
            window.settings_requested.connect(self.show_settings)
            window.warnings_requested.connect(self.show_warnings)
            window.setup_requested.connect(self.show_welcome)
            return window

        window = self._window("status", make)
        self.status_opened.emit()
        return window

    @Slot()
    def show_transfer(self) -> TransferWindow:
        def make() -> TransferWindow:
            window = TransferWindow(self._service, self._prompter, make_destination)
            window.connect_pump(self._pump)
            window.copy_started.connect(self.copy_started)
            return window

        return self._window("transfer", make)

    @Slot()
    def check_files(self) -> None:
        paths = self._prompter.choose_files("Choose files to check", self.data_folder())
        if paths:
            self.show_transfer().add_paths(paths)

    @Slot()
    def show_wizard(self) -> SessionWizard:
        existing = self.of_type("wizard", SessionWizard)
        if (
            existing is not None
            and (existing.state.job is None or existing.state.summary is not None)
            and not existing.isVisible()
        ):
            existing.disconnect_pump()  # a finished wizard starts afresh
            existing.deleteLater()
            del self._windows["wizard"]

        def make() -> SessionWizard:
            wizard = SessionWizard(
                self._service, self._prompter, self._pump, make_destination=make_destination
            )
            wizard.copy_page.copy_started.connect(self.copy_started)
            return wizard

        return self._window("wizard", make)

    @Slot()
    def show_welcome(self) -> WelcomeWindow:
        """What the app does, and choosing folders and destinations (first start)."""

        def make() -> WelcomeWindow:
            return WelcomeWindow(
                self._service, self._prompter, self._pump, config=self.config, setup=self._setup
            )

        window = self._window("welcome", make)
        window.reload()
        return window

    @Slot()
    def show_settings(self) -> SettingsDialog:
        def make() -> SettingsDialog:
            return SettingsDialog(self._service, self._prompter, self.config)

        dialog = self._window("settings", make)
        dialog.reload()
        return dialog

    @Slot()
    def show_warnings(
        self, warnings: Sequence[SafetyWarning] | None = None
    ) -> DeletionWarningWindow:
        """The pre-deletion warnings: what is at risk, from when; one-click backup. The
        files at risk (and ``warnings`` if not given) arrive later, from the service."""

        def make() -> DeletionWarningWindow:
            window = DeletionWarningWindow()
            window.backup_requested.connect(self.backup_requested)
            return window

        window = self._window("warnings", make)
        self.warnings_opened.emit(None if warnings is None else tuple(warnings))
        return window

    def _on_settings_applied(self, _event: SettingsApplied) -> None:
        settings = self.of_type("settings", SettingsDialog)
        if settings is not None:  # its own save in force, or another's shown
            settings.on_settings_applied()

    def _on_settings_not_saved(self, event: SettingsNotSaved) -> None:
        """A save (the settings window's or the welcome's) failed: said once, here."""
        self._prompter.tell(Message(event.title, event.detail, event.next_step, Level.ERROR))
        settings = self.of_type("settings", SettingsDialog)
        if settings is not None:
            settings.on_settings_not_saved()

    def _on_remote_event(self, event: RemoteTested | SignInOpened) -> None:
        settings = self.of_type("settings", SettingsDialog)
        if settings is not None:
            settings.destinations.on_remote_event(event)

    def _on_preflight_finished(self, event: PreflightFinished) -> None:
        settings = self.of_type("settings", SettingsDialog)
        if settings is not None:
            settings.destinations.on_preflight_finished(event)
