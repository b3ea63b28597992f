"""Pre-deletion warnings: what is at risk and from when, with a one-click backup.

Thread contract: GUI thread only; no I/O. The controller feeds it the core's
``SafetyWarning`` list (summaries: cleanup due or soon, disk nearly full, files lost)
and the status report's unsafe files (``UnsafeFile``: path, size, cleanup date, why not
safe). "Back up now" emits ``backup_requested`` with the unsafe files' paths.
"""

from __future__ import annotations

import html
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from almc_assistant.core.status import UnsafeFile
from almc_assistant.core.units import human_size
from almc_assistant.core.warnings import SafetyWarning
from almc_assistant.qt import humanize, icons
from almc_assistant.qt.icons import Badge
from almc_assistant.qt.keys import close_on_escape
from almc_assistant.qt.table_model import Column, SnapshotTableModel
from almc_assistant.qt.table_view import make_table

DAY = 86400.0
_SEVERITY_MARK = {"critical": "⛔", "warning": "⚠", "info": "ℹ"}


@dataclass(frozen=True, slots=True)
class AtRiskRow:
    path: Path
    size: int
    deletable_from: float  # when cleanup may delete it
    missing: str  # why it is not safe yet
    now: float

    @property
    def days_left(self) -> float:
        return (self.deletable_from - self.now) / DAY


def when(row: AtRiskRow) -> str:
    return humanize.cleanup_date(row.deletable_from, row.now)


AT_RISK_COLUMNS: tuple[Column[AtRiskRow], ...] = (
    Column(
        "File",
        lambda r: r.path.name,
        icon=lambda r: icons.badge_icon(Badge.BAD if r.days_left <= 2 else Badge.NOTE),
        tooltip=lambda r: str(r.path),
    ),
    Column("Size", lambda r: human_size(r.size), sort_key=lambda r: r.size, align_right=True),
    Column("May be deleted from", when, sort_key=lambda r: r.deletable_from),
    Column("Why it is not safe", lambda r: r.missing, tooltip=lambda r: r.missing),
)


def warnings_html(warnings: Sequence[SafetyWarning]) -> str:
    parts = []
    for w in warnings:
        mark = _SEVERITY_MARK.get(str(w.severity), "⚠")
        parts.append(
            f"<p>{mark} <b>{html.escape(w.title)}</b><br>{html.escape(w.detail)} "
            f"<i>{html.escape(w.next_step)}</i></p>"
        )
    return "".join(parts) or "<p>✓ Nothing is at risk: all your files are backed up.</p>"


class DeletionWarningWindow(QWidget):
    backup_requested = Signal(object)  # list[Path]

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("almc-assistant — Files at risk")
        self.setWindowIcon(icons.state_icon(icons.State.AT_RISK))
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.model: SnapshotTableModel[AtRiskRow] = SnapshotTableModel(
            AT_RISK_COLUMNS, key=lambda r: str(r.path), parent=self
        )
        self.view = make_table(
            self.model,
            fit={0: "HeLa_DAPI_GFP_000.tif", 1: "999.9 MB", 2: "Wed 23 Dec 2026 (in 30 days)"},
        )
        self.view.sortByColumn(2, Qt.SortOrder.AscendingOrder)
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
        layout.addWidget(self.summary)
        layout.addWidget(self.view, 1)
        layout.addLayout(buttons)
        close_on_escape(self)
        self.resize(800, 440)

    def set_report(
        self,
        warnings: Sequence[SafetyWarning],
        files: Sequence[UnsafeFile],
        *,
        now: float | None = None,
    ) -> None:
        """``warnings``: ``SafetyWarning``s; ``files``: the status report's ``UnsafeFile``s."""
        now = time.time() if now is None else now
        rows = [
            AtRiskRow(
                path=Path(f.path),
                size=f.size,
                deletable_from=f.candidate_date,
                missing=f.missing,
                now=now,
            )
            for f in files
        ]
        self.model.replace_all(rows)
        text = warnings_html(warnings)
        if not warnings and rows:
            first = min(rows, key=lambda r: r.deletable_from)
            size = human_size(sum(r.size for r in rows))
            text = (
                f"<p>{humanize.count(len(rows), 'file')} ({size}) not backed up yet; none "
                f"is close to cleanup. The first may be deleted from {when(first)}.</p>"
            )
        self.summary.setText(text)
        self.backup_button.setEnabled(bool(rows))

    def headline(self) -> str:
        return self.summary.text()

    def paths(self) -> list[Path]:
        return [r.path for r in self.model.rows()]

    def _on_backup_clicked(self) -> None:
        self.backup_requested.emit(self.paths())
