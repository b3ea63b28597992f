"""The transfer window's file list as the checks fill it in (a mixin of the window).

Thread contract: GUI thread only. :meth:`CheckResults.add_paths` asks the service to
check what was dropped; the results arrive as events through the pump
(:meth:`~CheckResults.on_file_checked`, :meth:`~CheckResults.on_check_report`). Rows
changed by events are staged and written to the model once per pump batch, at most
:data:`ROWS_PER_FLUSH` at a time, so thousands of files never cost thousands of model
updates nor freeze the window.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QWidget

from almc_assistant.core.errors import AlmcError
from almc_assistant.core.events import EventSink
from almc_assistant.qt import background
from almc_assistant.qt.table_model import SnapshotTableModel
from almc_assistant.qt.transfer_rows import FileRow, RowState, row_from_check

ROWS_PER_FLUSH = 400
# Rows staged by pump batches are written at most this often (a human cannot tell).
FLUSH_INTERVAL_S = 0.25


class _Report:
    """The rest of a ``CheckReport`` still to show."""

    def __init__(self, files: Sequence[Any]) -> None:
        self.files = files


def under(path: str, root: str) -> bool:
    """Whether ``path`` is ``root`` or inside it (either separator)."""
    return (
        path == root
        or path.startswith(root.rstrip("/\\") + "/")
        or path.startswith(root.rstrip("/\\") + "\\")
    )


def is_ready(row: FileRow) -> bool:
    """Checked (whatever the verdict): the row can be backed up."""
    return row.state not in (RowState.CHECKING, RowState.CHECK_FAILED)


class CheckResults(QWidget):
    """The file rows: placeholders for what was dropped, replaced by each file's check."""

    # Set up by the window.
    _service: Any
    files: SnapshotTableModel[FileRow]
    _roots: list[str]  # what was dropped or picked, in order
    _sink: EventSink | None  # the pump's queue, for check results
    _staged: dict[str, FileRow]
    _batching: bool
    _last_flush: float
    _flush_timer: QTimer
    _ready_roots: list[str] | None  # what "Back up" copies, while no row is selected
    _update_buttons: Callable[..., None]
    _tell: Callable[[AlmcError], None]

    def add_paths(self, paths: Sequence[str]) -> None:
        """Show ``paths`` as being checked and ask the service to check them."""
        fresh = [str(Path(p)) for p in paths if str(Path(p)) not in self._roots]
        if not fresh:
            return
        self._roots.extend(p for p in fresh if p not in self._roots)
        self._ready_roots = None
        self.files.upsert(FileRow(path=p, root=p) for p in fresh)
        try:
            future = self._service.check([Path(p) for p in fresh])
            if self._sink is not None:
                background.publish_check_result(future, fresh, self._sink)
        except AlmcError as err:
            self._tell(err)
            self.files.upsert(
                replace(self.files.row_of(p) or FileRow(p), state=RowState.CHECK_FAILED)
                for p in fresh
            )

    def on_file_checked(self, check: Any) -> None:
        """One file checked (``FileChecked`` event or ``FileCheck``): it replaces the
        placeholder of the file or folder it was found under."""
        path = str(check.path)
        root = self._root_of(path)
        placeholder = self._row(root)
        if root != path and placeholder is not None and placeholder.state is RowState.CHECKING:
            self._staged.pop(root, None)
            self._ready_roots = None
            self.files.remove([root])
        current = self._row(path)
        if current is not None and current.state not in (RowState.CHECKING, RowState.CHECKED):
            return  # already queued or copied: the check does not reset it
        row = row_from_check(check, root=root)
        if current is not None and not row.reasons:
            row = replace(row, reasons=current.reasons, next_step=current.next_step)
        self._stage([row])

    def _on_check_completed(self, event: background.CheckCompleted) -> None:
        if event.report is not None:
            self.on_check_report(event.roots, event.report)
        else:
            for root in event.roots:
                self.on_check_failed(root, event.title, event.detail)

    def on_check_report(self, roots: Sequence[str], report: Any) -> None:
        """A check of ``roots`` ended with its ``CheckReport`` (reasons, next steps).

        Taken in slices of :data:`ROWS_PER_FLUSH` with the event loop running between
        them, so the report of a 10,000-file folder does not freeze the window."""
        checks = list(report.files)
        if not self._batching:
            self._apply_checks(checks, roots)
            return
        self._apply_checks(checks[:ROWS_PER_FLUSH], ())
        rest = checks[ROWS_PER_FLUSH:]
        if rest:
            QTimer.singleShot(0, self, lambda: self.on_check_report(roots, _Report(rest)))
        else:
            self._apply_checks([], roots)

    def _apply_checks(self, checks: Sequence[Any], roots: Sequence[str]) -> None:
        for check in checks:
            self.on_file_checked(check)
        self.flush()
        for root in roots:
            row = self._row(str(Path(root)))
            if row is not None and row.state is RowState.CHECKING:
                problem = "No files found there"
                self._stage([replace(row, state=RowState.CHECK_FAILED, problem=problem)])

    def _root_of(self, path: str) -> str:
        roots = [r for r in self._roots if under(path, r)]
        return max(roots, key=len) if roots else path

    def on_check_failed(self, path: str, title: str, detail: str) -> None:
        row = self._row(str(path)) or FileRow(path=str(path), root=str(path))
        self._stage([replace(row, state=RowState.CHECK_FAILED, problem=f"{title}: {detail}")])

    def _row(self, path: str) -> FileRow | None:
        return self._staged.get(path) or self.files.row_of(path)

    def _stage(self, rows: Any) -> None:
        for row in rows:
            self._staged[row.path] = row
        if not self._batching:
            self.flush()

    def _moves_roots(self, row: FileRow) -> bool:
        """Whether writing ``row`` may change what "Back up" copies: a new row, or one
        that becomes ready or stops being ready (copy progress does not)."""
        old = self.files.row_of(row.path)
        return old is None or old.root != row.root or is_ready(old) != is_ready(row)

    def _on_pump_batch_arrived(self, _events: Any) -> None:
        """Write what the batch staged, at most every :data:`FLUSH_INTERVAL_S`: each
        write repaints the list, and a repaint calls the Python model hundreds of times,
        each call taking the GIL back from the copy workers (``bench_ui_latency``)."""
        if self._flush_timer.isActive():
            return
        wait = self._last_flush + FLUSH_INTERVAL_S - time.monotonic()
        if self._staged and wait > 0:
            self._flush_timer.start(max(1, int(wait * 1000)))
        else:
            self.flush()

    def flush(self) -> None:
        """Write the staged rows to the model, then update the buttons once.

        At most :data:`ROWS_PER_FLUSH` rows at a time: the sorted view's work grows with
        the rows inserted, so a dropped folder of 10,000 files is shown in slices with
        the event loop running in between."""
        self._flush_timer.stop()
        if self._staged:
            self._last_flush = time.monotonic()
            paths = list(self._staged)[:ROWS_PER_FLUSH]
            rows = [self._staged.pop(p) for p in paths]
            if self._ready_roots is not None and any(map(self._moves_roots, rows)):
                self._ready_roots = None
            self.files.upsert(rows)
            if self._staged:
                QTimer.singleShot(0, self, self.flush)
        self._update_buttons()
