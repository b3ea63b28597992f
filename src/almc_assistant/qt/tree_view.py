"""Lists of files by dataset: a tree of rows, sortable, row selection, walkable by keys.

Thread contract: GUI thread only.

Keys: arrows move; Right/Left (or + and -) open and close a dataset's row (Qt's own);
Return or Enter opens or closes the dataset's row under the cursor; Space selects the row
(Ctrl+Space adds it to the selection); Tab leaves the list (``qt/keys.py``).

Columns: the stretched one takes what the fitted ones leave; when the view is too narrow
for their fitted widths, they give way too (:class:`_KeepInView`), so every column stays
in view and a text too long for its column is elided (whole in the row's tooltip).
"""

from __future__ import annotations

from PySide6.QtCore import QAbstractItemModel, QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTreeView

_TOGGLE_KEYS = (Qt.Key.Key_Return, Qt.Key.Key_Enter)
_PADDING = 44  # a cell's margins, the sort arrow and a badge icon


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


def give_way(
    wanted: dict[int, int], floors: dict[int, int], room: int, keep: tuple[int, ...] = ()
) -> dict[int, int]:
    """Widths for the columns of ``wanted`` that fit in ``room`` pixels: as wanted when
    they fit; otherwise the widest give way first (each down to its floor), and the
    columns of ``keep`` only when all the others are at their floors. What still does
    not fit stays at the floors (the view scrolls)."""
    widths = dict(wanted)
    for group in ([c for c in wanted if c not in keep], [c for c in wanted if c in keep]):
        excess = sum(widths.values()) - room
        if excess <= 0:
            break
        widths.update(_level(group, widths, floors, excess))
    return widths


def _level(
    group: list[int], widths: dict[int, int], floors: dict[int, int], excess: int
) -> dict[int, int]:
    """Take ``excess`` pixels from ``group``: cap every column at the one level that
    frees them (never below a column's floor), so the widest give way first."""

    def capped(level: int) -> dict[int, int]:
        return {c: max(min(floors[c], widths[c]), min(widths[c], level)) for c in group}

    def freed(level: int) -> int:
        return sum(widths[c] - width for c, width in capped(level).items())

    low, high = 0, max(widths[c] for c in group)
    while low < high:  # the highest level that frees at least ``excess`` (or all: 0)
        level = (low + high + 1) // 2
        if freed(level) >= excess:
            low = level
        else:
            high = level - 1
    return capped(low)


class _KeepInView(QObject):
    """Fits the fitted columns to the view's width at each resize of its viewport (and
    after the model's columns change): as wanted when they fit, giving way otherwise
    (:func:`give_way`); the stretched column keeps its minimum. A column the user widens
    or narrows by hand keeps that width as the one it wants."""

    def __init__(
        self,
        view: QTreeView,
        wanted: dict[int, int],
        floors: dict[int, int],
        stretched: int,
        stretched_floor: int,
        keep: tuple[int, ...],
    ) -> None:
        super().__init__(view)
        self._view = view
        self._wanted = wanted
        self._floors = floors
        self._stretched = stretched
        self._stretched_floor = stretched_floor
        self._keep = keep
        self._fitting = False
        view.header().sectionResized.connect(self._on_section_resized)
        view.viewport().installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize:
            self.fit()
        return False

    def fit(self) -> None:
        room = self._view.viewport().width() - self._stretched_floor
        room -= sum(  # columns neither fitted nor stretched keep their widths
            self._view.header().sectionSize(c)
            for c in range(self._view.header().count())
            if c != self._stretched and c not in self._wanted
        )
        widths = give_way(self._wanted, self._floors, room, self._keep)
        self._fitting = True
        try:
            for column, width in widths.items():
                if self._view.header().sectionSize(column) != width:
                    self._view.setColumnWidth(column, width)
        finally:
            self._fitting = False

    def _on_section_resized(self, column: int, _old: int, new: int) -> None:
        if not self._fitting and column in self._wanted:
            self._wanted[column] = new


def make_tree(
    model: QAbstractItemModel,
    *,
    fit: dict[int, str] | None = None,
    stretch: int | None = None,
    keep: tuple[int, ...] = (),
) -> QTreeView:
    """A read-only tree over a :class:`~almc_assistant.qt.group_model.GroupTreeModel`;
    ``fit`` gives columns the width of a sample text (never ResizeToContents: it reads
    every row on every change); column ``stretch`` takes what they leave (default: the
    last), down to the header's minimum width; below that the fitted columns give way
    too, the widest first, the columns of ``keep`` last, so that every column stays in
    view."""
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
    wanted: dict[int, int] = {}
    floors: dict[int, int] = {}
    stretched = stretch if stretch is not None else model.columnCount() - 1
    for column, sample in (fit or {}).items():
        if column == stretched:
            continue
        header = str(model.headerData(column, Qt.Orientation.Horizontal) or "")
        width = max(metrics.horizontalAdvance(sample), metrics.horizontalAdvance(header))
        indent = view.indentation() if column == 0 else 0
        wanted[column] = width + _PADDING + indent
        view.setColumnWidth(column, wanted[column])
        # Given way: the sample's start and an ellipsis, or all of it if in ``keep``.
        floors[column] = indent + (
            width + view.iconSize().width() + 8
            if column in keep
            else metrics.horizontalAdvance("Xxx…") + 12
        )
    # The stretched column (a name) gives way first, to a few letters and an ellipsis.
    stretched_floor = max(
        view.header().minimumSectionSize(),
        (view.indentation() if stretched == 0 else 0) + metrics.horizontalAdvance("Xxxxx…") + 12,
    )
    view.header().setMinimumSectionSize(min([stretched_floor, *floors.values()]))
    # Never narrower than every column given way: the window cannot hide a column.
    view.setMinimumWidth(
        stretched_floor
        + sum(floors.values())
        + 2 * view.frameWidth()
        + view.verticalScrollBar().sizeHint().width()
    )
    _KeepInView(view, wanted, floors, stretched, stretched_floor, keep)
    return view
