"""Lists of files by dataset: a tree of rows, sortable, row selection, walkable by keys.

Thread contract: GUI thread only.

Keys: arrows move; Right/Left (or + and -) open and close a dataset's row (Qt's own);
Return or Enter opens or closes the dataset's row under the cursor; Space selects the row
(Ctrl+Space adds it to the selection); Tab leaves the list (``qt/keys.py``).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTreeView

_TOGGLE_KEYS = (Qt.Key.Key_Return, Qt.Key.Key_Enter)


class _ToggleOnEnter(QObject):
    """Return/Enter on a dataset's row opens or closes it (a file's row: nothing)."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            event.type() == QEvent.Type.KeyPress
            and isinstance(watched, QTreeView)
            and isinstance(event, QKeyEvent)
            and event.key() in _TOGGLE_KEYS
            and event.modifiers() == Qt.KeyboardModifier.NoModifier
        ):
            index = watched.currentIndex().siblingAtColumn(0)
            if index.isValid() and watched.model().hasChildren(index):
                watched.setExpanded(index, not watched.isExpanded(index))
                return True
        return False


def make_tree(
    model: Any, *, fit: dict[int, str] | None = None, stretch: int | None = None
) -> QTreeView:
    """A read-only tree over a :class:`~almc_assistant.qt.group_model.GroupTreeModel`;
    ``fit`` gives columns the width of a sample text (never ResizeToContents: it reads
    every row on every change); column ``stretch`` takes what they leave (default: the
    last), so that every fitted column stays in view."""
    view = QTreeView()
    view.setModel(model)
    view.setUniformRowHeights(True)  # thousands of rows: no per-row size questions
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
    view.setAlternatingRowColors(True)
    view.setAllColumnsShowFocus(True)
    view.setExpandsOnDoubleClick(True)
    view.setWordWrap(False)
    view.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # a folder's end tells it apart
    view.setTabKeyNavigation(False)
    view.setSortingEnabled(True)  # the model sorts; rows needing attention stay first
    view.header().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
    view.header().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    view.header().setStretchLastSection(stretch is None)
    if stretch is not None:
        view.header().setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
    toggle = _ToggleOnEnter(view)
    view.installEventFilter(toggle)
    metrics = view.fontMetrics()
    for column, sample in (fit or {}).items():
        header = str(model.headerData(column, Qt.Orientation.Horizontal) or "")
        width = max(metrics.horizontalAdvance(sample), metrics.horizontalAdvance(header))
        view.setColumnWidth(column, width + 44 + (view.indentation() if column == 0 else 0))
    return view
