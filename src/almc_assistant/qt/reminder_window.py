"""The reminder window: why now, what is at risk, and one click to make it safe.

Thread contract: GUI thread only; no I/O. The controller (``controller_reminders``) feeds
it the core's :class:`~almc_assistant.core.session_end.events.ReminderDue` and the status
report's unsafe files (``UnsafeFile``: path, size, age, cleanup date), and turns what the
user picks into calls on the service and the reminder scheduler.

One window for every reminder, updated in place (``LOGOUT.md`` §7: the OS notification
is only a pointer to it). It is a non-modal :class:`QDialog` so that Return presses the
default button and Escape means "later" (or "close" where a reminder cannot be
snoozed). A reminder that opens by itself (``present(activate=False)``) is raised but
does not take the keyboard from the application the user is typing in; opened from the
tray it is activated.
"""

from __future__ import annotations

import html
import time
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from almc_assistant.core.session_end.events import ReminderDue, ReminderKind
from almc_assistant.core.session_end.texts import sign_out_word
from almc_assistant.core.status import UnsafeFile
from almc_assistant.qt import humanize, icons
from almc_assistant.qt.reminder_rows import (
    AT_RISK_COLUMNS,
    AtRiskGroup,
    group_at_risk,
    why_text,
)
from almc_assistant.qt.table_model import SnapshotTableModel
from almc_assistant.qt.table_view import make_table
from almc_assistant.qt.tray import APP_TITLE

SNOOZE_CHOICES = (15 * 60.0, 30 * 60.0, 3600.0, 2 * 3600.0)
MAX_VISIBLE_ROWS = 8


class ReminderWindow(QDialog):
    """The one reminder window; the controller updates it in place."""

    end_session_requested = Signal()
    backup_requested = Signal(object)  # list[Path]: the unsafe files
    snooze_requested = Signal(float)  # seconds
    snooze_until_logout_requested = Signal()
    status_requested = Signal()

    def __init__(self, parent: QWidget | None = None, *, snooze_default: float = 30 * 60) -> None:
        super().__init__(parent)
        self.setModal(False)
        self.setWindowTitle(f"{APP_TITLE} — Back up your files")
        self.setWindowIcon(icons.state_icon(icons.State.AT_RISK))
        self._kind: ReminderKind | None = None
        self._strong = False
        self._can_snooze = True
        self._paths: list[Path] = []
        self._all_safe = False  # the last file list was empty
        self._backup_makes_safe = False
        self.snooze_default = snooze_default

        self._icon = QLabel()
        self._icon.setFixedSize(48, 48)
        self.headline = QLabel()
        self.headline.setWordWrap(True)
        font = self.headline.font()
        font.setPointSizeF(font.pointSizeF() * 1.3)
        font.setBold(True)
        self.headline.setFont(font)
        self.why = QLabel()
        self.why.setWordWrap(True)
        self.summary = _label()
        top = QHBoxLayout()
        top.addWidget(self._icon, 0, Qt.AlignmentFlag.AlignTop)
        text = QVBoxLayout()
        text.addWidget(self.headline)
        text.addWidget(self.why)
        text.addWidget(self.summary)
        top.addLayout(text, 1)

        self.model: SnapshotTableModel[AtRiskGroup] = SnapshotTableModel(
            AT_RISK_COLUMNS, key=lambda g: str(g.folder), parent=self
        )
        self.view = make_table(
            self.model,
            sort=False,
            stretch_first=True,
            fit={1: "999.9 MB", 2: "999 days", 3: "Wed 23 Dec 2026 (in 30 days)"},
        )
        self.view.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Tab goes straight to the actions
        self.view.setAccessibleName("Files not backed up, by folder")
        self.cleanup = _label()
        self.target = _label()

        self.status_button = QPushButton("Show &status")
        self.status_button.setAutoDefault(False)
        self.status_button.clicked.connect(self.status_requested)
        self.later_button = QPushButton("Remind me &later")
        self.later_button.setAutoDefault(False)
        self.later_menu = QMenu(self.later_button)
        self.later_button.setMenu(self.later_menu)
        self.close_button = QPushButton("&Close")
        self.close_button.setAutoDefault(False)
        self.close_button.clicked.connect(self.hide)
        self.end_session_button = QPushButton("&End session and back up…")
        self.end_session_button.setAutoDefault(False)
        self.end_session_button.clicked.connect(self._on_end_session_clicked)
        self.backup_button = QPushButton("&Back up now")
        self.backup_button.setAutoDefault(False)
        self.backup_button.clicked.connect(self._on_backup_clicked)
        buttons = QHBoxLayout()
        buttons.addWidget(self.status_button)
        buttons.addStretch(1)
        for button in (
            self.later_button,
            self.close_button,
            self.end_session_button,
            self.backup_button,
        ):
            buttons.addWidget(button)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addSpacing(4)
        layout.addWidget(self.view)
        layout.addWidget(self.cleanup)
        layout.addWidget(self.target)
        layout.addStretch(1)
        layout.addSpacing(6)
        layout.addLayout(buttons)
        self.resize(720, 360)

    # ------------------------------------------------------------------ content
    def set_reminder(self, reminder: ReminderDue, *, platform: str | None = None) -> None:
        """Show a ``ReminderDue``: its title, why it came, and its summary sentence."""
        self._kind = reminder.kind
        self._strong = bool(reminder.strong)
        self._can_snooze = bool(reminder.can_snooze)
        self.headline.setText(reminder.title)
        self.why.setText(why_text(reminder.kind, platform))
        self.summary.setText(html.escape(reminder.text))
        self._icon.setPixmap(icons.render("state-at-risk", 48))
        self._update_actions()
        self._fit_window()

    def set_files(self, files: Sequence[UnsafeFile], *, now: float | None = None) -> None:
        """The status report's unsafe files (``UnsafeFile``), grouped by folder."""
        now = time.time() if now is None else now
        groups = group_at_risk(files, now)
        self.model.replace_all(groups)
        self._fit_table(len(groups))
        self._paths = [Path(f.path) for f in files]
        self._all_safe = not groups
        dates = [g.cleanup_from for g in groups if g.cleanup_from is not None]
        if not groups:
            self._show_all_safe()
        elif dates:
            first = min(dates)
            due = sum(1 for f in files if f.candidate_date is not None and f.candidate_date <= now)
            self.cleanup.setText(
                f"⚠ The facility's cleanup may delete {due:,} of these files <b>now</b>: "
                "back them up first."
                if due
                else "The facility's cleanup may delete the first of them from "
                f"<b>{html.escape(humanize.cleanup_date(first, now))}</b>."
            )
        else:
            self.cleanup.setText("")
        self.cleanup.setVisible(bool(self.cleanup.text()))
        self._update_actions()
        self._fit_window()

    def set_files_unknown(self, why: str) -> None:
        """The list could not be read (the summary sentence still says how much)."""
        self.model.replace_all([])
        self._paths = []
        self._all_safe = False
        self.cleanup.setText(f"The list of files could not be read: {html.escape(why)}")
        self.cleanup.setVisible(True)
        self._update_actions()
        self._fit_window()

    def set_backup_target(self, names: Sequence[str], not_safe_reason: str) -> None:
        """Where *Back up now* copies to, and why that would not be enough ("" if it is)."""
        self._backup_makes_safe = bool(names) and not not_safe_reason
        if self._backup_makes_safe:
            where = " and ".join(html.escape(n) for n in names)
            self.target.setText(
                f"<b>Back up now</b> copies them to {where}, each copy checked (read "
                "back, or proven by the remote storage)."
            )
        elif names:
            self.target.setText(
                f"Your destinations are not enough to make them safe "
                f"({html.escape(not_safe_reason)}). <b>Back up now</b> opens the transfer "
                "window to choose more; <b>End session and back up</b> guides you."
            )
        else:
            self.target.setText(
                "You have no backup destination yet: <b>End session and back up</b> helps "
                "you choose one."
            )
        self._update_actions()
        self._fit_window()

    def paths(self) -> list[Path]:
        return list(self._paths)

    @property
    def strong(self) -> bool:
        return self._strong

    @property
    def backup_makes_safe(self) -> bool:
        return self._backup_makes_safe

    # ------------------------------------------------------------------ showing
    def present(self, *, activate: bool) -> None:
        """Show and raise; take the keyboard only when the user asked for the window."""
        self.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating, not activate)
        self._fit_window()
        self.show()
        self.raise_()
        if activate:
            self.activateWindow()
            (self._default_button() or self.close_button).setFocus()

    def closeEvent(self, event: QCloseEvent) -> None:
        """The title bar's close button: just close. The reminder stays pending (the tray
        menu offers it) and the schedule reminds again in its own time."""
        event.accept()
        self.hide()

    def reject(self) -> None:
        """Escape: "remind me later" (the usual delay) where allowed, else close."""
        if self.later_button.isVisibleTo(self) and self._can_snooze:
            self._snooze(self.snooze_default)
        else:
            self.hide()

    # ------------------------------------------------------------------ internals
    def _fit_table(self, rows: int) -> None:
        """As tall as its rows (up to :data:`MAX_VISIBLE_ROWS`, then it scrolls), so a
        short list does not leave a wide empty box; the window keeps its size once shown."""
        shown = min(max(rows, 1), MAX_VISIBLE_ROWS)
        height = (
            self.view.horizontalHeader().sizeHint().height()
            + shown * self.view.verticalHeader().defaultSectionSize()
            + 2 * self.view.frameWidth()
        )
        self.view.setFixedHeight(height)
        self._fit_window()

    def _fit_window(self) -> None:
        """As tall as the wrapped texts need at the current width (a word-wrapped label's
        plain size hint would clip its second line): exactly before it shows, and only
        ever taller while on screen (the user may have resized it)."""
        layout = self.layout()
        if layout is None:
            return
        layout.activate()
        needed = max(layout.totalHeightForWidth(self.width()), layout.totalMinimumSize().height())
        if not self.isVisible() or self.height() < needed:
            self.resize(self.width(), needed)

    def _show_all_safe(self) -> None:
        self.headline.setText("All your files are backed up")
        self.why.setText("Nothing is waiting: every file has the verified copies it needs.")
        if self._kind is not ReminderKind.LAST_SESSION:  # its text says so itself
            self.summary.setText("")
        self.cleanup.setText("")
        self.target.setText("")
        self._icon.setPixmap(icons.render("state-safe", 48))

    def _update_actions(self) -> None:
        at_risk = not self._all_safe
        ordinary = not self._strong and self._kind not in (None, ReminderKind.LAST_SESSION)
        self._fill_later_menu(ordinary)
        self.later_button.setVisible(at_risk and ordinary)
        self.close_button.setVisible(not (at_risk and ordinary))
        self.end_session_button.setVisible(at_risk)
        self.backup_button.setVisible(at_risk)
        self.backup_button.setEnabled(bool(self._paths))
        self.view.setVisible(at_risk and bool(self._paths))
        self.target.setVisible(at_risk and bool(self.target.text()))
        for button in (self.backup_button, self.end_session_button, self.close_button):
            button.setDefault(False)
        default = self._default_button()
        if default is not None:
            default.setDefault(True)

    def _default_button(self) -> QPushButton | None:
        if self.backup_button.isVisibleTo(self):
            if self._backup_makes_safe and self.backup_button.isEnabled():
                return self.backup_button
            return self.end_session_button
        return self.close_button

    def _fill_later_menu(self, ordinary: bool) -> None:
        menu = self.later_menu
        menu.clear()
        if not ordinary:
            return
        choices = sorted({*SNOOZE_CHOICES, float(self.snooze_default)})
        for seconds in choices:
            action = QAction(f"In {_delay(seconds)}", menu)
            action.setEnabled(self._can_snooze)
            action.triggered.connect(lambda _c=False, s=seconds: self._snooze(s))
            menu.addAction(action)
        menu.addSeparator()
        logout = QAction(f"When I {sign_out_word()}", menu)
        logout.triggered.connect(self._on_until_logout)
        menu.addAction(logout)

    def _snooze(self, seconds: float) -> None:
        self.hide()
        self.snooze_requested.emit(seconds)

    def _on_until_logout(self) -> None:
        self.hide()
        self.snooze_until_logout_requested.emit()

    def _on_end_session_clicked(self) -> None:
        self.hide()
        self.end_session_requested.emit()

    def _on_backup_clicked(self) -> None:
        self.hide()
        self.backup_requested.emit(self.paths())


def _delay(seconds: float) -> str:
    """``15 minutes``, ``1 hour``, ``2 hours`` (a snooze is a round delay)."""
    minutes = round(seconds / 60)
    if minutes % 60 == 0:
        return humanize.count(minutes // 60, "hour")
    return humanize.count(minutes, "minute") if minutes < 60 else humanize.duration(seconds)


def _label() -> QLabel:
    label = QLabel()
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label
