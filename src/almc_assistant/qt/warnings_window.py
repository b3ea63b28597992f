"""Pre-deletion warnings: which unsafe files cleanup may delete, and when; one-click backup.

Thread contract: GUI thread only; no I/O. The controller feeds it the user's unsafe
files (``FileRecord``) and the facility's retention rules; "Back up now" emits
``backup_requested`` with their paths.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from almc_assistant.core.policy import Retention
from almc_assistant.qt import humanize, icons
from almc_assistant.qt.icons import Badge
from almc_assistant.qt.table_model import Column, SnapshotTableModel
from almc_assistant.qt.table_view import make_table

DAY = 86400.0


@dataclass(frozen=True, slots=True)
class AtRiskRow:
    path: Path
    size: int
    first_seen: float
    deletable_from: float  # when cleanup may delete it
    now: float

    @property
    def days_left(self) -> float:
        return (self.deletable_from - self.now) / DAY


def _when(row: AtRiskRow) -> str:
    if row.days_left <= 0:
        return "now"
    if row.days_left < 1:
        return "today"
    days = humanize.count(round(row.days_left), "day")
    return f"{humanize.date(row.deletable_from)} (in {days})"


AT_RISK_COLUMNS: tuple[Column[AtRiskRow], ...] = (
    Column(
        "File",
        lambda r: r.path.name,
        icon=lambda r: icons.badge_icon(Badge.BAD if r.days_left <= 2 else Badge.NOTE),
        tooltip=lambda r: str(r.path),
    ),
    Column("Size", lambda r: humanize.size(r.size), sort_key=lambda r: r.size, align_right=True),
    Column("Acquired", lambda r: humanize.date(r.first_seen), sort_key=lambda r: r.first_seen),
    Column("May be deleted from", _when, sort_key=lambda r: r.deletable_from),
)


class DeletionWarningWindow(QWidget):
    backup_requested = Signal(object)  # list[Path]

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("almc-assistant — Files at risk")
        self.setWindowIcon(icons.state_icon(icons.State.AT_RISK))
        self.headline = QLabel()
        self.headline.setWordWrap(True)
        font = self.headline.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.2)
        self.headline.setFont(font)
        self.explanation = QLabel()
        self.explanation.setWordWrap(True)
        self.model: SnapshotTableModel[AtRiskRow] = SnapshotTableModel(
            AT_RISK_COLUMNS, key=lambda r: str(r.path), parent=self
        )
        self.view = make_table(self.model, stretch_first=True)
        self.view.sortByColumn(3, Qt.SortOrder.AscendingOrder)
        self.backup_button = QPushButton("&Back up now")
        self.backup_button.setDefault(True)
        self.backup_button.clicked.connect(self._on_backup_clicked)
        self.later_button = QPushButton("Remind me &later")
        self.later_button.clicked.connect(self.close)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.later_button)
        buttons.addWidget(self.backup_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.headline)
        layout.addWidget(self.explanation)
        layout.addWidget(self.view, 1)
        layout.addLayout(buttons)
        QShortcut(QKeySequence.StandardKey.Close, self, self.close)
        self.resize(760, 420)

    def set_at_risk(
        self,
        records: Sequence[Any],
        retention: Retention,
        *,
        disk_full: bool = False,
        now: float | None = None,
    ) -> None:
        """``records``: this user's unsafe files (``FileRecord``: path, size, born, ...)."""
        now = time.time() if now is None else now
        rows = [
            AtRiskRow(
                path=Path(r.path),
                size=r.size,
                first_seen=r.first_seen,
                deletable_from=retention.candidate_date(r.born, disk_full=disk_full, now=now),
                now=now,
            )
            for r in records
        ]
        self.model.replace_all(rows)
        self.view.resizeColumnsToContents()
        total = sum(r.size for r in rows)
        if not rows:
            self.headline.setText("Nothing is at risk: all your files are backed up.")
            self.explanation.clear()
        else:
            soonest = min(rows, key=lambda r: r.deletable_from)
            self.headline.setText(
                f"{humanize.count(len(rows), 'file')} ({humanize.size(total)}) are not backed "
                f"up and may be deleted from this computer from {_when(soonest)}."
            )
            self.explanation.setText(
                "The disk is nearly full, so the facility's cleanup may remove files now. "
                if disk_full
                else f"The facility's cleanup removes files older than "
                f"{retention.settings.max_age_days:g} days from the acquisition computers. "
            )
            self.explanation.setText(self.explanation.text() + "Back them up now to keep them.")
        self.backup_button.setEnabled(bool(rows))

    def paths(self) -> list[Path]:
        return [r.path for r in self.model.rows()]

    def _on_backup_clicked(self) -> None:
        self.backup_requested.emit(self.paths())
