"""The transfer window shows datasets as units: one expandable row per dataset, what
needs attention first, dataset metadata inside its dataset, and a keyboard walk."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtTest import QAbstractItemModelTester

from almc_assistant.core.inspect import check_paths
from almc_assistant.qt.transfer_columns import CHECK_COLUMN
from almc_assistant.qt.transfer_window import TransferWindow
from tests.qt import dataset_samples
from tests.qt.helpers import Dest, TransferService


@pytest.fixture
def window(qtbot, prompter, tmp_path):
    service = TransferService(dests=[Dest("Lab share", tmp_path / "share", "institutional")])
    w = TransferWindow(service, prompter, lambda p: Dest(p.name, p))
    qtbot.addWidget(w)
    w.show()
    return w


@pytest.fixture
def shown(window: TransferWindow, tmp_path: Path) -> dict[str, Path]:
    """A session folder dropped and its real check report delivered."""
    folder = tmp_path / "session"
    files = dataset_samples.session(folder)
    window.add_paths([str(folder)])
    window.file_list.on_check_report([str(folder)], check_paths([folder]))
    return files


def _top(window: TransferWindow) -> list[str]:
    model = window.files
    return [str(model.data(model.index(i, 0))) for i in range(model.rowCount())]


def test_a_plate_is_one_row_and_what_needs_attention_comes_first(window, shown) -> None:
    model = window.files
    top = _top(window)
    assert len(top) == 4  # the plate, the ND2 series, the loose ND2, the export
    # the damaged ND2s and the export come before the plate's 303 files
    assert top[-1] == "plate1 · Harmony export", top
    plate = model.group_index(str(shown["plate"]))
    assert model.rowCount(plate) == 303
    row = model.item(plate)
    assert row.files == 303 and row.verdict == "tiff-uncompressed-ok" and not row.attention
    assert model.data(plate.siblingAtColumn(1)) == str(shown["plate"].parent.parent)
    assert model.data(plate.siblingAtColumn(2)) == "303 files"
    assert model.data(plate.siblingAtColumn(CHECK_COLUMN)) == "Uncompressed TIFF"
    # the metadata is a member of its plate, never a loose "export"
    for name in ("Index.idx.xml", "Metadata_FFC_Profile.xml", "layout.xml"):
        [member] = [r for r in window.files.rows() if Path(r.path).name == name]
        assert member.dataset == str(shown["plate"])
        assert member.verdict == "dataset-metadata"
        index = model.index_of(member.path)
        assert index.parent() == plate
    series = model.group_index(str(shown["run1"]))
    assert model.data(series) == "run001.nd2 … · ND2 series"
    assert model.item(series).verdict == "native-damaged" and model.item(series).attention


def test_the_keyboard_opens_and_closes_a_dataset(qtbot, window, shown) -> None:
    view = window.file_view
    plate = window.files.group_index(str(shown["plate"]))
    view.setFocus()
    view.setCurrentIndex(plate)
    qtbot.keyClick(view, Qt.Key.Key_Return)
    assert view.isExpanded(plate)
    qtbot.keyClick(view, Qt.Key.Key_Down)  # into the plate's files
    assert view.currentIndex().parent() == plate
    qtbot.keyClick(view, Qt.Key.Key_Left)  # to the dataset's row
    assert view.currentIndex() == plate
    qtbot.keyClick(view, Qt.Key.Key_Enter)
    assert not view.isExpanded(plate)
    qtbot.keyClick(view, Qt.Key.Key_Right)
    assert view.isExpanded(plate)


def test_a_selected_dataset_is_backed_up_whole(qtbot, window, shown, tmp_path) -> None:
    window.picker.set_checked(str(tmp_path / "share"))
    assert window.copy_button.text() == "&Back up all 307 files to 1 destination"
    plate = window.files.group_index(str(shown["plate"]))
    window.file_view.selectionModel().select(
        plate,
        QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows,
    )
    assert window.copy_button.text() == "&Back up 303 selected files to 1 destination"
    window.copy_button.click()
    [(sources, _dests, _job)] = window._service.jobs
    assert len(sources) == 303 and Path(sources[0]).is_relative_to(shown["plate"].parent.parent)


def test_order_stays_attention_first_when_a_file_fails(window, tmp_path) -> None:
    from tests.qt.helpers import Check

    # Qt's own consistency checks of the model, on every change (a failure raises)
    QAbstractItemModelTester(
        window.files, QAbstractItemModelTester.FailureReportingMode.Fatal, window
    )
    folder = tmp_path / "plain"
    folder.mkdir()
    window.add_paths([str(folder)])
    for name in ("a.tif", "b.tif", "c.tif"):
        window.file_list.on_file_checked(Check(folder / name, "tiff-uncompressed-ok", 10))
    assert _top(window) == ["a.tif", "b.tif", "c.tif"]
    window.file_list.on_check_failed(str(folder / "c.tif"), "Unreadable", "Permission denied")
    assert _top(window) == ["c.tif", "a.tif", "b.tif"]
    window.file_view.sortByColumn(0, Qt.SortOrder.DescendingOrder)
    assert _top(window) == ["c.tif", "b.tif", "a.tif"]
