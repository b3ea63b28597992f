"""The controller's windows: open (or bring forward) each window of the app.

Thread contract: GUI thread only. A mixin of :class:`~almc_assistant.qt.controller.
AppController`: one instance of each window, created on first use and raised after;
windows get the service, the prompt port and the pump, never each other.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Slot
from PySide6.QtWidgets import QWidget

from almc_assistant.core.config import Config
from almc_assistant.core.destinations import Destination, guess_kind
from almc_assistant.core.errors import AlmcError
from almc_assistant.core.policy import Policy
from almc_assistant.core.setup_state import SetupNeeded
from almc_assistant.qt.bridge import EventPump
from almc_assistant.qt.prompts import Level, Message, Prompter
from almc_assistant.qt.service_port import ServicePort
from almc_assistant.qt.settings_dialog import SettingsDialog
from almc_assistant.qt.status_queries import StatusQueries
from almc_assistant.qt.status_window import StatusWindow
from almc_assistant.qt.transfer_window import TransferWindow
from almc_assistant.qt.tray import TrayIcon
from almc_assistant.qt.warnings_window import DeletionWarningWindow
from almc_assistant.qt.welcome import WelcomeWindow
from almc_assistant.qt.wizard.session_wizard import SessionWizard


class WindowOpeners(QObject):
    """``show_status``, ``show_transfer``, ``show_wizard``, ``show_settings``,
    ``show_warnings`` and ``check_files``."""

    # Set up by the controller.
    _service: ServicePort
    _pump: EventPump
    _prompter: Prompter
    _config: Config
    _setup: SetupNeeded | None
    _tray: TrayIcon | None
    _windows: dict[str, QWidget]
    _update_status_window: Callable[[], None]
    _queries: StatusQueries
    _warnings_given: tuple[Any, ...] | None  # the warnings show_warnings was given
    _warnings_wanted: bool  # the warnings window waits for its files
    _on_copy_started: Callable[[Any], None]
    request_quit: Callable[[], bool]
    back_up_now: Callable[[list[Path]], None]

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
            window.warnings_requested.connect(self.show_warnings)
            window.setup_requested.connect(self.show_welcome)
            return window

        window: StatusWindow = self._window("status", make)
        self._update_status_window()
        return window

    def live_config(self) -> Config:
        """The configuration in force: the service's own (it changes when settings are
        saved), else the one the controller was given (test doubles)."""
        config = getattr(self._service, "config", None)
        return config if isinstance(config, Config) else self._config

    def data_folder(self) -> str:
        """Where pickers open: the first acquisition folder, else the home folder."""
        folders = self.live_config().acquisition_folders
        return str(folders[0]) if folders else str(Path.home())

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
        """Why copies to ``destinations`` would not make data safe ("" if they would),
        worded as a plan: nothing is copied yet, so nothing "has" a copy."""
        known = [*self._config.destinations, *destinations]
        roots = self._config.acquisition_folders  # a copy on their disk never counts
        policy = Policy(self._config.policy, known, acquisition_roots=roots)
        if not policy.would_be_safe(destinations):
            return ""
        return f"the facility's policy asks for {policy.requirement()}"

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
        paths = self._prompter.choose_files("Choose files to check", self.data_folder())
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
            )
            wizard.copy_page.copy_started.connect(self._on_copy_started)
            return wizard

        wizard: SessionWizard = self._window("wizard", make)
        return wizard

    @Slot()
    def show_welcome(self) -> WelcomeWindow:
        """What the app does, and choosing folders and destinations (first start)."""

        def make() -> WelcomeWindow:
            return WelcomeWindow(
                self._service,
                self._prompter,
                self._pump,
                config=self.live_config,
                setup=lambda: self._setup,
            )

        window: WelcomeWindow = self._window("welcome", make)
        window.reload()
        return window

    @Slot()
    def show_settings(self) -> SettingsDialog:
        def make() -> SettingsDialog:
            return SettingsDialog(self._service, self._prompter, self.live_config)

        dialog: SettingsDialog = self._window("settings", make)
        dialog.reload()
        return dialog

    @Slot()
    def show_warnings(self, warnings: Sequence[Any] | None = None) -> DeletionWarningWindow:
        """The pre-deletion warnings: what is at risk, from when; one-click backup. The
        files at risk (and ``warnings`` if not given) are read in a worker; they reach
        the window through the pump (``AppController._on_status_queried``)."""

        def make() -> DeletionWarningWindow:
            window = DeletionWarningWindow()
            window.backup_requested.connect(self.back_up_now)
            return window

        window: DeletionWarningWindow = self._window("warnings", make)
        self._warnings_given = None if warnings is None else tuple(warnings)
        self._warnings_wanted = True
        self._queries.request(report=True, warnings=warnings is None)
        return window

    def _tell_error(self, err: AlmcError) -> None:
        self._prompter.tell(
            Message(err.title, err.detail, err.next_step, Level.ERROR, tuple(err.paths))
        )
