"""The status window: what is safe, what is not, and the main actions (the main window).

Thread contract: GUI thread only. It shows the :class:`~almc_assistant.qt.tray.TrayStatus`
the controller computes and emits what the user asks for; it never calls the service.
Where no system tray exists, this window is the app's main window.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from almc_assistant.qt import icons
from almc_assistant.qt.tray import APP_TITLE, STARTING, TrayStatus


class StatusWindow(QWidget):
    end_session_requested = Signal()
    transfer_window_requested = Signal()
    check_files_requested = Signal()
    settings_requested = Signal()
    quit_requested = Signal()

    def __init__(self, *, is_main_window: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._is_main = is_main_window
        self.setWindowTitle(f"{APP_TITLE} — Status")
        self.setWindowIcon(icons.app_icon())
        self._icon = QLabel()
        self._icon.setFixedSize(48, 48)
        self._headline = QLabel()
        self._headline.setWordWrap(True)
        font = self._headline.font()
        font.setPointSizeF(font.pointSizeF() * 1.35)
        font.setBold(True)
        self._headline.setFont(font)
        self._details = QLabel()
        self._details.setWordWrap(True)
        self._details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        top = QHBoxLayout()
        top.addWidget(self._icon, 0, Qt.AlignmentFlag.AlignTop)
        text = QVBoxLayout()
        text.addWidget(self._headline)
        text.addWidget(self._details)
        text.addStretch(1)
        top.addLayout(text, 1)

        self.end_session_button = QPushButton("&End session and back up…")
        self.end_session_button.setDefault(True)
        self.end_session_button.clicked.connect(self.end_session_requested)
        self.transfer_button = QPushButton("&Transfer window")
        self.transfer_button.clicked.connect(self.transfer_window_requested)
        self.check_button = QPushButton("&Check files…")
        self.check_button.clicked.connect(self.check_files_requested)
        self.settings_button = QPushButton("&Settings")
        self.settings_button.clicked.connect(self.settings_requested)
        buttons = QHBoxLayout()
        buttons.addWidget(self.end_session_button)
        buttons.addWidget(self.transfer_button)
        buttons.addWidget(self.check_button)
        buttons.addStretch(1)
        buttons.addWidget(self.settings_button)
        if is_main_window:
            self.quit_button = QPushButton("&Quit")
            self.quit_button.clicked.connect(self.quit_requested)
            buttons.addWidget(self.quit_button)

        layout = QVBoxLayout(self)
        layout.addLayout(top, 1)
        layout.addSpacing(12)
        layout.addLayout(buttons)
        QShortcut(QKeySequence.StandardKey.Close, self, self.close)
        self.resize(560, 220)
        self.set_status(STARTING)

    def set_status(self, status: TrayStatus) -> None:
        self._icon.setPixmap(icons.render(f"state-{status.state.value}", 48, status.progress))
        self._headline.setText(status.headline)
        self._details.setText("\n".join(status.details))
        self._details.setVisible(bool(status.details))

    def headline(self) -> str:
        return self._headline.text()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._is_main:  # the main window stands in for the tray: closing it quits
            event.ignore()
            self.quit_requested.emit()
            return
        super().closeEvent(event)
