"""The session-end wizard lists the session's files by dataset: one row per plate or ND2
series, what needs a look first, dataset metadata inside its dataset (never "to fix")."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt

from almc_assistant.core.catalog import FileState
from almc_assistant.core.catalog.records import FileRecord
from almc_assistant.core.events import QueueSink
from almc_assistant.core.inspect import check_paths
from almc_assistant.qt.bridge import EventPump
from almc_assistant.qt.controller_windows import make_destination
from almc_assistant.qt.wizard.files_page import CHECK_COLUMN
from almc_assistant.qt.wizard.session_wizard import EXPORTS, SessionWizard
from tests.qt import dataset_samples
from tests.qt.helpers import FakeService


def _records(folder: Path) -> list[FileRecord]:
    """The session's files as the catalog has them (verdicts from the real check)."""
    report = check_paths([folder])
    return [
        FileRecord(
            id=i,
            path=c.path,
            size=c.size or 0,
            mtime_ns=0,
            owner="someone",
            first_seen=0.0,
            born=0.0,
            session_id=1,
            state=FileState.COMPLETE,
            verdict=str(c.verdict),
            verdict_reasons=c.reasons,
            safe=False,
        )
        for i, c in enumerate(report.files, 1)
    ]


class _Session(FakeService):
    def __init__(self, records: list[FileRecord]) -> None:
        super().__init__()
        self.records = records

    def session_files(self):
        return self.records


def test_files_and_exports_pages_show_datasets_as_units(qtbot, prompter, tmp_path) -> None:
    files = dataset_samples.session(tmp_path / "session")
    pump = EventPump(QueueSink(), interval_ms=20)
    wizard = SessionWizard(
        _Session(_records(tmp_path / "session")),
        prompter,
        pump,
        make_destination=make_destination,
    )
    qtbot.addWidget(wizard)
    pump.start()
    try:
        wizard.show()
        page = wizard.files_page
        qtbot.waitUntil(lambda: not page.loading and len(page.model) > 0, timeout=20_000)
        model = page.model
        top = [model.data(model.index(i, 0)) for i in range(model.rowCount())]
        assert len(top) == 4, top
        assert top[-1] == "plate1 · Harmony export"  # after what needs a look
        plate = model.group_index(str(files["plate"]))
        assert model.rowCount(plate) == 303
        assert model.data(plate.siblingAtColumn(CHECK_COLUMN)) == "Uncompressed TIFF"
        why = str(model.data(plate.siblingAtColumn(5)))
        assert "300 Uncompressed TIFF, 3 Dataset metadata" in why
        view = page.view
        view.setFocus()
        view.setCurrentIndex(plate)
        qtbot.keyClick(view, Qt.Key.Key_Return)
        assert view.isExpanded(plate)

        wizard.next()
        assert wizard.currentId() == EXPORTS
        fix = wizard.exports_page.model
        names = {Path(r.path).name for r in fix.rows()}
        assert names == {"overview.nd2", "run001.nd2", "run002.nd2", "max_projection.tif"}
        assert not any(n.endswith(".xml") for n in names)  # metadata is never "to fix"
        series = fix.group_index(str(files["run1"]))
        assert fix.data(series) == "run001.nd2 … · ND2 series" and fix.rowCount(series) == 2
    finally:
        pump.stop()
        wizard.files_page.wait_for_reader()
