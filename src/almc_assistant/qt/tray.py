"""The tray icon: the state at a glance, a one-line tooltip, and the app's menu.

Thread contract: GUI thread only. The tray only presents a :class:`TrayStatus` the
controller computes, and turns menu choices into signals; it never calls the service.
The menu is rebuilt every time it opens (``aboutToShow``), so it always matches the
current state (Vorta's ``tray_menu.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt, Signal, SignalInstance, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from almc_assistant.qt import icons
from almc_assistant.qt.icons import State
from almc_assistant.qt.prompts import Level

APP_TITLE = "almc-assistant"
MENU_TEXT_WIDTH = 460  # pixels: longer detail lines are elided in the menu


@dataclass(frozen=True, slots=True)
class TrayStatus:
    """What the tray shows. ``headline`` is the tooltip's first line."""

    state: State
    headline: str
    details: tuple[str, ...] = ()
    progress: float | None = None  # 0..1 while copying
    can_pause: bool = False
    paused: bool = False

    @property
    def tooltip(self) -> str:
        return "\n".join((APP_TITLE, self.headline, *self.details))


STARTING = TrayStatus(State.SAFE, "Starting…")

_MESSAGE_ICONS = {
    Level.INFO: QSystemTrayIcon.MessageIcon.Information,
    Level.WARNING: QSystemTrayIcon.MessageIcon.Warning,
    Level.ERROR: QSystemTrayIcon.MessageIcon.Critical,
}


class TrayIcon(QObject):
    """Owns the ``QSystemTrayIcon`` and its menu; emits what the user picked."""

    end_session_requested = Signal()
    transfer_window_requested = Signal()
    check_files_requested = Signal()
    status_requested = Signal()
    settings_requested = Signal()
    setup_requested = Signal()  # the welcome window (choose folders and destinations)
    pause_requested = Signal()
    resume_requested = Signal()
    quit_requested = Signal()
    reminder_requested = Signal()  # the pending backup reminder's window
    message_clicked = Signal(str)  # the key given to the last notify()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._status = STARTING
        self._reminder: str | None = None
        self._message_key = ""
        self._icon_key: tuple[State, float | None] | None = None
        self._menu = QMenu()
        self._menu.aboutToShow.connect(self._on_menu_about_to_show)
        self._tray = QSystemTrayIcon(self)
        self._tray.setContextMenu(self._menu)
        self._tray.activated.connect(self._on_tray_activated)
        self._tray.messageClicked.connect(self._on_message_clicked)
        self._rebuild_menu()
        self.set_status(STARTING)

    @property
    def status(self) -> TrayStatus:
        return self._status

    @property
    def menu(self) -> QMenu:
        return self._menu

    @property
    def native(self) -> QSystemTrayIcon:
        return self._tray

    def show(self) -> None:
        self._tray.show()

    def hide(self) -> None:
        self._tray.hide()

    def set_status(self, status: TrayStatus) -> None:
        """Show ``status``; the icon is replaced only when it looks different (the ring
        moves in :data:`~almc_assistant.qt.icons.PROGRESS_STEPS` steps), the tooltip
        only when its text changed: a tray host redraws on each."""
        self._status = status
        ring = icons.snap_progress(status.progress) if status.state is State.COPYING else None
        key = (status.state, ring)
        if key != self._icon_key:
            self._icon_key = key
            self._tray.setIcon(icons.state_icon(status.state, status.progress))
        if status.tooltip != self._tray.toolTip():
            self._tray.setToolTip(status.tooltip)

    def set_reminder(self, title: str | None) -> None:
        """A backup reminder is pending (its title), or none (``None``): the menu offers
        its window while one is."""
        self._reminder = title

    @property
    def reminder(self) -> str | None:
        return self._reminder

    def notify(self, title: str, text: str, level: Level = Level.INFO, key: str = "") -> None:
        """A desktop notification (one summary, never one per file). A click on it emits
        ``message_clicked(key)``."""
        self._message_key = key
        if QSystemTrayIcon.supportsMessages() and self._tray.isVisible():
            self._tray.showMessage(title, text, _MESSAGE_ICONS[level], 10_000)

    @Slot()
    def _on_message_clicked(self) -> None:
        self.message_clicked.emit(self._message_key)

    @Slot()
    def _on_menu_about_to_show(self) -> None:
        self._rebuild_menu()

    @Slot(QSystemTrayIcon.ActivationReason)
    def _on_tray_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (
            QSystemTrayIcon.ActivationReason.Trigger,
            QSystemTrayIcon.ActivationReason.DoubleClick,
        ):
            self.status_requested.emit()

    def _rebuild_menu(self) -> None:
        menu = self._menu
        menu.clear()
        header = menu.addAction(icons.state_icon(self._status.state), self._status.headline)
        header.setEnabled(False)
        metrics = menu.fontMetrics()
        for line in self._status.details:  # whole in the tooltip and the Status window
            short = metrics.elidedText(line, Qt.TextElideMode.ElideRight, MENU_TEXT_WIDTH)
            action = menu.addAction(short)
            action.setEnabled(False)
            if short != line:
                action.setToolTip(line)
        not_set_up = self._status.state is State.NOT_SET_UP
        if self._status.can_pause:
            if self._status.paused:
                self._add(menu, "Resume copying", self.resume_requested)
            else:
                self._add(menu, "Pause copying", self.pause_requested)
        if not_set_up:
            self._add(menu, "Set up…", self.setup_requested, bold=True)
        menu.addSeparator()
        if self._reminder is not None:
            self._add(menu, "Backup reminder…", self.reminder_requested)
        self._add(menu, "End session and back up…", self.end_session_requested, bold=not not_set_up)
        self._add(menu, "Transfer window", self.transfer_window_requested)
        self._add(menu, "Check files…", self.check_files_requested)
        menu.addSeparator()
        self._add(menu, "Status", self.status_requested)
        self._add(menu, "Settings", self.settings_requested)
        menu.addSeparator()
        self._add(menu, "Quit", self.quit_requested)

    @staticmethod
    def _add(menu: QMenu, text: str, signal: SignalInstance, *, bold: bool = False) -> QAction:
        action = menu.addAction(text)
        # GUI thread to GUI thread: the menu action re-emits our own signal.
        action.triggered.connect(lambda _checked=False, s=signal: s.emit())
        if bold:
            font = action.font()
            font.setBold(True)
            action.setFont(font)
        return action
