"""Tables of the app: sortable, row selection, no grid, first column stretched.

Thread contract: GUI thread only.
"""

from __future__ import annotations

from typing import TypeVar

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView

from almc_assistant.qt.table_model import SnapshotTableModel, sortable

R = TypeVar("R")


def make_table(
    model: SnapshotTableModel[R],
    *,
    sort: bool = True,
    stretch_first: bool = False,
    fit: dict[int, str] | None = None,
) -> QTableView:
    """A read-only table; ``fit`` gives columns the width of a sample text."""
    fit = fit or {}
    view = QTableView()
    view.setTabKeyNavigation(False)  # Tab leaves the table (qt/keys.py)
    view.setModel(sortable(model) if sort else model)
    # Unsorted until the user clicks a header: a sorted proxy reads every row's sort key
    # on each insert, which stalls the GUI while thousands of files arrive.
    view.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
    view.setSortingEnabled(sort)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setAlternatingRowColors(True)
    view.setShowGrid(False)
    view.setWordWrap(False)
    view.verticalHeader().hide()
    header = view.horizontalHeader()
    header.setStretchLastSection(True)
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    if stretch_first:  # the first column takes what the fitted ones leave
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setStretchLastSection(False)
    # Fixed widths from sample texts, not ResizeToContents: that mode reads every row
    # on every change, which stalls the GUI on tables of thousands of files.
    metrics = view.fontMetrics()
    for column, sample in fit.items():
        width = max(
            metrics.horizontalAdvance(sample),
            metrics.horizontalAdvance(
                str(model.headerData(column, Qt.Orientation.Horizontal) or "")
            ),
        )
        view.setColumnWidth(column, width + 44)  # padding, sort arrow, badge icon
    return view
