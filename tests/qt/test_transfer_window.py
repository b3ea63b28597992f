"""Transfer window: drops and pickers are checked, shown with verdicts, copied in a queue."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QItemSelectionModel, QMimeData, QPoint, QPointF, Qt, QUrl, qVersion
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from almc_assistant.core.errors import AlmcError
from almc_assistant.qt.transfer_columns import CHECK_COLUMN, STATUS_COLUMN
from almc_assistant.qt.transfer_rows import JobState, RowState
from almc_assistant.qt.transfer_window import TransferWindow
from tests.qt.helpers import (
    Check,
    Dest,
    Failed,
    Finished,
    JobSummary,
    Progressed,
    Snapshot,
    TransferService,
    copy_verified,
)


@pytest.fixture
def data(tmp_path: Path) -> Path:
    folder = tmp_path / "session"
    folder.mkdir()
    (folder / "a.nd2").write_bytes(b"x" * 100)
    (folder / "b.tif").write_bytes(b"y" * 50)
    return folder


@pytest.fixture
def window(qtbot: QtBot, prompter, tmp_path: Path):
    service = TransferService(dests=[Dest("Lab share", tmp_path / "share", "institutional")])
    w = TransferWindow(service, prompter, lambda p: Dest(p.name, p))
    qtbot.addWidget(w)
    w.show()
    return w


# PySide6 6.10+ takes a QPointF (its QPoint form is deprecated); 6.9, the Windows lane's
# (6.10+ needs icuuc.dll, which Wine lacks), takes only a QPoint
_ENTER_AT = (
    QPointF(10, 10) if tuple(map(int, qVersion().split(".")[:2])) >= (6, 10) else QPoint(10, 10)
)


def _drop(window: TransferWindow, paths: list[Path]) -> QDropEvent:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    enter = QDragEnterEvent(
        _ENTER_AT,
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    window.dragEnterEvent(enter)
    assert enter.isAccepted()
    drop = QDropEvent(
        QPointF(10, 10),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    window.dropEvent(drop)
    return drop


def _select(window: TransferWindow, path: Path) -> None:
    index = window.files.index_of(str(path))
    assert index.isValid(), path
    window.file_view.selectionModel().select(
        index,
        QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows,
    )


def test_drop_of_a_folder_is_checked_and_shown(window, data) -> None:
    _drop(window, [data])
    assert window._service.checked == [[str(data)]]
    assert window.files.rows()[0].state is RowState.CHECKING
    window.file_list.on_file_checked(
        Check(data / "a.nd2", "native-ok", 100, ("A complete ND2 file.",), "")
    )
    window.file_list.on_file_checked(
        Check(
            data / "b.tif",
            "tiff-compressed-lossy",
            50,
            ("JPEG compression changed the pixel values.",),
            "Export again as uncompressed TIFF.",
        )
    )
    rows = {Path(r.path).name: r for r in window.files.rows()}
    assert set(rows) == {"a.nd2", "b.tif"}  # the folder placeholder is gone
    cell = window.files.index_of(str(data / "b.tif"), CHECK_COLUMN)
    assert window.files.data(cell) == "Lossy TIFF: pixels changed"
    tip = window.files.data(cell, Qt.ItemDataRole.ToolTipRole)
    assert "What to do: Export again as uncompressed TIFF." in tip


def test_non_file_urls_are_refused(window) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl("https://example.org/x.tif")])
    enter = QDragEnterEvent(
        _ENTER_AT,
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    enter.setAccepted(False)
    window.dragEnterEvent(enter)
    assert not enter.isAccepted()


def test_file_picker_goes_through_the_prompter(window, prompter, data) -> None:
    prompter.files_to_choose = [str(data / "a.nd2")]
    window.add_files_button.click()
    assert window._service.checked == [[str(data / "a.nd2")]]
    prompter.folder_to_choose = str(data)
    window.add_folder_button.click()
    assert window._service.checked[-1] == [str(data)]


def test_copy_queue_progress_and_results(window, data, tmp_path: Path) -> None:
    _drop(window, [data / "a.nd2", data / "b.tif"])
    window.file_list.on_file_checked(Check(data / "a.nd2", "native-ok", 100))
    window.file_list.on_file_checked(Check(data / "b.tif", "tiff-uncompressed-ok", 50))
    assert not window.copy_button.isEnabled()  # no destination chosen yet
    window.picker.set_checked(str(tmp_path / "share"))
    assert window.copy_button.isEnabled()
    assert window.copy_button.text() == "&Back up all 2 files to 1 destination"
    window.copy_button.click()
    # a second job queues behind the first
    second = window.queue_copy([str(data / "a.nd2")], window.picker.selected())
    assert second is not None and second.state is JobState.QUEUED
    service = window._service
    assert len(service.jobs) == 1
    files, dests, _job = service.jobs[0]
    assert files == [data / "a.nd2", data / "b.tif"] and dests[0].name == "Lab share"

    window.copies.on_job_progressed(
        Progressed(Snapshot("job-1", "running", 75, 150, 1, 2, 2e8, 3.0))
    )
    row = window.jobs.rows()[0]
    assert row.state is JobState.RUNNING and row.fraction == 0.5
    assert window.jobs.data(window.jobs.index(0, 2)) == "200 MB/s"
    assert window.jobs.data(window.jobs.index(0, 3)) == "a few seconds"

    window.copies.on_copy_verified(copy_verified("job-1", data / "a.nd2", tmp_path / "share"))
    window.copies.on_copy_failed(
        Failed("job-1", data / "b.tif", tmp_path / "share", "Disk full", "…", "Free space.")
    )
    rows = {Path(r.path).name: r for r in window.files.rows()}
    assert rows["a.nd2"].state is RowState.VERIFIED
    assert rows["b.tif"].state is RowState.FAILED and "Disk full" in rows["b.tif"].status_text

    window.copies.on_job_finished(
        Finished("job-1", JobSummary("job-1", "completed with problems", 2, 150, 1, 0, 1))
    )
    first = window.jobs.rows()[0]
    assert first.state is JobState.PROBLEMS and first.result == "1 copy verified, 1 failed"
    assert len(service.jobs) == 2  # the queued job started
    assert window.jobs.rows()[1].state is JobState.STARTING


def test_pause_resume_cancel(window, data, tmp_path: Path) -> None:
    window.add_paths([str(data / "a.nd2")])
    window.file_list.on_file_checked(Check(data / "a.nd2", "native-ok", 100))
    window.queue_copy([str(data / "a.nd2")], [Dest("X", tmp_path / "x")])
    job = window._service.jobs[0][2]
    window.pause_button.click()
    assert window.jobs.rows()[0].state is JobState.PAUSED
    assert window.pause_button.text() == "&Resume"
    assert [r.status_text for r in window.files.rows()] == ["Paused"]
    window.pause_button.click()
    assert [r.status_text for r in window.files.rows()] == ["Copying…"]
    window.pause_button.click()
    window.cancel_button.click()
    assert job.actions == ["pause", "resume", "pause", "cancel"]
    window.copies.on_job_finished(
        Finished(job.job_id, JobSummary(job.job_id, "cancelled", 1, 100, 0, 0, 0))
    )
    assert window.jobs.rows()[0].state is JobState.CANCELLED
    assert window.files.rows()[0].state is RowState.CHECKED


def test_a_refused_copy_says_why(window, prompter, data, tmp_path: Path) -> None:
    def refuse(*_a, **_k):
        raise AlmcError(
            "The share is not reachable.",
            title="Destination missing",
            next_step="Connect to the network.",
        )

    window._service.start_copy = refuse
    window.add_paths([str(data / "a.nd2")])
    window.file_list.on_file_checked(Check(data / "a.nd2", "native-ok", 100))
    window.queue_copy([str(data / "a.nd2")], [Dest("X", tmp_path / "x")])
    assert window.jobs.rows()[0].state is JobState.REFUSED
    assert prompter.told[0].title == "Destination missing"
    assert window.files.rows()[0].state is RowState.FAILED


def test_other_folder_destination(window, prompter, tmp_path: Path) -> None:
    prompter.folder_to_choose = str(tmp_path / "usb")
    window.picker.other_button.click()
    assert [d.name for d in window.picker.selected()] == ["usb"]


def test_the_guidance_shown_is_the_destination_just_checked(
    window, prompter, tmp_path: Path
) -> None:
    """Ticking a destination shows its guidance (not the first listed one's: the lab
    share's "one verified copy here makes your data safe" under a research storage)."""
    share = window.picker.list.item(0).data(Qt.ItemDataRole.UserRole + 10)  # _DEST_ROLE
    drive = Dest("USB", tmp_path / "usb", "external-drive")
    window.picker.set_destinations([share, drive])
    assert window.picker.list.currentRow() == 0
    window.picker.set_checked(str(tmp_path / "usb"))
    assert window.picker.list.currentRow() == 1
    assert window.picker.guidance.text() == window.picker._guidance(drive)
    assert window.picker.guidance.text() != window.picker._guidance(share)
    window.picker.set_destinations([share, drive])  # listed again: the checked one's
    assert window.picker.list.currentRow() == 1


def test_copies_started_elsewhere_only_mark_files_listed_here(window, data, tmp_path: Path) -> None:
    window.add_paths([str(data / "a.nd2")])
    window.file_list.on_file_checked(Check(data / "a.nd2", "native-ok", 100))
    # The session-end wizard's copy: its events reach every window through the pump.
    window.copies.on_copy_verified(copy_verified("wizard-job", data / "a.nd2", tmp_path / "share"))
    window.copies.on_copy_verified(copy_verified("wizard-job", data / "b.tif", tmp_path / "share"))
    rows = {Path(r.path).name: r for r in window.files.rows()}
    assert set(rows) == {"a.nd2"}  # b.tif is not listed in this window
    assert rows["a.nd2"].state is RowState.VERIFIED


def test_back_up_follows_files_becoming_ready_and_removed(window, data, tmp_path: Path) -> None:
    window.picker.set_checked(str(tmp_path / "share"))
    window.add_paths([str(data / "a.nd2"), str(data / "b.tif")])
    assert not window.copy_button.isEnabled()  # both still being checked
    window.file_list.on_file_checked(Check(data / "a.nd2", "native-ok", 100))
    assert window.copy_button.text() == "&Back up 1 file to 1 destination"
    window.file_list.on_file_checked(Check(data / "b.tif", "tiff-uncompressed-ok", 50))
    assert window.copy_button.text() == "&Back up all 2 files to 1 destination"
    window.copies.on_copy_verified(copy_verified("wizard-job", data / "b.tif", tmp_path / "share"))
    assert window.copy_button.text() == "&Back up all 2 files to 1 destination"
    window.file_list.on_check_failed(str(data / "a.nd2"), "Unreadable", "Permission denied")
    assert window.copy_button.text() == "&Back up 1 file to 1 destination"
    _select(window, data / "b.tif")
    assert window.copy_button.text() == "&Back up 1 selected file to 1 destination"
    window._on_remove_clicked()
    window.file_view.clearSelection()
    assert [Path(r.path).name for r in window.files.rows()] == ["a.nd2"]
    assert not window.copy_button.isEnabled()  # only a.nd2 is left, and it failed


def test_rows_from_pump_batches_are_written_at_most_every_interval(
    qtbot: QtBot, window, tmp_path: Path
) -> None:
    """During a copy every pump batch (each 75 ms) changes rows; writing them repaints the
    list, so writes are held back to one per FLUSH_INTERVAL_S. Nothing is lost: what
    was held back is written when the interval is over."""
    from almc_assistant.core.events import QueueSink
    from almc_assistant.qt.bridge import EventPump
    from almc_assistant.qt.transfer_rows import FileRow

    def row(name: str) -> FileRow:
        path = str(tmp_path / name)
        return FileRow(path=path, root=path, state=RowState.CHECKED)

    pump = EventPump(QueueSink())
    window.connect_pump(pump)
    window.file_list.stage([row("a.tif")])
    pump.batch_arrived.emit([])  # the first batch is written at once
    assert [r.path for r in window.files.rows()] == [str(tmp_path / "a.tif")]
    window.file_list.stage([row("b.tif"), row("c.tif")])
    pump.batch_arrived.emit([])
    pump.batch_arrived.emit([])
    assert len(window.files) == 1 and window.file_list.flush_timer.isActive()  # held back
    qtbot.waitUntil(lambda: len(window.files) == 3, timeout=5000)
    assert not window.file_list.flush_timer.isActive()


def test_the_button_says_whether_it_copies_the_selection_or_everything(
    qtbot: QtBot, window, tmp_path: Path
) -> None:
    """Issue 9: 305 files dropped, one row selected, "Back up 1 item to 2 destinations"
    copied that row only, with the label it has for the whole drop."""
    folder = tmp_path / "plate1"
    folder.mkdir()
    for i in range(5):
        (folder / f"r01c0{i}.tiff").write_bytes(b"t" * (i + 1))
    _drop(window, [folder])
    for i in range(5):
        window.file_list.on_file_checked(
            Check(folder / f"r01c0{i}.tiff", "tiff-uncompressed-ok", i + 1)
        )
    window.picker.set_checked(str(tmp_path / "share"))
    assert window.copy_button.text() == "&Back up all 5 files to 1 destination"
    assert window.scope_label.isHidden()

    _select(window, folder / "r01c02.tiff")
    assert window.copy_button.text() == "&Back up 1 selected file to 1 destination"
    assert not window.scope_label.isHidden()
    assert "Only the selected files are copied" in window.scope_label.text()
    window.copy_button.click()
    [(sources, _dests, _job)] = window._service.jobs
    assert len(sources) == 1 and sources[0].parent == folder  # what the label said

    window.file_view.setFocus()
    qtbot.keyClick(window.file_view, Qt.Key.Key_Escape)  # clears the selection
    assert not window._selected_file_rows()
    assert window.copy_button.text() == "&Back up all 5 files to 1 destination"
    window.copy_button.click()
    window.copies.on_job_finished(
        Finished("job-1", JobSummary("job-1", "completed", 1, 3, 1, 0, 0))
    )
    assert [Path(s) for s in window._service.jobs[-1][0]] == [folder]  # the whole drop
    from almc_assistant.core.transfer.events import JobStarted

    label = window.jobs.data(window.jobs.index(0, 0))
    assert label.startswith("#1: 1 file → "), label  # the selected file, as counted
    assert window.jobs.data(window.jobs.index(1, 0)).startswith("#2: 1 item → ")  # not yet
    window.copies.on_job_started(
        JobStarted(job_id="job-2", total_files=5, total_bytes=15, destinations=(tmp_path,))
    )
    assert window.jobs.data(window.jobs.index(1, 0)).startswith("#2: 5 files → ")


def test_a_job_refused_by_the_engine_says_why(window, prompter, data, tmp_path: Path) -> None:
    """The engine refused the whole job (it used to show "Refused", files left "copying")."""
    window.add_paths([str(data / "a.nd2")])
    window.file_list.on_file_checked(Check(data / "a.nd2", "native-ok", 100))
    window.queue_copy([str(data / "a.nd2")], [Dest("X", tmp_path / "x")])
    summary = JobSummary(
        "job-1",
        "refused",
        0,
        0,
        0,
        0,
        0,
        error_title="Sources would overwrite each other",
        error_detail="Two sources would land at the same place 'a.nd2'.",
        error_next_step="Copy them in separate runs.",
    )
    window.copies.on_job_finished(Finished("job-1", summary))
    [job] = window.jobs.rows()
    assert job.state is JobState.REFUSED and "Sources would overwrite" in job.result
    [row] = window.files.rows()
    assert row.state is RowState.FAILED and "separate runs" in row.problem
    assert "would land at the same place" in row.problem  # the detail too


def test_a_file_left_alone_is_not_called_backed_up(window, data, tmp_path: Path) -> None:
    from almc_assistant.core.transfer.events import ALREADY_VERIFIED, CopySkipped

    window.add_paths([str(data / "a.nd2"), str(data / "b.tif")])
    window.file_list.on_file_checked(Check(data / "a.nd2", "native-ok", 100))
    window.file_list.on_file_checked(Check(data / "b.tif", "tiff-uncompressed-ok", 50))
    window.queue_copy([str(data / "a.nd2"), str(data / "b.tif")], [Dest("X", tmp_path / "x")])
    share = tmp_path / "x"
    window.copies.on_copy_skipped(
        CopySkipped(
            job_id="job-1",
            source=data / "a.nd2",
            destination=share / "a.nd2",
            reason=ALREADY_VERIFIED,
        )
    )
    window.copies.on_copy_skipped(
        CopySkipped(
            job_id="job-1",
            source=data / "b.tif",
            destination=share / "b.tif",
            reason=f"a different file already exists at {share / 'b.tif'}",
        )
    )
    rows = {Path(r.path).name: r for r in window.files.rows()}
    assert rows["a.nd2"].state is RowState.ALREADY
    assert rows["b.tif"].state is RowState.FAILED
    assert "a different file already exists" in rows["b.tif"].problem


@pytest.mark.parametrize("width", [None, 1180, 760])
def test_the_status_column_stays_in_view(window, data, tmp_path: Path, width) -> None:
    """At the window's own size, at 1180 px and at a narrow 760 px the Status column is
    whole in view: the name gives way, then the other fitted columns (Wine's wide font
    needs that at every width); a text longer than its column is elided, whole in its
    tooltip."""
    if width is not None:
        window.resize(width, 640)
    _drop(window, [data / "a.nd2", data / "b.tif"])
    window.file_list.on_file_checked(Check(data / "a.nd2", "native-ok", 100))
    window.file_list.on_file_checked(Check(data / "b.tif", "tiff-uncompressed-ok", 50))
    window.picker.set_checked(str(tmp_path / "share"))
    window.copy_button.click()
    window.copies.on_copy_verified(copy_verified("job-1", data / "a.nd2", tmp_path / "share"))
    window.copies.on_copy_failed(
        Failed("job-1", data / "b.tif", tmp_path / "share", "Disk full", "…", "Free space.")
    )
    QApplication.processEvents()
    view, header = window.file_view, window.file_view.header()
    shown = view.viewport().width()
    sizes = [header.sectionSize(i) for i in range(header.count())]
    assert header.sectionViewportPosition(STATUS_COLUMN) + sizes[STATUS_COLUMN] <= shown, sizes
    assert all(size > 0 for size in sizes), sizes  # every column in view, none hidden
    needed = view.fontMetrics().horizontalAdvance(RowState.VERIFIED.value)
    assert sizes[STATUS_COLUMN] >= needed + view.iconSize().width()
    assert sizes[0] >= view.fontMetrics().horizontalAdvance("a.nd2")
    failed = window.files.index_of(str(data / "b.tif"), STATUS_COLUMN)
    text = window.files.data(failed)
    assert text.startswith("Failed: Disk full")
    assert window.files.data(failed, Qt.ItemDataRole.ToolTipRole) == text
    # A column that gave way still says all of it in its tooltip.
    row = window.files.index_of(str(data / "b.tif"), 0)
    for column in range(1, STATUS_COLUMN):
        cell = row.siblingAtColumn(column)
        shown_text = window.files.data(cell)
        if shown_text:
            tip = window.files.data(cell, Qt.ItemDataRole.ToolTipRole)
            assert shown_text in tip.splitlines(), (column, shown_text, tip)
