"""The transfer window: drop files or folders, see their checks, copy them, verified.

Thread contract: GUI thread only. Slots never touch files: a drop calls
``service.check(paths)`` and the results arrive as events through the pump
(``transfer_checks.CheckResults``); "Back up" queues a job, and the window starts queued
jobs one at a time with ``service.start_copy`` as the previous one finishes, following
its copy events (``transfer_jobs.CopyJobs``). This module holds the layout, the input
(drops, pickers, keys) and the buttons' state.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QItemSelection, Qt, QTimer, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QKeySequence, QShortcut
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

from almc_assistant.core.errors import AlmcError
from almc_assistant.core.events import EventSink
from almc_assistant.core.inspect.events import FileChecked
from almc_assistant.core.transfer.events import (
    CopyFailed,
    CopySkipped,
    CopyVerified,
    DestinationRefused,
    JobFinished,
    JobProgressed,
    JobStarted,
)
from almc_assistant.qt import background, humanize, icons
from almc_assistant.qt.bridge import EventPump
from almc_assistant.qt.destination_picker import DestinationPicker
from almc_assistant.qt.progress_delegate import ProgressDelegate
from almc_assistant.qt.prompts import Level, Message, Prompter
from almc_assistant.qt.table_model import SnapshotTableModel
from almc_assistant.qt.table_view import make_table
from almc_assistant.qt.transfer_checks import ROWS_PER_FLUSH, CheckResults, is_ready
from almc_assistant.qt.transfer_columns import FILE_COLUMNS, JOB_COLUMNS
from almc_assistant.qt.transfer_jobs import CopyJobs
from almc_assistant.qt.transfer_rows import FileRow, JobState, RowState

__all__ = ["ROWS_PER_FLUSH", "TransferWindow", "local_paths"]

log = logging.getLogger(__name__)


def local_paths(mime: Any) -> list[str]:
    """Local files and folders in a drag (URLs of other schemes are ignored)."""
    if not mime.hasUrls():
        return []
    return [u.toLocalFile() for u in mime.urls() if u.isLocalFile() and u.toLocalFile()]


class TransferWindow(CheckResults, CopyJobs):
    """Emits ``jobs_changed`` (the job rows) whenever a job's state changes."""

    jobs_changed = Signal(object)
    copy_started = Signal(object)  # the service's job handle (pause/resume/cancel)

    def __init__(
        self,
        service: Any,
        prompter: Prompter,
        make_destination: Callable[[Path], Any],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._service = service
        self._prompter = prompter
        self._jobs_started: dict[int, Any] = {}  # key -> the service's job handle
        self._job_keys: dict[str, int] = {}  # engine job id -> key
        self._destinations_of: dict[int, list[Any]] = {}  # queued job key -> destinations
        self._roots: list[str] = []  # what was dropped or picked, in order
        self._sink: EventSink | None = None  # the pump's queue, for check results
        # Rows changed by events are staged and written to the model once per pump
        # batch (thousands of files must not cost thousands of model updates).
        self._staged: dict[str, FileRow] = {}
        self._batching = False
        self._last_flush = float("-inf")  # time.monotonic() of the last write
        self._flush_timer = QTimer(self)  # a write held back by FLUSH_INTERVAL_S
        self._flush_timer.setSingleShot(True)
        self._flush_timer.timeout.connect(self.flush)
        self._ready_roots: list[str] | None = None
        self._ready_files = 0  # checked files under _ready_roots
        self._next_key = 1
        self.setWindowTitle("almc-assistant — Transfer")
        self.setWindowIcon(icons.app_icon())
        self.setAcceptDrops(True)

        self.files = SnapshotTableModel(FILE_COLUMNS, key=lambda r: r.path, parent=self)
        self.jobs = SnapshotTableModel(JOB_COLUMNS, key=lambda r: r.key, parent=self)
        self.picker = DestinationPicker(prompter, make_destination)
        self.picker.selection_changed.connect(self._on_picker_selection_changed)
        self._build()
        self.reload_destinations()
        self._update_buttons()

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

        self.file_view = make_table(
            self.files,
            sort=True,
            fit={0: "HeLa_DAPI_GFP_000.tif", 1: "999.9 MB", 2: "Compressed TIFF (lossless)"},
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
        top.setStretchFactor(1, 2)
        top.setSizes([700, 340])

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
        self.resize(1060, 660)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if local_paths(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: Any) -> None:
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
        only. Without a selection: every dropped item with a checked file (kept between
        changes that may alter it: with 10,000 rows it is not recomputed at every progress
        update)."""
        selected = self._selected_file_rows()
        if not selected and self._ready_roots is not None:
            return list(self._ready_roots), self._ready_files, False
        roots: list[str] = []
        seen: set[str] = set()
        files = 0
        for r in selected or self.files.rows():
            if not is_ready(r):
                continue
            files += 1
            target = r.path if selected else (r.root or r.path)
            if target not in seen:
                seen.add(target)
                roots.append(target)
        if not selected:
            self._ready_roots, self._ready_files = roots, files
        return list(roots), files, bool(selected)

    def _selected_file_rows(self) -> list[FileRow]:
        proxy = self.file_view.model()
        rows = self.files.rows()
        out = []
        for index in self.file_view.selectionModel().selectedRows():
            source = proxy.mapToSource(index)  # type: ignore[attr-defined]
            out.append(rows[source.row()])
        return out

    def _on_copy_clicked(self) -> None:
        self.queue_copy(self._checked_roots(), self.picker.selected())

    def connect_pump(self, pump: EventPump) -> None:
        """Follow the core's check and copy events (delivered on the GUI thread)."""
        self._sink = pump.sink
        self._batching = True
        pump.batch_arrived.connect(self._on_pump_batch_arrived)
        pump.subscribe(FileChecked, self.on_file_checked)
        pump.subscribe(background.CheckCompleted, self._on_check_completed)
        pump.subscribe(JobStarted, self.on_job_started)
        pump.subscribe(JobProgressed, self.on_job_progressed)
        pump.subscribe(CopyVerified, self.on_copy_verified)
        pump.subscribe(CopySkipped, self.on_copy_skipped)
        pump.subscribe(CopyFailed, self.on_copy_failed)
        pump.subscribe(DestinationRefused, self.on_destination_refused)
        pump.subscribe(JobFinished, self.on_job_finished)

    def _on_remove_clicked(self) -> None:
        busy = {RowState.QUEUED, RowState.COPYING}
        self._ready_roots = None
        self.files.remove(r.path for r in self._selected_file_rows() if r.state not in busy)
        kept = {r.root for r in self.files.rows()}
        self._roots = [r for r in self._roots if r in kept]
        self._ready_roots = None  # the view's selection changed while rows went away
        self._update_buttons()

    def _on_picker_selection_changed(self, _selected: Any) -> None:
        self._update_buttons()

    def _on_file_selection_changed(self, _sel: QItemSelection, _desel: QItemSelection) -> None:
        rows = self._selected_file_rows()
        if len(rows) == 1 and (rows[0].reasons or rows[0].problem):
            r = rows[0]
            text = " ".join(r.reasons)
            if r.next_step:
                text += f"<br><b>What to do:</b> {r.next_step}"
            if r.problem:
                text += f"<br><b>Problem:</b> {r.problem}"
            self.file_details.setText(f"<b>{r.name}</b>: {text}")
        else:
            self.file_details.clear()
        self._update_buttons()

    def _update_buttons(self, *_args: Any) -> None:
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
