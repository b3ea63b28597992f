"""A table model over immutable row snapshots, keyed, updated in batches.

Thread contract: GUI thread only. Each row is a frozen value; an update replaces whole
rows (``upsert``), so a view never sees a half-changed row and workers never share
mutable state with the GUI. Columns are declared once (:class:`Column`), and the same
model serves the transfer window, the wizard, the warnings and the receipt.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QIcon

from almc_assistant.qt.progress_delegate import PROGRESS_ROLE

if TYPE_CHECKING:
    from _typeshed import SupportsRichComparison

R = TypeVar("R")
Index = QModelIndex | QPersistentModelIndex
SORT_ROLE = Qt.ItemDataRole.UserRole + 2
MAX_CHANGE_SIGNALS = 8


@dataclass(frozen=True)
class Column(Generic[R]):
    """One column: its header and how a row shows in it."""

    header: str
    text: Callable[[R], str]
    icon: Callable[[R], QIcon | None] | None = None
    tooltip: Callable[[R], str] | None = None
    progress: Callable[[R], float | None] | None = None
    sort_key: Callable[[R], SupportsRichComparison] | None = None
    align_right: bool = False

    def value(self, row: R, role: int) -> object:
        """What ``row`` shows in this column for Qt's ``role`` (None: nothing)."""
        if role == Qt.ItemDataRole.DisplayRole:
            return self.text(row)
        if role == Qt.ItemDataRole.DecorationRole and self.icon is not None:
            return self.icon(row)
        if role == Qt.ItemDataRole.ToolTipRole and self.tooltip is not None:
            return self.tooltip(row) or None
        if role == PROGRESS_ROLE and self.progress is not None:
            return self.progress(row)
        if role == SORT_ROLE:
            return self.sort_key(row) if self.sort_key else self.text(row)
        if role == Qt.ItemDataRole.TextAlignmentRole and self.align_right:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


class SnapshotTableModel(QAbstractTableModel, Generic[R]):
    """Rows of type ``R`` identified by ``key(row)``; replaced, never mutated.

    Qt's questions (:meth:`rowCount`, :meth:`data`, ...) get an empty model's answers if
    they come while the Python side is being torn down: when the garbage collector
    breaks a cycle of a closed window, it clears each object's attributes before the C++
    objects go, and a view destroyed in between may still ask for its header. Hence the
    class-level empty ``_columns`` and the ``__dict__`` read of ``_rows``: no
    ``AttributeError`` in the middle of Qt's event loop.
    """

    _columns: tuple[Column[R], ...] = ()

    def __init__(
        self,
        columns: Sequence[Column[R]],
        key: Callable[[R], Hashable],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._columns = tuple(columns)
        self._key = key
        self._rows: list[R] = []
        self._index: dict[Hashable, int] = {}

    # ------------------------------------------------------------------ reading
    def rows(self) -> tuple[R, ...]:
        return tuple(self._rows)

    def row_of(self, key: Hashable) -> R | None:
        i = self._index.get(key)
        return None if i is None else self._rows[i]

    def __len__(self) -> int:
        return len(self._rows)

    # ------------------------------------------------------------------ writing
    def upsert(self, rows: Iterable[R]) -> None:
        """Replace rows with known keys, append the others; one signal per kind."""
        changed: list[int] = []
        new: list[R] = []
        for row in rows:
            k = self._key(row)
            i = self._index.get(k)
            if i is None:
                self._index[k] = len(self._rows) + len(new)
                new.append(row)
            else:
                self._rows[i] = row
                changed.append(i)
        if changed:
            last = len(self._columns) - 1
            runs = _runs(sorted(set(changed)))
            if len(runs) > MAX_CHANGE_SIGNALS:  # scattered: one span costs less than many
                runs = [(runs[0][0], runs[-1][1])]
            for first, end in runs:
                self.dataChanged.emit(self.index(first, 0), self.index(end, last))
        if new:
            first = len(self._rows)
            self.beginInsertRows(QModelIndex(), first, first + len(new) - 1)
            self._rows.extend(new)
            self.endInsertRows()

    def replace_all(self, rows: Iterable[R]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self._index = {self._key(r): i for i, r in enumerate(self._rows)}
        self.endResetModel()

    def remove(self, keys: Iterable[Hashable]) -> None:
        """Remove rows by key (row removals, not a reset: views keep their columns)."""
        positions = sorted({self._index[k] for k in keys if k in self._index})
        if not positions:
            return
        for first, last in reversed(_runs(positions)):
            self.beginRemoveRows(QModelIndex(), first, last)
            del self._rows[first : last + 1]
            self.endRemoveRows()
        self._index = {self._key(r): i for i, r in enumerate(self._rows)}

    # ------------------------------------------------------------------ Qt model API
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.__dict__.get("_rows", ()))

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._columns)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> object:
        if (
            orientation == Qt.Orientation.Horizontal
            and role == Qt.ItemDataRole.DisplayRole
            and 0 <= section < len(self._columns)
        ):
            return self._columns[section].header
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        rows = self.__dict__.get("_rows", ())
        if not index.isValid() or index.row() >= len(rows):
            return None
        return self._columns[index.column()].value(rows[index.row()], role)


def _runs(positions: list[int]) -> list[tuple[int, int]]:
    """[1, 2, 3, 7, 8] -> [(1, 3), (7, 8)]."""
    runs: list[tuple[int, int]] = []
    for p in positions:
        if runs and p == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], p)
        else:
            runs.append((p, p))
    return runs


def sortable(model: SnapshotTableModel[R]) -> QSortFilterProxyModel:
    """A proxy that sorts by each column's ``sort_key`` (sizes as numbers, not text)."""
    proxy = QSortFilterProxyModel(model)
    proxy.setSourceModel(model)
    proxy.setSortRole(SORT_ROLE)
    # Sorted when the user clicks a header, not again on every change: re-sorting
    # thousands of rows per progress update stalls the GUI. New rows are appended.
    proxy.setDynamicSortFilter(False)
    return proxy
