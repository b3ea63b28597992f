"""Wizard page 1, "Your files": this session's files with sizes and verdict badges.

Thread contract: GUI thread only. Reads ``service.session_files()`` (a catalog query
that answers at once) when the page is shown.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QLabel, QVBoxLayout, QWizardPage

from almc_assistant.core.errors import AlmcError
from almc_assistant.qt import humanize, icons, verdicts
from almc_assistant.qt.table_model import Column, SnapshotTableModel
from almc_assistant.qt.table_view import make_table
from almc_assistant.qt.wizard.state import WizardState


def _look(record: Any) -> verdicts.VerdictLook:
    return verdicts.look(record.verdict, state=str(record.state))


def _reasons(record: Any) -> str:
    reasons = list(getattr(record, "verdict_reasons", ()) or ())
    if str(record.state) == "acquiring":
        reasons.insert(
            0,
            "Still being written by the acquisition software: it is backed "
            "up once it has been quiet for a while.",
        )
    return "\n".join(reasons)


FILE_COLUMNS: tuple[Column[Any], ...] = (
    Column("File", lambda r: r.path.name, tooltip=lambda r: str(r.path)),
    Column("Size", lambda r: humanize.size(r.size), sort_key=lambda r: r.size, align_right=True),
    Column(
        "Check",
        lambda r: _look(r).label,
        icon=lambda r: icons.badge_icon(_look(r).badge),
        tooltip=_reasons,
    ),
    Column("Why", lambda r: _reasons(r).replace("\n", " "), tooltip=_reasons),
)


class FilesPage(QWizardPage):
    def __init__(self, service: Any, state: WizardState) -> None:
        super().__init__()
        self._service = service
        self._state = state
        self.setTitle("Your files")
        self.setSubTitle("What you acquired in this session, and what the check found.")
        self.model: SnapshotTableModel[Any] = SnapshotTableModel(
            FILE_COLUMNS, key=lambda r: str(r.path), parent=self
        )
        self.view = make_table(
            self.model,
            fit={0: "HeLa_DAPI_GFP_000.tif", 1: "999.9 MB", 2: "Compressed TIFF (lossless)"},
        )
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.view, 1)

    def initializePage(self) -> None:
        try:
            files = list(self._service.session_files())
        except AlmcError as err:
            files = []
            self.summary.setText(f"<b>{err.title}</b>: {err.detail} {err.next_step}")
        else:
            self._state.files = files
            self.summary.setText(
                self._state.describe_files() if files else "No files in this session yet."
            )
        self.model.replace_all(files)
