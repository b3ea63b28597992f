"""The transfer window's file list: what was dropped, as the checks fill it in.

Thread contract: GUI thread only. :meth:`FileList.add_paths` asks the service to check
what was dropped; the results arrive as events through the pump
(:meth:`~FileList.on_file_checked`, :meth:`~FileList.on_check_report`). Rows changed by
events are staged and written to the model once per pump batch, at most
:data:`ROWS_PER_FLUSH` changed rows and :data:`NEW_ROWS_PER_FLUSH` new ones at a time,
so thousands of files never cost thousands of model updates, nor the view thousands of
layouts of the whole list, nor freeze the window. Files of a dataset (an Opera Phenix
plate, an ND2 series) are shown under one row for the dataset
(:class:`~almc_assistant.qt.group_model.GroupTreeModel`), with the dataset's own verdict
once the check's report has come.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from almc_assistant.core.errors import AlmcError
from almc_assistant.core.events import Event, EventSink
from almc_assistant.core.inspect import CheckReport, DatasetCheck, FileCheck
from almc_assistant.core.inspect.events import FileChecked
from almc_assistant.core.service_events import CheckFailed, CheckReportReady
from almc_assistant.core.service_process import EngineStopped
from almc_assistant.qt.dataset_rows import ATTENTION, FINE, DatasetRow, needs_attention
from almc_assistant.qt.dataset_rows import summarize as summarize_dataset
from almc_assistant.qt.group_model import GroupTreeModel
from almc_assistant.qt.service_port import ServicePort
from almc_assistant.qt.transfer_columns import FILE_COLUMNS, ListRow
from almc_assistant.qt.transfer_rows import IN_JOB, FileRow, RowState

ROWS_PER_FLUSH = 400  # rows changed per write (each costs its own work)
# New rows per write. Each write that adds rows at the top costs the tree view a layout
# of *every* row (two calls into the model per row: ~25 ms at 10,000 rows, whatever
# was added), so new rows go in large writes: in slices of 400, a 10,000-file check cost
# 25 layouts growing to the full list, and late ticks of 60-120 ms (--trace).
NEW_ROWS_PER_FLUSH = 2500
# Rows staged by pump batches are written at most this often (a human cannot tell).
FLUSH_INTERVAL_S = 0.25
# ... and when new rows are among them, at most every this many seconds per row listed
# (1 s at 10,000 rows): each such write costs the view a layout of the whole list (two
# calls into the Python model per row, 25-30 ms at 10,000), 8-9 of them per 10,000-file
# check at 0.25 s (``bench_ui_latency.py --entries check``); the late check ticks were
# such a layout plus a wait for a CPU on a loaded machine (``--trace``).
NEW_ROWS_S_PER_ROW = 0.0001
CHECK_INTERRUPTED = "The backup engine stopped before this was checked: remove it and add it again"
_FAILED = (RowState.FAILED, RowState.CHECK_FAILED)
_BUSY = (RowState.CHECKING, RowState.QUEUED, *IN_JOB)
_DONE = (RowState.VERIFIED, RowState.ALREADY)


class _Report:
    """The rest of a ``CheckReport`` still to show."""

    def __init__(self, files: Sequence[FileCheck], datasets: Sequence[DatasetCheck] = ()) -> None:
        self.files = files
        self.datasets = datasets


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


def rank(item: ListRow) -> int:
    """Rows needing attention first (a copy's progress changes no rank: rows do not
    jump around while files are copied)."""
    if isinstance(item, DatasetRow):
        return ATTENTION if item.attention else FINE
    failed = item.state in _FAILED
    if failed or (item.state is not RowState.CHECKING and needs_attention(item.verdict)):
        return ATTENTION
    return FINE


def group_status(rows: Sequence[FileRow]) -> str:
    """A dataset's state in words, from its files' states."""
    n = len(rows)
    failed = sum(r.state in _FAILED for r in rows)
    checking = sum(r.state is RowState.CHECKING for r in rows)
    copying = sum(r.state is RowState.COPYING for r in rows)
    paused = sum(r.state is RowState.PAUSED for r in rows)
    queued = sum(r.state is RowState.QUEUED for r in rows)
    done = sum(r.state in _DONE for r in rows)
    if checking:
        text = f"Checking… ({n - checking} of {n})"
    elif copying:
        text = f"Copying… ({done} of {n} verified)"
    elif paused:
        text = f"Paused ({done} of {n} verified)"
    elif queued:
        text = RowState.QUEUED.value
    elif done == n:
        text = RowState.VERIFIED.value
    elif done:
        text = f"{done} of {n} copied and verified"
    else:
        text = RowState.CHECKED.value
    return f"{failed} failed; {text}" if failed else text


class FileList(QObject):
    """The file rows: placeholders for what was dropped, replaced by each file's check.

    Emits ``changed`` after rows were written (what "Back up" copies may have changed)
    and ``failed`` with an :class:`AlmcError` the user must be told."""

    changed = Signal()
    failed = Signal(object)

    def __init__(self, service: ServicePort, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._service = service
        self.sink: EventSink | None = None  # the pump's queue, for check results
        self.batching = False  # rows are written per pump batch (connected to a pump)
        self.roots: list[str] = []  # what was dropped or picked, in order
        self._datasets: dict[str, DatasetCheck] = {}  # by dataset id
        self._staged: dict[str, FileRow] = {}
        self._last_flush = float("-inf")  # time.monotonic() of the last write
        self._new_staged = False  # rows not in the model yet are staged
        self.flush_timer = QTimer(self)  # a write held back by FLUSH_INTERVAL_S
        self.flush_timer.setSingleShot(True)
        self.flush_timer.timeout.connect(self.flush)
        self._ready: tuple[list[str], int] | None = None  # kept while rows do not move
        self.model: GroupTreeModel[FileRow, DatasetRow] = GroupTreeModel(
            FILE_COLUMNS,
            key=lambda r: r.path,
            group_of=lambda r: r.dataset,
            summarize=self._summarize,
            rank=rank,
            parent=self,
        )

    def _summarize(self, group: str, rows: Sequence[FileRow]) -> DatasetRow:
        return summarize_dataset(
            group,
            verdicts_found=[r.verdict for r in rows if r.state is not RowState.CHECKING],
            sizes=[r.size for r in rows],
            status_text=group_status(rows),
            failed=any(r.state in _FAILED for r in rows),
            busy=any(r.state in _BUSY for r in rows),
            check=self._datasets.get(group),
        )

    # ------------------------------------------------------------------ checks
    def add_paths(self, paths: Sequence[str]) -> None:
        """Show ``paths`` as being checked and ask the service to check them."""
        fresh = [str(Path(p)) for p in paths if str(Path(p)) not in self.roots]
        if not fresh:
            return
        self.roots.extend(p for p in fresh if p not in self.roots)
        self._ready = None
        self.model.upsert(FileRow(path=p, root=p) for p in fresh)
        try:
            self._service.check([Path(p) for p in fresh])  # answers come as events
        except AlmcError as err:
            self.failed.emit(err)
            self.model.upsert(
                replace(self.model.row_of(p) or FileRow(p), state=RowState.CHECK_FAILED)
                for p in fresh
            )

    def on_file_checked(self, check: FileChecked | FileCheck) -> None:
        """One file checked (``FileChecked`` event or ``FileCheck``): it replaces the
        placeholder of the file or folder it was found under."""
        path = str(check.path)
        root = self.root_of(path)
        placeholder = self.row(root)
        if root != path and placeholder is not None and placeholder.state is RowState.CHECKING:
            self._staged.pop(root, None)
            self._ready = None
            self.model.remove([root])
        current = self.row(path)
        if current is not None and current.state not in (RowState.CHECKING, RowState.CHECKED):
            return  # already queued or copied: the check does not reset it
        row = FileRow(
            path=path,
            size=check.size,
            verdict=str(check.verdict),
            # the event has no reasons: the report's FileCheck brings them
            reasons=check.reasons if isinstance(check, FileCheck) else (),
            next_step=check.next_step if isinstance(check, FileCheck) else "",
            state=RowState.CHECKED,
            root=root,
            dataset=check.dataset,
        )
        if current is not None and not row.reasons:
            row = replace(row, reasons=current.reasons, next_step=current.next_step)
        self.stage([row])

    def on_check_report_ready(self, event: CheckReportReady) -> None:
        self.on_check_report(event.paths, event.report)

    def on_check_failed_event(self, event: CheckFailed) -> None:
        for root in event.paths:
            self.on_check_failed(root, event.title, event.detail)

    def on_check_report(self, roots: Sequence[str], report: CheckReport | _Report) -> None:
        """A check of ``roots`` ended with its ``CheckReport`` (reasons, next steps, and
        each dataset's own verdict).

        Taken in slices of :data:`ROWS_PER_FLUSH` with the event loop running between
        them, so the report of a 10,000-file folder does not freeze the window."""
        checks = list(report.files)
        found = list(report.datasets)
        if not self.batching:
            self._apply_checks(checks, roots, found)
            return
        self._apply_checks(checks[:ROWS_PER_FLUSH], (), ())
        rest = checks[ROWS_PER_FLUSH:]
        if rest:
            QTimer.singleShot(0, self, lambda: self.on_check_report(roots, _Report(rest, found)))
        else:
            self._apply_checks([], roots, found)

    def _apply_checks(
        self, checks: Sequence[FileCheck], roots: Sequence[str], found: Sequence[DatasetCheck]
    ) -> None:
        for check in checks:
            self.on_file_checked(check)
        self.flush()
        if found:
            self._datasets.update((str(d.id), d) for d in found)
            self.model.refresh_groups(str(d.id) for d in found)
        for root in roots:
            row = self.row(str(Path(root)))
            if row is not None and row.state is RowState.CHECKING:
                problem = "No files found there"
                self.stage([replace(row, state=RowState.CHECK_FAILED, problem=problem)])

    def root_of(self, path: str) -> str:
        roots = [r for r in self.roots if under(path, r)]
        return max(roots, key=len) if roots else path

    def on_engine_stopped(self, _event: EngineStopped) -> None:
        """The engine's process ended (``EngineStopped``): a check under way will not
        answer; its rows say so (the user may remove them and drop them again)."""
        self.stage(
            [
                replace(r, state=RowState.CHECK_FAILED, problem=CHECK_INTERRUPTED)
                for r in self.current_rows()
                if r.state is RowState.CHECKING
            ]
        )
        self.flush()

    def on_check_failed(self, path: str, title: str, detail: str) -> None:
        row = self.row(str(path)) or FileRow(path=str(path), root=str(path))
        self.stage([replace(row, state=RowState.CHECK_FAILED, problem=f"{title}: {detail}")])

    # ------------------------------------------------------------------ rows
    def row(self, path: str) -> FileRow | None:
        return self._staged.get(path) or self.model.row_of(path)

    def current_rows(self) -> list[FileRow]:
        """Every row as it stands: a change staged and not yet written over the model's."""
        staged = dict(self._staged)
        rows = [staged.pop(r.path, r) for r in self.model.rows()]
        return [*rows, *staged.values()]

    def stage(self, rows: Iterable[FileRow]) -> None:
        known = self.model.row_of
        for row in rows:
            self._staged[row.path] = row
            self._new_staged = self._new_staged or known(row.path) is None
        if not self.batching:
            self.flush()

    def mark(
        self,
        sources: Sequence[str],
        state: RowState,
        *,
        copies_wanted: int | None = None,
        problem: str | None = None,
    ) -> None:
        """Every row under ``sources`` gets ``state`` (and ``copies_wanted`` and
        ``problem``, when given)."""
        self.flush()
        self.stage(
            replace(
                r,
                state=state,
                copies_wanted=r.copies_wanted if copies_wanted is None else copies_wanted,
                problem=r.problem if problem is None else problem,
            )
            for r in self.model.rows()
            if any(under(r.path, s) for s in sources)
        )

    def remove(self, rows: Iterable[FileRow]) -> None:
        """Take rows off the list (not those queued or being copied)."""
        busy = {RowState.QUEUED, *IN_JOB}
        self.model.remove(r.path for r in rows if r.state not in busy)
        kept = {r.root for r in self.model.rows()}
        self.roots = [r for r in self.roots if r in kept]
        self._ready = None
        self.changed.emit()

    def backup_all(self) -> tuple[list[str], int]:
        """What "Back up" copies without a selection: every dropped item with a checked
        file, and how many files that is (kept between changes that may alter it: with
        10,000 rows it is not recomputed at every progress update)."""
        if self._ready is None:
            roots: dict[str, None] = {}
            files = 0
            for r in self.model.rows():
                if is_ready(r):
                    files += 1
                    roots[r.root or r.path] = None
            self._ready = (list(roots), files)
        return list(self._ready[0]), self._ready[1]

    def _moves_roots(self, row: FileRow) -> bool:
        """Whether writing ``row`` may change what "Back up" copies: a new row, or one
        that becomes ready or stops being ready (copy progress does not)."""
        old = self.model.row_of(row.path)
        return old is None or old.root != row.root or is_ready(old) != is_ready(row)

    def on_pump_batch_arrived(self, _events: list[Event]) -> None:
        """Write what the batch staged, at most every :data:`FLUSH_INTERVAL_S`: each
        write repaints the list, and a repaint calls the Python model hundreds of times,
        each call taking the GIL back from the copy workers (``bench_ui_latency``)."""
        if self.flush_timer.isActive():
            return
        interval = FLUSH_INTERVAL_S
        if self._new_staged:  # a layout of the whole list: less often as it grows
            interval = max(interval, len(self.model) * NEW_ROWS_S_PER_ROW)
        wait = self._last_flush + interval - time.monotonic()
        if self._staged and wait > 0:
            self.flush_timer.start(max(1, int(wait * 1000)))
        else:
            self.flush()

    def flush(self) -> None:
        """Write the staged rows to the model, then say the list changed.

        At most :data:`ROWS_PER_FLUSH` changed rows and :data:`NEW_ROWS_PER_FLUSH` new
        ones at a time, with the event loop running in between: a changed row costs the
        model and the view work of its own; new rows cost the view one layout of the
        whole list per write, whatever their number."""
        self.flush_timer.stop()
        if self._staged:
            self._last_flush = time.monotonic()
            known = self.model.row_of
            new = [p for p in self._staged if known(p) is None][:NEW_ROWS_PER_FLUSH]
            changed = [p for p in self._staged if known(p) is not None][:ROWS_PER_FLUSH]
            rows = [self._staged.pop(p) for p in (*changed, *new)]
            self._new_staged = any(known(p) is None for p in self._staged)
            if self._ready is not None and any(map(self._moves_roots, rows)):
                self._ready = None
            self.model.upsert(rows)
            if self._staged:
                QTimer.singleShot(0, self, self.flush)
        self.changed.emit()
