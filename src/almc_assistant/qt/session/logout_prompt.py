"""The question at an X11 logout: "Cancel logout" or "Log out anyway".

Thread contract: GUI thread only; no I/O. The XSMP adapter (``qt/session/xsmp``) shows it
once the session manager lets us interact, and reports the answer back to the manager.
It is non-modal: the logout waits for it (xfce4-session switches its save timeout off
while a client interacts), nothing else in the app does. Closing it or pressing Escape
counts as "Cancel logout", the choice that keeps the data's owner at the workstation.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from almc_assistant.qt import icons

log = logging.getLogger(__name__)

TITLE = "almc-assistant — Log out with files not backed up?"


class LogoutPrompt(QDialog):
    """Two buttons; :attr:`answered` carries ``True`` for "Cancel logout"."""

    answered = Signal(bool)  # cancel the logout?

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setModal(False)
        self.setWindowTitle(TITLE)
        self.setWindowIcon(icons.state_icon(icons.State.AT_RISK))
        self.setWindowFlag(Qt.WindowType.WindowStaysOnTopHint, True)
        self._answered = False
        self.headline = QLabel()
        self.headline.setWordWrap(True)
        font = self.headline.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.2)
        self.headline.setFont(font)
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.cancel_button = QPushButton("&Cancel logout")
        self.cancel_button.setDefault(True)
        self.cancel_button.clicked.connect(self._on_cancel_clicked)
        self.anyway_button = QPushButton("&Log out anyway")
        self.anyway_button.setAutoDefault(False)
        self.anyway_button.clicked.connect(self._on_anyway_clicked)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.anyway_button)
        buttons.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.headline)
        layout.addWidget(self.text)
        layout.addSpacing(8)
        layout.addLayout(buttons)
        self.resize(520, 180)

    def ask(self, headline: str, text: str) -> None:
        """Show the question (the same window for every logout, updated in place)."""
        self._answered = False
        self.headline.setText(headline)
        self.text.setText(text)
        log.info("Logout question shown: %s %s", self.headline.text(), self.text.text())
        self.show()
        self.raise_()
        self.activateWindow()
        self.cancel_button.setFocus()

    @Slot()
    def _on_cancel_clicked(self) -> None:
        self._answer(True)

    @Slot()
    def _on_anyway_clicked(self) -> None:
        self._answer(False)

    def _answer(self, cancel: bool) -> None:
        if self._answered:
            return
        self._answered = True
        log.info("Logout question answered: %s", "cancel logout" if cancel else "log out anyway")
        self.hide()
        self.answered.emit(cancel)

    def dismiss(self) -> None:
        """The manager withdrew the question (the logout was cancelled elsewhere)."""
        self._answered = True
        self.hide()

    def reject(self) -> None:
        self._answer(True)

    def closeEvent(self, event: QCloseEvent) -> None:
        event.accept()
        self._answer(True)
