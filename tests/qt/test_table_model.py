"""The table model while the garbage collector tears a closed window down."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QTableView

from almc_assistant.qt.table_model import Column, SnapshotTableModel


def test_a_model_whose_attributes_are_cleared_answers_as_an_empty_model(qtbot: Any) -> None:
    """Breaking a cycle, the collector clears every object's attributes (``tp_clear``)
    before the C++ objects go; a view destroyed in between still asks its model. Those
    questions must not raise in Qt's event loop (pytest-qt fails a test on that)."""
    model: SnapshotTableModel[str] = SnapshotTableModel(
        (Column("Name", lambda r: r), Column("Length", lambda r: str(len(r)))), key=lambda r: r
    )
    model.upsert(["a.tif", "bb.tif"])
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(model)
    view.show()
    assert model.headerData(1, Qt.Orientation.Horizontal) == "Length"
    assert model.data(model.index(1, 0)) == "bb.tif"
    model.__dict__.clear()  # what tp_clear does to the Python side
    assert model.rowCount() == 0 and model.columnCount() == 0
    assert model.headerData(1, Qt.Orientation.Horizontal) is None
    assert model.data(QModelIndex()) is None
    view.horizontalHeader().repaint()  # the header asks again: no exception
    view.viewport().repaint()
