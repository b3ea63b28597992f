"""Wizard page 1, "Your files": this session's files by dataset, with sizes and verdicts.

Thread contract: GUI thread only. When the page is shown it asks a short-lived worker
for ``service.session_files()`` (a catalog query: about 0.2-0.3 s for 10,000 files,
too long for the GUI thread) and for the dataset each file belongs to (folder listings:
:func:`almc_assistant.core.inspect.units_of`); the worker only publishes
:class:`SessionFilesRead` to the
app's sink, which the pump delivers to :meth:`FilesPage.on_files_read`. The list is
filled :data:`ROWS_PER_SLICE` rows at a time with the event loop running in between (the
10,000 files of a session took 51-92 ms in one slot: ``bench_ui_latency.py --trace``).
*Next* is enabled once the list is all there.

While the page is shown, a file listed as still being written that the watcher reports
finished (``FileStabilised``) becomes one to back up, and its check result
(``VerdictRecorded``) fills in its verdict: both arrive through the pump, no polling and
no catalog read on the GUI thread. Once the user has gone on, the list stays as it was
planned (what the preflight checked is what is copied). Such an event that comes while
the list is being filled is applied once it is filled, as if it had come just after.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import partial
from typing import TypeVar

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWizardPage

from almc_assistant.core.catalog import FileRecord, FileState
from almc_assistant.core.errors import AlmcError
from almc_assistant.core.events import Event, EventSink
from almc_assistant.core.inspect.units import DatasetUnit, units_of
from almc_assistant.core.service_events import VerdictRecorded
from almc_assistant.core.watch.events import FileStabilised
from almc_assistant.qt.service_port import ServicePort
from almc_assistant.qt.table_model import Column
from almc_assistant.qt.tree_view import make_tree
from almc_assistant.qt.wizard import dataset_list
from almc_assistant.qt.wizard.state import WizardState

E = TypeVar("E", bound=Event)

FILE_COLUMNS: tuple[Column[dataset_list.Item], ...] = (
    dataset_list.NAME,
    dataset_list.FOLDER,
    dataset_list.FILES,
    dataset_list.SIZE,
    dataset_list.check_column("Check"),
    Column(
        "Why",
        lambda r: dataset_list.reasons(r).replace("\n", " "),
        tooltip=dataset_list.reasons,
    ),
)
CHECK_COLUMN = 4
# Rows written to the list per turn of the event loop: each costs the group model about
# 6-9 us in Python (so a slice 6-9 ms), and the view a layout of the list after each.
ROWS_PER_SLICE = 1000


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionFilesRead(Event):
    """The answer to one request of the files page: the files, or why not."""

    request: int
    files: tuple[FileRecord, ...] = ()
    datasets: Mapping[str, DatasetUnit] = field(default_factory=dict)  # by str(path)
    title: str = ""
    detail: str = ""
    next_step: str = ""


def read_session_files(service: ServicePort, request: int, sink: EventSink) -> threading.Thread:
    """``service.session_files()`` in a worker; the answer is published to ``sink``."""

    def run() -> None:
        try:
            files = tuple(service.session_files())
            found = units_of(f.path for f in files)
            answer = SessionFilesRead(request=request, files=files, datasets=found)
        except AlmcError as err:
            answer = SessionFilesRead(
                request=request, title=err.title, detail=err.detail, next_step=err.next_step
            )
        sink.publish(answer)

    thread = threading.Thread(target=run, name="almc-session-files", daemon=True)
    thread.start()
    return thread


class FilesPage(QWizardPage):
    def __init__(self, service: ServicePort, state: WizardState, sink: EventSink) -> None:
        super().__init__()
        self._service = service
        self._state = state
        self._sink = sink  # the pump's queue: on_files_read must be subscribed to the pump
        self._reader: threading.Thread | None = None
        self._request = 0
        self._loading = False
        self._filling = False  # the answer came: the list is being filled
        self._held: list[Callable[[], None]] = []  # handler(event) that came while filling
        self.setTitle("Your files")
        self.setSubTitle("What you acquired in this session, and what the check found.")
        self.model = dataset_list.RecordsByDataset(state, FILE_COLUMNS, self).model
        self.view = make_tree(
            self.model,
            fit={
                0: "plate1 · Harmony export",
                1: "…/session/plate1",
                2: "999 files",
                3: "999.9 MB",
                4: "Compressed TIFF (lossless)",
            },
        )
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.view, 1)

    def initializePage(self) -> None:
        self._request += 1
        self._loading = True
        self._filling = False
        self._held = []
        self.view.show()  # hidden while an earlier answer was being filled in
        self.summary.setText("Reading this session's files…")
        self.model.replace_all([])
        self._reader = read_session_files(self._service, self._request, self._sink)
        self.completeChanged.emit()

    def on_files_read(self, event: SessionFilesRead) -> None:
        """The worker's answer; an answer to an older request is dropped."""
        if event.request != self._request:
            return
        files = list(event.files)
        if event.title:
            self.model.replace_all(files)
            self.summary.setText(f"<b>{event.title}</b>: {event.detail} {event.next_step}")
            self._filled()
            return
        self._state.files = files
        self._state.datasets = dict(event.datasets)
        self.model.replace_all([])
        self._filling = True
        self.view.hide()  # laid out once, when shown again with all the rows (see _fill)
        self._fill(event.request, files, 0)

    def _fill(self, request: int, files: list[FileRecord], start: int) -> None:
        """Rows ``start`` to ``start + ROWS_PER_SLICE`` of ``files``; the next slice
        after the event loop has run (unless the page was shown again meanwhile).

        The view is hidden meanwhile: a view lays the whole list out after each write
        of rows (one call into the Python model per row: 25-60 ms at 10,000 rows), but
        not while hidden; so it is laid out once, with all the rows."""
        if request != self._request:
            return
        end = start + ROWS_PER_SLICE
        self.model.upsert(files[start:end])
        if end < len(files):
            QTimer.singleShot(0, self, lambda: self._fill(request, files, end))
            return
        self.summary.setText(
            self._state.describe_files() if files else "No files in this session yet."
        )
        self._filled()

    def _filled(self) -> None:
        self._loading = self._filling = False
        self.view.show()
        held, self._held = self._held, []
        for handle in held:
            handle()
        self.completeChanged.emit()

    def _hold(self, handler: Callable[[E], None], event: E) -> bool:
        """Keep ``event`` for when the list is filled, if it is being filled."""
        if self._filling:
            self._held.append(partial(handler, event))
        return self._filling

    def _shown(self) -> bool:
        wizard = self.wizard()
        return wizard is not None and wizard.currentPage() is self and not self._loading

    def _update(self, row: FileRecord) -> None:
        self.model.upsert([row])
        key = str(row.path)
        self._state.files = [row if str(f.path) == key else f for f in self._state.files]
        self.summary.setText(self._state.describe_files())

    def on_file_stabilised(self, event: FileStabilised) -> None:
        """The watcher says a file finished (``FileStabilised``): listed as still being
        written, it becomes one to back up (its check follows)."""
        if self._hold(self.on_file_stabilised, event):
            return
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

    def on_verdict_recorded(self, event: VerdictRecorded) -> None:
        """The check of a finished file (``VerdictRecorded``)."""
        if self._hold(self.on_verdict_recorded, event):
            return
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
