"""The wizard's files page fills its list a slice at a time, the event loop running in
between (10,000 files in one slot held the GUI thread 51-92 ms), and ends exactly as if
it had taken them at once, including a file that finished while the list was filled."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QModelIndex
from pytestqt.qtbot import QtBot

from almc_assistant.core.catalog import FileState
from almc_assistant.core.events import QueueSink
from almc_assistant.core.service_events import VerdictRecorded
from almc_assistant.core.watch.events import FileStabilised
from almc_assistant.qt.bridge import EventPump
from almc_assistant.qt.controller_windows import make_destination
from almc_assistant.qt.wizard import files_page
from almc_assistant.qt.wizard.files_page import SessionFilesRead
from almc_assistant.qt.wizard.session_wizard import SessionWizard
from tests.qt import dataset_samples
from tests.qt.helpers import RecordingPrompter
from tests.qt.test_wizard_datasets import _records, _Session


def _tree(model: Any, parent: QModelIndex | None = None) -> list[Any]:
    """Every row's text in every column, datasets with their files, in the view's order."""
    parent = parent or QModelIndex()
    rows: list[Any] = []
    for i in range(model.rowCount(parent)):
        first = model.index(i, 0, parent)
        texts = [model.data(first.siblingAtColumn(c)) for c in range(model.columnCount())]
        rows.append((texts, _tree(model, first) if model.rowCount(first) else []))
    return rows


def _listed(
    qtbot: QtBot,
    prompter: RecordingPrompter,
    records: list[Any],
    finished: list[Any],
    *,
    during: bool,
) -> tuple[SessionWizard, list[int]]:
    """A wizard showing ``records``; the events ``finished`` delivered while its list is
    filled (``during``) or after. Returns it and the rows listed when the answer came."""
    pump = EventPump(QueueSink(), interval_ms=20)
    wizard = SessionWizard(_Session(records), prompter, pump, make_destination=make_destination)
    qtbot.addWidget(wizard)
    page = wizard.files_page
    first_slice: list[int] = []

    def just_after(event: SessionFilesRead) -> None:  # delivered after the page's slot
        first_slice.append(len(page.model.rows()))
        assert page.loading and not page.isComplete()
        if during:
            deliver()

    def deliver() -> None:
        for event in finished:
            (
                page.on_file_stabilised
                if isinstance(event, FileStabilised)
                else page.on_verdict_recorded
            )(event)

    pump.subscribe(SessionFilesRead, just_after)
    pump.start()
    try:
        wizard.show()
        qtbot.waitUntil(lambda: bool(first_slice) and not page.loading, timeout=20_000)
        if not during:
            deliver()
    finally:
        pump.stop()
        page.wait_for_reader()
    return wizard, first_slice


def test_the_files_come_in_slices_and_end_as_if_taken_at_once(
    qtbot: QtBot, prompter: RecordingPrompter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dataset_samples.session(tmp_path / "session")
    records = _records(tmp_path / "session")
    growing = records[7]  # still being written when the list was read
    records[7] = replace(growing, state=FileState.ACQUIRING, verdict=None, verdict_reasons=())
    finished = [
        FileStabilised(path=growing.path, size=growing.size + 1, mtime_ns=5),
        VerdictRecorded(path=growing.path, verdict="lossless", reasons=("fine",), next_step=""),
    ]
    assert len(records) > 300

    monkeypatch.setattr(files_page, "ROWS_PER_SLICE", 10**9)
    at_once, first = _listed(qtbot, prompter, records, finished, during=False)
    assert first == [len(records)]
    monkeypatch.setattr(files_page, "ROWS_PER_SLICE", 40)
    sliced, first = _listed(qtbot, prompter, records, finished, during=True)
    assert first == [40]  # the rest came after the event loop had run

    one, other = at_once.files_page, sliced.files_page
    assert _tree(other.model) == _tree(one.model)
    assert len(other.model.rows()) == len(records)
    assert other.summary.text() == one.summary.text()
    assert other.isComplete() and other.view.isVisible()
    assert sliced.state.files == at_once.state.files
    (now,) = [f for f in sliced.state.files if f.path == growing.path]
    assert now.state == FileState.COMPLETE and now.verdict == "lossless"  # not dropped


def test_a_page_shown_again_while_filling_drops_the_old_answer(
    qtbot: QtBot, prompter: RecordingPrompter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dataset_samples.session(tmp_path / "session")
    records = _records(tmp_path / "session")
    monkeypatch.setattr(files_page, "ROWS_PER_SLICE", 40)
    wizard, _ = _listed(qtbot, prompter, records, [], during=False)
    page = wizard.files_page
    page.initializePage()  # shown again (the pump is stopped: its answer is not delivered)
    page.on_files_read(SessionFilesRead(request=page._request, files=tuple(records[:100])))
    assert page.loading and 0 < len(page.model.rows()) < 100 and not page.view.isVisibleTo(page)
    page.initializePage()  # and again, while the list is being filled
    qtbot.wait(50)  # the old answer's next slices would have run by now
    assert len(page.model.rows()) == 0 and page.loading and page.view.isVisibleTo(page)
    page.wait_for_reader()
