"""Wizard page 1, "Your files": this session's files with sizes and verdict badges.

Thread contract: GUI thread only. When the page is shown it asks a short-lived worker
for ``service.session_files()`` (a catalog query: about 0.2-0.3 s for 10,000 files,
too long for the GUI thread); the worker only publishes :class:`SessionFilesRead` to the
app's sink, which the pump delivers to :meth:`FilesPage.on_files_read`. *Next* is
enabled once the list is there.

While the page is shown, a file listed as still being written that the watcher reports
finished (``FileStabilised``) becomes one to back up, and its check result
(``VerdictRecorded``) fills in its verdict: both arrive through the pump, no polling and
no catalog read on the GUI thread. Once the user has gone on, the list stays as it was
planned (what the preflight checked is what is copied).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from typing import Any

from PySide6.QtWidgets import QLabel, QVBoxLayout, QWizardPage

from almc_assistant.core.catalog import FileState
from almc_assistant.core.errors import AlmcError
from almc_assistant.core.events import Event, EventSink
from almc_assistant.core.units import human_size
from almc_assistant.qt import icons, verdicts
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
            "Still being written by the acquisition software: not in this backup. It is "
            "added here once it has been quiet for a while; if acquisition goes on, back "
            "it up in a later session once it has finished.",
        )
    return "\n".join(reasons)


FILE_COLUMNS: tuple[Column[Any], ...] = (
    Column("File", lambda r: r.path.name, tooltip=lambda r: str(r.path)),
    Column("Size", lambda r: human_size(r.size), sort_key=lambda r: r.size, align_right=True),
    Column(
        "Check",
        lambda r: _look(r).label,
        icon=lambda r: icons.badge_icon(_look(r).badge),
        tooltip=_reasons,
    ),
    Column("Why", lambda r: _reasons(r).replace("\n", " "), tooltip=_reasons),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionFilesRead(Event):
    """The answer to one request of the files page: the files, or why not."""

    request: int
    files: tuple[Any, ...] = ()
    title: str = ""
    detail: str = ""
    next_step: str = ""


def read_session_files(service: Any, request: int, sink: EventSink) -> threading.Thread:
    """``service.session_files()`` in a worker; the answer is published to ``sink``."""

    def run() -> None:
        try:
            answer = SessionFilesRead(request=request, files=tuple(service.session_files()))
        except AlmcError as err:
            answer = SessionFilesRead(
                request=request, title=err.title, detail=err.detail, next_step=err.next_step
            )
        sink.publish(answer)

    thread = threading.Thread(target=run, name="almc-session-files", daemon=True)
    thread.start()
    return thread


class FilesPage(QWizardPage):
    def __init__(self, service: Any, state: WizardState, sink: EventSink) -> None:
        super().__init__()
        self._service = service
        self._state = state
        self._sink = sink  # the pump's queue: on_files_read must be subscribed to the pump
        self._reader: threading.Thread | None = None
        self._request = 0
        self._loading = False
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
        self._request += 1
        self._loading = True
        self.summary.setText("Reading this session's files…")
        self.model.replace_all([])
        self._reader = read_session_files(self._service, self._request, self._sink)
        self.completeChanged.emit()

    def on_files_read(self, event: SessionFilesRead) -> None:
        """The worker's answer; an answer to an older request is dropped."""
        if event.request != self._request:
            return
        self._loading = False
        files = list(event.files)
        if event.title:
            self.summary.setText(f"<b>{event.title}</b>: {event.detail} {event.next_step}")
        else:
            self._state.files = files
            self.summary.setText(
                self._state.describe_files() if files else "No files in this session yet."
            )
        self.model.replace_all(files)
        self.completeChanged.emit()

    def _shown(self) -> bool:
        wizard = self.wizard()
        return wizard is not None and wizard.currentPage() is self and not self._loading

    def _update(self, row: Any) -> None:
        self.model.upsert([row])
        key = str(row.path)
        self._state.files = [row if str(f.path) == key else f for f in self._state.files]
        self.summary.setText(self._state.describe_files())

    def on_file_stabilised(self, event: Any) -> None:
        """The watcher says a file finished (``FileStabilised``): listed as still being
        written, it becomes one to back up (its check follows)."""
        row = self.model.row_of(str(event.path)) if self._shown() else None
        if row is None or str(row.state) != FileState.ACQUIRING:
            return
        self._update(
            replace(
                row,
                state=FileState.COMPLETE,
                size=event.size,
                mtime_ns=event.mtime_ns,
                verdict=None,
                verdict_reasons=(),
            )
        )

    def on_verdict_recorded(self, event: Any) -> None:
        """The check of a finished file (``VerdictRecorded``)."""
        row = self.model.row_of(str(event.path)) if self._shown() else None
        if row is None or str(row.state) != FileState.COMPLETE:
            return
        self._update(replace(row, verdict=event.verdict, verdict_reasons=tuple(event.reasons)))

    @property
    def loading(self) -> bool:
        return self._loading

    def isComplete(self) -> bool:
        return not self._loading

    def wait_for_reader(self, timeout: float = 10.0) -> None:
        """Join the worker (shut-down and tests)."""
        if self._reader is not None:
            self._reader.join(timeout)
