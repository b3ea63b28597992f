"""The status window: what is safe, what is not, and the main actions (the main window).

Thread contract: GUI thread only. It shows the :class:`~almc_assistant.qt.tray.TrayStatus`
the controller computes and emits what the user asks for; it never calls the service.
Where no system tray exists, this window is the app's main window.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from almc_assistant.core.status import StatusReport, UnsafeDataset
from almc_assistant.core.units import human_size, percent_full
from almc_assistant.qt import humanize, icons
from almc_assistant.qt.icons import State
from almc_assistant.qt.keys import close_on_escape
from almc_assistant.qt.tray import APP_TITLE, STARTING, TrayStatus


def _set_text(label: QLabel, text: str) -> None:
    """Set a label's text only when it differs: rich text is laid out anew each time."""
    if label.text() != text:
        label.setText(text)


MAX_UNITS = 6  # datasets or files named under a session; the rest are counted


def _units(units: Sequence[UnsafeDataset]) -> str:
    """A session's datasets (a plate, an ND2 series) and loose files, as a short list."""
    if not units:
        return ""
    items = []
    for unit in units[:MAX_UNITS]:
        what = f" — {html.escape(unit.kind)}" if unit.kind else ""
        items.append(
            f"<li><b>{html.escape(unit.name)}</b>{what}: "
            f"{humanize.count(len(unit.files), 'file')}, {human_size(unit.bytes)}</li>"
        )
    if len(units) > MAX_UNITS:
        items.append(f"<li>and {len(units) - MAX_UNITS:,} more</li>")
    return f"<ul>{''.join(items)}</ul>"


class StatusWindow(QWidget):
    end_session_requested = Signal()
    transfer_window_requested = Signal()
    check_files_requested = Signal()
    settings_requested = Signal()
    warnings_requested = Signal()
    setup_requested = Signal()
    quit_requested = Signal()

    def __init__(self, *, is_main_window: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._is_main = is_main_window
        self._closing_allowed = False  # the app is quitting: the main window closes
        self._look: tuple[State, float | None] | None = None  # what the icon shows
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
        self.report = QLabel()
        self.report.setWordWrap(True)
        self.report.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        top = QHBoxLayout()
        top.addWidget(self._icon, 0, Qt.AlignmentFlag.AlignTop)
        text = QVBoxLayout()
        text.addWidget(self._headline)
        text.addWidget(self._details)
        text.addSpacing(8)
        text.addWidget(self.report)
        text.addStretch(1)
        top.addLayout(text, 1)

        self.end_session_button = QPushButton("&End session and back up…")
        self.end_session_button.setDefault(True)
        self.end_session_button.clicked.connect(self.end_session_requested)
        self.transfer_button = QPushButton("&Transfer window")
        self.transfer_button.clicked.connect(self.transfer_window_requested)
        self.check_button = QPushButton("&Check files…")
        self.check_button.clicked.connect(self.check_files_requested)
        self.warnings_button = QPushButton("Files at &risk…")
        self.warnings_button.clicked.connect(self.warnings_requested)
        self.setup_button = QPushButton("Set &up…")
        self.setup_button.clicked.connect(self.setup_requested)
        self.setup_button.setVisible(False)
        self.settings_button = QPushButton("&Settings")
        self.settings_button.clicked.connect(self.settings_requested)
        buttons = QHBoxLayout()
        buttons.addWidget(self.setup_button)
        buttons.addWidget(self.end_session_button)
        buttons.addWidget(self.transfer_button)
        buttons.addWidget(self.check_button)
        buttons.addWidget(self.warnings_button)
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
        if not is_main_window:  # the main window stands in for the tray: Esc keeps it
            close_on_escape(self)
        self.resize(640, 300)
        self.set_status(STARTING)

    def set_status(self, status: TrayStatus) -> None:
        """Show ``status``; only what changed is redrawn (a copy updates it often)."""
        ring = icons.snap_progress(status.progress) if status.state is State.COPYING else None
        look = (status.state, ring)
        if look != self._look:
            self._look = look
            self._icon.setPixmap(icons.render(f"state-{status.state.value}", 48, ring))
        not_set_up = status.state is State.NOT_SET_UP
        self.setup_button.setVisible(not_set_up)
        self.setup_button.setDefault(not_set_up)
        self.end_session_button.setDefault(not not_set_up)
        _set_text(self._headline, status.headline)
        _set_text(self._details, "\n".join(status.details))
        self._details.setVisible(bool(status.details))

    def set_report(self, report: StatusReport) -> None:
        """The service's ``StatusReport``: unsafe files by session, disks, problems."""
        lines = []
        for session in report.sessions:
            started = humanize.date(session.started_at) if session.started_at else "earlier"
            units = [u for u in report.datasets if u.session_id == session.session_id]
            lines.append(
                f"<li>Session of {started}: {humanize.count(session.files, 'file')} "
                f"({human_size(session.bytes)}) not backed up; may be deleted from "
                f"{humanize.date(session.earliest_candidate_date)}{_units(units)}</li>"
            )
        for volume in report.volumes:
            if volume.reachable:
                lines.append(
                    f"<li>Disk of {html.escape(str(volume.folder))}: "
                    f"{percent_full(volume.percent)}, {human_size(volume.free)} free</li>"
                )
            else:
                lines.append(f"<li>{html.escape(str(volume.folder))} is not reachable</li>")
        lines.extend(
            f"<li>⚠ <b>{html.escape(p.title)}</b>. {html.escape(p.detail)} "
            f"<i>What to do:</i> {html.escape(p.next_step)}</li>"
            for p in report.problems
        )
        text = f"<ul style='margin-left:-20px'>{''.join(lines)}</ul>" if lines else ""
        _set_text(self.report, text)

    def headline(self) -> str:
        return self._headline.text()

    def allow_close(self) -> None:
        """The app quits: closing the main window no longer asks to quit again."""
        self._closing_allowed = True

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._is_main and not self._closing_allowed:  # it stands in for the tray: quits
            event.ignore()
            self.quit_requested.emit()
            return
        super().closeEvent(event)
