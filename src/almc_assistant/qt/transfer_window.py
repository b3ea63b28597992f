"""The transfer window: drop files or folders, see their checks, copy them, verified.

Thread contract: GUI thread only. Slots never touch files. The window is composed of two
parts, each with one responsibility: the file list (``transfer_files.FileList``: a drop
calls ``service.check(paths)``, the results arrive as events through the pump, files of
a dataset under one expandable row) and the copy queue (``transfer_jobs.CopyQueue``:
"Back up" queues a job, started one at a time with ``service.start_copy`` as the
previous one finishes, following its copy events). This module holds the layout, the
input (drops, pickers, keys) and the buttons' state.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QItemSelection, QMimeData, Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from almc_assistant.core.destinations import Destination
from almc_assistant.core.errors import AlmcError
from almc_assistant.core.inspect.events import FileChecked
from almc_assistant.core.service_events import CheckFailed, CheckReportReady
from almc_assistant.core.service_process import EngineStopped
from almc_assistant.core.transfer.events import (
    CopyFailed,
    CopySkipped,
    CopyVerified,
    DestinationRefused,
    JobFinished,
    JobProgressed,
    JobStarted,
)
from almc_assistant.qt import humanize, icons
from almc_assistant.qt.bridge import EventPump
from almc_assistant.qt.destination_picker import DestinationPicker
from almc_assistant.qt.progress_delegate import ProgressDelegate
from almc_assistant.qt.prompts import Level, Message, Prompter
from almc_assistant.qt.service_port import ServicePort
from almc_assistant.qt.table_view import make_table
from almc_assistant.qt.transfer_columns import STATUS_COLUMN
from almc_assistant.qt.transfer_files import ROWS_PER_FLUSH, FileList, is_ready
from almc_assistant.qt.transfer_jobs import CopyQueue
from almc_assistant.qt.transfer_rows import FileRow, JobRow, JobState
from almc_assistant.qt.tree_view import make_tree

__all__ = ["ROWS_PER_FLUSH", "TransferWindow", "local_paths"]

log = logging.getLogger(__name__)


def local_paths(mime: QMimeData) -> list[str]:
    """Local files and folders in a drag (URLs of other schemes are ignored)."""
    if not mime.hasUrls():
        return []
    return [u.toLocalFile() for u in mime.urls() if u.isLocalFile() and u.toLocalFile()]


class TransferWindow(QWidget):
    """Emits ``jobs_changed`` (the job rows) whenever a job's state changes."""

    jobs_changed = Signal(object)
    copy_started = Signal(object)  # the service's job handle (pause/resume/cancel)

    def __init__(
        self,
        service: ServicePort,
        prompter: Prompter,
        make_destination: Callable[[Path], Destination],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._service = service
        self._prompter = prompter
        self.setWindowTitle("almc-assistant — Transfer")
        self.setWindowIcon(icons.app_icon())
        self.setAcceptDrops(True)

        self.file_list = FileList(service, self)
        self.file_list.changed.connect(self._update_buttons)
        self.file_list.failed.connect(self._tell)
        self.copies = CopyQueue(service, prompter, self.file_list, self)
        self.copies.jobs_changed.connect(self._on_copies_jobs_changed)
        self.copies.copy_started.connect(self.copy_started)
        self.files = self.file_list.model
        self.jobs = self.copies.model
        self.picker = DestinationPicker(prompter, make_destination)
        self.picker.selection_changed.connect(self._on_picker_selection_changed)
        self._build()
        self.reload_destinations()
        self._update_buttons()

    # The two calls other windows make (the controller's "check files", a reminder's
    # "Back up now").
    def add_paths(self, paths: Sequence[str]) -> None:
        self.file_list.add_paths(paths)

    def queue_copy(
        self, sources: Sequence[str], destinations: Sequence[Destination]
    ) -> JobRow | None:
        return self.copies.queue_copy(sources, destinations)

    def _build(self) -> None:
        drop = QFrame()
        drop.setObjectName("dropArea")
        drop.setFrameShape(QFrame.Shape.StyledPanel)
        drop.setStyleSheet("#dropArea { border: 2px dashed palette(mid); border-radius: 8px; }")
        hint = QLabel(
            "<b>Drop files or folders here</b><br>They are checked first, then copied to "
            "the destinations you choose and verified byte for byte."
        )
        hint.setWordWrap(True)
        self.add_files_button = QPushButton("Add &files…")
        self.add_files_button.clicked.connect(self._on_add_files_clicked)
        self.add_folder_button = QPushButton("Add f&older…")
        self.add_folder_button.clicked.connect(self._on_add_folder_clicked)
        drop_layout = QHBoxLayout(drop)
        drop_layout.addWidget(hint, 1)
        drop_layout.addWidget(self.add_files_button)
        drop_layout.addWidget(self.add_folder_button)

        # The name takes what the others leave; in a narrow view the other columns give
        # way too, the status last, so the status stays in view at any window width (a
        # text longer than its column is elided, whole in its tooltip).
        self.file_view = make_tree(
            self.files,
            fit={
                1: "…/plate1",
                2: "99 files",
                3: "999.9 MB",
                4: "Compressed TIFF (lossless)",
                STATUS_COLUMN: "Copied and verified",
            },
            stretch=0,
            keep=(STATUS_COLUMN,),
        )
        self.file_view.selectionModel().selectionChanged.connect(self._on_file_selection_changed)
        self.file_details = QLabel()
        self.file_details.setWordWrap(True)
        self.file_details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.remove_button = QPushButton("&Remove from list")
        self.remove_button.clicked.connect(self._on_remove_clicked)
        QShortcut(QKeySequence.StandardKey.Delete, self.file_view, self._on_remove_clicked)
        clear = QShortcut(QKeySequence(Qt.Key.Key_Escape), self.file_view)
        clear.setContext(Qt.ShortcutContext.WidgetShortcut)
        clear.activated.connect(self.file_view.clearSelection)
        files_box = QGroupBox("Files")
        files_layout = QVBoxLayout(files_box)
        files_layout.addWidget(self.file_view, 1)
        files_layout.addWidget(self.file_details)
        row = QHBoxLayout()
        row.addWidget(self.remove_button)
        row.addStretch(1)
        files_layout.addLayout(row)

        dest_box = QGroupBox("Copy to")
        dest_layout = QVBoxLayout(dest_box)
        dest_layout.addWidget(self.picker)
        self.copy_button = QPushButton("&Back up")
        self.copy_button.setDefault(True)
        self.copy_button.clicked.connect(self._on_copy_clicked)
        dest_layout.addWidget(self.copy_button)
        self.scope_label = QLabel()
        self.scope_label.setWordWrap(True)
        self.scope_label.hide()
        dest_layout.addWidget(self.scope_label)

        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(files_box)
        top.addWidget(dest_box)
        top.setStretchFactor(0, 3)
        top.setStretchFactor(1, 1)
        top.setSizes([800, 300])

        self.job_view = make_table(
            self.jobs,
            sort=False,
            fit={0: "#99: 999 items → LabShare, USB", 2: "999 MB/s", 3: "less than a minute"},
        )
        self.job_view.setItemDelegateForColumn(1, ProgressDelegate(self.job_view))
        self.job_view.setColumnWidth(1, 220)
        self.job_view.selectionModel().selectionChanged.connect(self._update_buttons)
        self.pause_button = QPushButton("&Pause")
        self.pause_button.clicked.connect(self._on_pause_clicked)
        self.cancel_button = QPushButton("&Cancel copy")
        self.cancel_button.clicked.connect(self._on_cancel_clicked)
        jobs_box = QGroupBox("Copies")
        jobs_layout = QVBoxLayout(jobs_box)
        jobs_layout.addWidget(self.job_view, 1)
        job_buttons = QHBoxLayout()
        job_buttons.addStretch(1)
        job_buttons.addWidget(self.pause_button)
        job_buttons.addWidget(self.cancel_button)
        jobs_layout.addLayout(job_buttons)

        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(top)
        split.addWidget(jobs_box)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(drop)
        layout.addWidget(split, 1)
        QShortcut(QKeySequence.StandardKey.Close, self, self.close)
        self.resize(1180, 660)  # every column of the file list in view (test_transfer_window)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if local_paths(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if local_paths(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = local_paths(event.mimeData())
        if paths:
            event.acceptProposedAction()
            self.add_paths(paths)

    def _on_add_files_clicked(self) -> None:
        self.add_paths(self._prompter.choose_files("Choose files to back up"))

    def _on_add_folder_clicked(self) -> None:
        folder = self._prompter.choose_folder("Choose a folder to back up")
        if folder:
            self.add_paths([folder])

    def reload_destinations(self) -> None:
        try:
            destinations = list(self._service.destinations())
        except AlmcError as err:
            self._tell(err)
            destinations = []
        self.picker.set_destinations(destinations)

    def _checked_roots(self) -> list[str]:
        """What "Back up" copies: the selected checked files, or else every dropped item
        with a checked file."""
        return self._backup_scope()[0]

    def _backup_scope(self) -> tuple[list[str], int, bool]:
        """What "Back up" copies, how many files that is, and whether it is the selection
        only (a selected dataset stands for all its files)."""
        selected = self._selected_file_rows()
        if not selected:
            roots, files = self.file_list.backup_all()
            return roots, files, False
        ready = [r.path for r in selected if is_ready(r)]
        return ready, len(ready), True

    def _selected_file_rows(self) -> list[FileRow]:
        """The rows selected: a dataset's row stands for all its files."""
        keys: dict[str, None] = {}
        for index in self.file_view.selectionModel().selectedRows():
            keys.update(dict.fromkeys(str(k) for k in self.files.keys_at(index)))
        rows = (self.files.row_of(k) for k in keys)
        return [r for r in rows if r is not None]

    def _on_copy_clicked(self) -> None:
        self.queue_copy(self._checked_roots(), self.picker.selected())

    def connect_pump(self, pump: EventPump) -> None:
        """Follow the core's check and copy events (delivered on the GUI thread)."""
        files, copies = self.file_list, self.copies
        files.sink = pump.sink
        files.batching = True
        pump.batch_arrived.connect(files.on_pump_batch_arrived)
        pump.subscribe(FileChecked, files.on_file_checked)
        pump.subscribe(CheckReportReady, files.on_check_report_ready)
        pump.subscribe(CheckFailed, files.on_check_failed_event)
        pump.subscribe(JobStarted, copies.on_job_started)
        pump.subscribe(JobProgressed, copies.on_job_progressed)
        pump.subscribe(CopyVerified, copies.on_copy_verified)
        pump.subscribe(CopySkipped, copies.on_copy_skipped)
        pump.subscribe(CopyFailed, copies.on_copy_failed)
        pump.subscribe(DestinationRefused, copies.on_destination_refused)
        pump.subscribe(JobFinished, copies.on_job_finished)
        pump.subscribe(EngineStopped, copies.on_engine_stopped)
        pump.subscribe(EngineStopped, files.on_engine_stopped)

    def _on_remove_clicked(self) -> None:
        self.file_list.remove(self._selected_file_rows())

    def _on_copies_jobs_changed(self, rows: tuple[JobRow, ...]) -> None:
        self._update_buttons()
        self.jobs_changed.emit(rows)

    def _selected_job(self) -> JobRow | None:
        rows = self.job_view.selectionModel().selectedRows()
        if rows:
            return self.jobs.rows()[rows[0].row()]
        running = [r for r in self.jobs.rows() if r.running]
        return running[0] if running else None

    def _on_pause_clicked(self) -> None:
        self.copies.toggle_pause(self._selected_job())

    def _on_cancel_clicked(self) -> None:
        self.copies.cancel(self._selected_job())

    def _on_picker_selection_changed(self, _selected: list[Destination]) -> None:
        self._update_buttons()

    def _on_file_selection_changed(self, _sel: QItemSelection, _desel: QItemSelection) -> None:
        indexes = self.file_view.selectionModel().selectedRows()
        item = self.files.item(indexes[0]) if len(indexes) == 1 else None
        problem = item.problem if isinstance(item, FileRow) else ""  # a dataset's: none
        if item is not None and (item.reasons or problem):
            text = " ".join(item.reasons)
            if item.next_step:
                text += f"<br><b>What to do:</b> {item.next_step}"
            if problem:
                text += f"<br><b>Problem:</b> {problem}"
            self.file_details.setText(f"<b>{item.name}</b>: {text}")
        else:
            self.file_details.clear()
        self._update_buttons()

    def _update_buttons(self, *_args: object) -> None:
        roots, files, selection = self._backup_scope()
        destinations = self.picker.selected()  # (a few hundred microseconds per 1,000 rows)
        self.copy_button.setEnabled(bool(roots and destinations))
        where = humanize.count(len(destinations), "destination")
        if roots and destinations and selection:
            self.copy_button.setText(
                f"&Back up {humanize.count(files, 'selected file')} to {where}"
            )
        elif roots and destinations:
            every = "all " if files > 1 else ""
            self.copy_button.setText(f"&Back up {every}{humanize.count(files, 'file')} to {where}")
        else:
            self.copy_button.setText("&Back up")
        self.scope_label.setVisible(selection and bool(roots))
        if selection and roots:
            self.scope_label.setText(
                "Only the selected files are copied. To back up everything listed, clear "
                "the selection (Esc in the list)."
            )
        self.remove_button.setEnabled(bool(self._selected_file_rows()))
        job = self._selected_job()
        pausable = (JobState.RUNNING, JobState.PAUSED, JobState.STARTING)
        self.pause_button.setEnabled(job is not None and job.state in pausable)
        paused = job is not None and job.state is JobState.PAUSED
        self.pause_button.setText("&Resume" if paused else "&Pause")
        cancellable = job is not None and (job.running or job.state is JobState.QUEUED)
        self.cancel_button.setEnabled(cancellable)

    def _tell(self, err: AlmcError) -> None:
        self._prompter.tell(
            Message(err.title, err.detail, err.next_step, Level.ERROR, tuple(err.paths))
        )
