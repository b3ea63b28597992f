"""Tables of the app: sortable, row selection, no grid, first column stretched.

Thread contract: GUI thread only.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView

from almc_assistant.qt.table_model import SnapshotTableModel, sortable


def make_table(
    model: SnapshotTableModel[Any], *, sort: bool = True, stretch_first: bool = False
) -> QTableView:
    view = QTableView()
    view.setModel(sortable(model) if sort else model)
    view.setSortingEnabled(sort)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setAlternatingRowColors(True)
    view.setShowGrid(False)
    view.setWordWrap(False)
    view.verticalHeader().hide()
    header = view.horizontalHeader()
    header.setStretchLastSection(True)
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    if stretch_first:
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
    return view
