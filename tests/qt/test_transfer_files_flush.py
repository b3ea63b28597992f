"""The transfer window's file list writes staged rows to its model in few, large
insertions (``qt/transfer_files.py``): every insertion at the top costs the tree view a
layout of the whole list, so new rows must not go in 400-row slices."""

from __future__ import annotations

from dataclasses import replace

import pytest
from pytestqt.qtbot import QtBot

from almc_assistant.qt.transfer_files import NEW_ROWS_PER_FLUSH, ROWS_PER_FLUSH, FileList
from almc_assistant.qt.transfer_rows import FileRow, RowState
from tests.qt.helpers import FakeService


def _row(i: int) -> FileRow:
    return FileRow(
        path=f"/acq/export/r{i:05d}.tif",
        size=4096,
        verdict="ok",
        state=RowState.CHECKED,
        root="/acq/export",
    )


def test_new_rows_go_in_one_insertion_and_changes_in_slices(qtbot: QtBot) -> None:
    files = FileList(service=FakeService())
    files.batching = True  # as in the window: rows wait for a flush
    inserted: list[tuple[int, int]] = []
    files.model.rowsInserted.connect(lambda _parent, first, last: inserted.append((first, last)))
    n = ROWS_PER_FLUSH * 3
    assert n <= NEW_ROWS_PER_FLUSH
    files.stage(_row(i) for i in range(n))
    files.flush()
    assert len(files.model) == n  # all of them at once: one layout of the view
    assert len(inserted) == 1
    assert [r.path for r in files.model.rows()] == [_row(i).path for i in range(n)]

    files.stage(replace(_row(i), reasons=("checked again",)) for i in range(n))
    files.flush()  # changed rows: a slice, the rest on the event loop
    done = sum(r.reasons == ("checked again",) for r in files.model.rows())
    assert done == ROWS_PER_FLUSH
    qtbot.waitUntil(lambda: all(r.reasons for r in files.model.rows()))
    assert len(inserted) == 1 and len(files.model) == n


def test_new_rows_wait_longer_as_the_list_grows_and_changed_rows_do_not(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write of new rows costs the view a layout of the whole list: with a long list
    they wait NEW_ROWS_S_PER_ROW per row listed; changes of listed rows (a copy's
    progress) still go every FLUSH_INTERVAL_S. Nothing is lost: held back, then written."""
    from almc_assistant.qt import transfer_files

    files = FileList(service=FakeService())
    files.batching = True
    files.stage(_row(i) for i in range(100))
    files.flush()
    monkeypatch.setattr(transfer_files, "FLUSH_INTERVAL_S", 0.0)
    files.stage([replace(_row(0), reasons=("changed",))])
    files.on_pump_batch_arrived([])  # a change only: written at once
    assert _reasons(files, 0) == ("changed",)

    monkeypatch.setattr(transfer_files, "NEW_ROWS_S_PER_ROW", 0.003)  # 0.3 s at 100 rows
    files.stage([_row(100)])
    files.on_pump_batch_arrived([])
    assert len(files.model) == 100 and files.flush_timer.isActive()  # held back
    qtbot.waitUntil(lambda: len(files.model) == 101, timeout=5000)
    files.stage([replace(_row(1), reasons=("changed",))])
    files.on_pump_batch_arrived([])  # no new row staged any more: at once again
    assert _reasons(files, 1) == ("changed",)


def _reasons(files: FileList, i: int) -> tuple[str, ...]:
    row = files.model.row_of(_row(i).path)
    assert row is not None
    return row.reasons
