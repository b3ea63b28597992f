"""A tree model over row snapshots grouped by dataset: one row per dataset, expandable.

Thread contract: GUI thread only. Like :class:`~almc_assistant.qt.table_model.
SnapshotTableModel`, each file row is a frozen value replaced whole (``upsert``); a row
whose ``group_of`` is a dataset id goes under that dataset's row, any other row stands
alone at the top. A dataset's row shows a summary the caller computes from its rows
(``summarize``), cached until one of its rows changes.

Rows that need attention come first, always (``rank``: lower first), at the top and
within a dataset, so a damaged ND2 or an export to fix is never pushed off screen by a
plate of 300 good tiles; within a rank, rows keep their arrival order or the column the
user sorted by. Reordering keeps the selection and the expanded rows (persistent
indexes are moved, the model is never reset but by ``replace_all``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QObject, QPersistentModelIndex, Qt

from almc_assistant.qt.table_model import Column

if TYPE_CHECKING:
    from _typeshed import SupportsRichComparison

R = TypeVar("R")  # a row (a file)
S = TypeVar("S")  # a dataset's summary row
T = TypeVar("T")
Index = QModelIndex | QPersistentModelIndex
_TOP = 0  # internal id of top-level indexes; a child's is its group's serial


class _Node(Generic[S]):
    """A top-level row: a dataset (``group`` set, ``keys`` its rows) or one loose row."""

    __slots__ = ("group", "keys", "rank", "serial", "summary")

    def __init__(self, serial: int, group: str | None, keys: list[Hashable]) -> None:
        self.serial, self.group, self.keys = serial, group, keys
        self.summary: S | None = None
        self.rank: int | None = None  # its rank when the rows were last put in order


class GroupTreeModel(QAbstractItemModel, Generic[R, S]):
    """Rows of type ``R`` keyed by ``key(row)``, under their dataset's row (of type ``S``,
    made by ``summarize``) when ``group_of(row)`` names one; see the module docstring.
    The columns show both kinds of row."""

    _columns: tuple[Column[R | S], ...] = ()

    def __init__(
        self,
        columns: Sequence[Column[R | S]],
        *,
        key: Callable[[R], Hashable],
        group_of: Callable[[R], str | None],
        summarize: Callable[[str, Sequence[R]], S],
        rank: Callable[[R | S], int],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._columns = tuple(columns)
        self._key, self._group_of, self._summarize, self._rank = key, group_of, summarize, rank
        self._serials = itertools.count(1)
        self._sort: tuple[int, Qt.SortOrder] | None = None
        self._clear()

    def _clear(self) -> None:
        self._rows: dict[Hashable, R] = {}
        self._born: dict[Hashable, int] = {}  # arrival order of each row
        self._ranks: dict[Hashable, int] = {}  # each row's rank
        self._dirty_top = False  # rows at the top may be out of order
        self._dirty: set[int] = set()  # datasets whose rows may be out of order
        self._node_of: dict[Hashable, _Node[S]] = {}
        self._groups: dict[str, _Node[S]] = {}
        self._nodes: dict[int, _Node[S]] = {}
        self._top: list[_Node[S]] = []
        self._pos: dict[int, int] = {}

    # ------------------------------------------------------------------ reading
    def rows(self) -> tuple[R, ...]:
        return tuple(self._rows.values())

    def row_of(self, key: Hashable) -> R | None:
        return self._rows.get(key)

    def __len__(self) -> int:
        return len(self._rows)

    def summary(self, group: str) -> S | None:
        node = self._groups.get(group)
        return None if node is None else self._summary(node)

    def item(self, index: Index) -> R | S | None:
        """The row (a file) or the summary (a dataset) at ``index``; None if invalid."""
        if not index.isValid():
            return None
        if index.internalId() == _TOP:
            if index.row() >= len(self._top):
                return None
            return self._item_of(self._top[index.row()])
        group = self._nodes.get(index.internalId())
        if group is None or index.row() >= len(group.keys):
            return None
        return self._rows[group.keys[index.row()]]

    def keys_at(self, index: Index) -> list[Hashable]:
        """The keys of the rows at ``index``: a dataset's all, a file's own."""
        if not index.isValid():
            return []
        if index.internalId() == _TOP:
            return list(self._top[index.row()].keys)
        node = self._nodes[index.internalId()]
        return [node.keys[index.row()]]

    def index_of(self, key: Hashable, column: int = 0) -> QModelIndex:
        """Where the row ``key`` is shown (under its dataset's row, or at the top)."""
        node = self._node_of.get(key)
        if node is None:
            return QModelIndex()
        if node.group is None:
            return self.createIndex(self._pos[node.serial], column, _TOP)
        return self.createIndex(node.keys.index(key), column, node.serial)

    def group_index(self, group: str, column: int = 0) -> QModelIndex:
        node = self._groups.get(group)
        if node is None:
            return QModelIndex()
        return self.createIndex(self._pos[node.serial], column, _TOP)

    def _summary(self, node: _Node[S]) -> S:
        if node.summary is None:
            assert node.group is not None
            node.summary = self._summarize(node.group, [self._rows[k] for k in node.keys])
        return node.summary

    # ------------------------------------------------------------------ writing
    def upsert(self, rows: Iterable[R]) -> None:
        """Replace rows with known keys, add the others (under their dataset's row)."""
        changed: dict[int, set[Hashable]] = {}  # node serial -> its changed keys
        new_top: list[_Node[S]] = []
        new_children: dict[int, list[Hashable]] = {}
        moved: list[R] = []
        for row in rows:
            k, group = self._key(row), self._group_of(row)
            node = self._node_of.get(k)
            if node is not None and node.group != group:
                moved.append(row)  # its dataset changed: taken out, put in again below
                continue
            if node is not None:
                self._rows[k] = row
                changed.setdefault(node.serial, set()).add(k)
                self._note_rank(k, node)
                continue
            self._rows[k] = row
            self._born[k] = next(self._serials)
            self._ranks[k] = self._rank(row)
            if group is None:
                node = self._new_node(None, [k])
                node.rank = self._ranks[k]
                new_top.append(node)
            elif group in self._groups:
                node = self._groups[group]
                if node in new_top:
                    node.keys.append(k)
                else:
                    new_children.setdefault(node.serial, []).append(k)
            else:
                node = self._groups[group] = self._new_node(group, [k])
                new_top.append(node)
            self._node_of[k] = node
        for serial, keys in new_children.items():
            node = self._nodes[serial]
            first = len(node.keys)
            self.beginInsertRows(
                self.createIndex(self._pos[serial], 0, _TOP), first, first + len(keys) - 1
            )
            node.keys.extend(keys)
            node.summary = None
            self.endInsertRows()
            changed.setdefault(serial, set())
            self._dirty.add(serial)
        if new_top:
            self._dirty_top = True
            first = len(self._top)
            self.beginInsertRows(QModelIndex(), first, first + len(new_top) - 1)
            for i, node in enumerate(new_top, first):
                self._top.append(node)
                self._pos[node.serial] = i
            self.endInsertRows()
        self._emit_changed(changed)
        if moved:
            self.remove(self._key(r) for r in moved)
            self.upsert(moved)
        else:
            self._reorder()

    def _note_rank(self, key: Hashable, node: _Node[S]) -> None:
        """A row changed: if its rank did, its place may have to change."""
        rank = self._rank(self._rows[key])
        if rank != self._ranks.get(key):
            self._ranks[key] = rank
            if node.group is None:
                node.rank = rank
                self._dirty_top = True
            else:
                self._dirty.add(node.serial)

    def _check_group_rank(self, node: _Node[S]) -> None:
        """A dataset's rows changed: if its summary's rank did, its place may too."""
        rank = self._rank(self._summary(node))
        if node.rank != rank:
            node.rank = rank
            self._dirty_top = True

    def _new_node(self, group: str | None, keys: list[Hashable]) -> _Node[S]:
        node: _Node[S] = _Node(next(self._serials), group, keys)
        self._nodes[node.serial] = node
        return node

    def _emit_changed(self, changed: dict[int, set[Hashable]]) -> None:
        last = len(self._columns) - 1
        tops: list[int] = []
        for serial, keys in changed.items():
            node = self._nodes[serial]
            tops.append(self._pos[serial])
            if node.group is None:
                continue
            node.summary = None
            self._check_group_rank(node)
            if not keys:
                continue
            where = [i for i, k in enumerate(node.keys) if k in keys]
            parent = serial
            self.dataChanged.emit(
                self.createIndex(min(where), 0, parent), self.createIndex(max(where), last, parent)
            )
        if tops:  # one span: scattered signals cost more than one repaint of the span
            self.dataChanged.emit(
                self.createIndex(min(tops), 0, _TOP), self.createIndex(max(tops), last, _TOP)
            )

    def refresh_groups(self, groups: Iterable[str]) -> None:
        """Summaries of ``groups`` computed again (what ``summarize`` reads changed)."""
        changed: dict[int, set[Hashable]] = {
            self._groups[g].serial: set() for g in groups if g in self._groups
        }
        for serial in changed:
            self._nodes[serial].summary = None
        self._emit_changed(changed)
        self._reorder()

    def remove(self, keys: Iterable[Hashable]) -> None:
        """Remove rows by key; a dataset's row goes with its last file."""
        for k in list(dict.fromkeys(keys)):
            node = self._node_of.get(k)
            if node is None:
                continue
            if node.group is not None and len(node.keys) > 1:
                i = node.keys.index(k)
                self.beginRemoveRows(self.createIndex(self._pos[node.serial], 0, _TOP), i, i)
                self._forget(k)  # while views may still ask about the row: it is there
                node.keys.pop(i)
                node.summary = None
                self.endRemoveRows()
                self._check_group_rank(node)
                continue
            at = self._pos[node.serial]
            self.beginRemoveRows(QModelIndex(), at, at)
            self._forget(k)
            self._top.pop(at)
            del self._nodes[node.serial]
            if node.group is not None:
                del self._groups[node.group]
            self._pos = {n.serial: i for i, n in enumerate(self._top)}
            self.endRemoveRows()
        self._reorder()

    def _forget(self, key: Hashable) -> None:
        del self._node_of[key], self._rows[key], self._born[key], self._ranks[key]

    def replace_all(self, rows: Iterable[R]) -> None:
        self.beginResetModel()
        self._clear()
        self.endResetModel()
        self.upsert(rows)

    # ------------------------------------------------------------------ order
    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """The user sorted by ``column`` (rows needing attention stay first)."""
        self._sort = (column, order) if 0 <= column < len(self._columns) else None
        self._reorder(force=True)

    def _order_key(self, item: R | S) -> SupportsRichComparison:
        assert self._sort is not None
        column = self._columns[self._sort[0]]
        return column.sort_key(item) if column.sort_key else column.text(item)

    def _ordered(
        self, items: list[T], subjects: Sequence[R | S] | None, ranks: list[int]
    ) -> list[T]:
        """``items`` sorted like their ``subjects`` (rows or summaries; None when the
        user sorted by no column): attention first (``ranks``), then the user's column
        or the arrival order."""
        pairs = list(zip(items, ranks, strict=True))
        if self._sort is not None and subjects is not None:
            keys = [self._order_key(x) for x in subjects]
            reverse = self._sort[1] == Qt.SortOrder.DescendingOrder
            keyed = sorted(zip(pairs, keys, strict=True), key=lambda p: p[1], reverse=reverse)
            pairs = [p for p, _ in keyed]
        pairs.sort(key=lambda p: p[1])
        return [p[0] for p in pairs]

    def _reorder(self, *, force: bool = False) -> None:
        """Put rows in order again where a change may have moved them (new rows, a rank
        that changed); ``force``: everywhere (the user sorted). A copy's progress changes
        no rank, so it never reorders (nor relays out) thousands of rows."""
        if not (force or self._dirty_top or self._dirty):
            return
        new_top = self._top
        if force or self._dirty_top:
            for node in self._top:
                if node.rank is None:  # a dataset's row just made
                    node.rank = self._rank(self._item_of(node))
            if force or not self._in_order():
                by_arrival = sorted(self._top, key=lambda n: n.serial)
                items = [self._item_of(n) for n in by_arrival] if self._sort else None
                ranks = [n.rank or 0 for n in by_arrival]
                new_top = self._ordered(by_arrival, items, ranks)
        children: dict[int, list[Hashable]] = {}
        groups = self._top if force else [self._nodes[s] for s in self._dirty if s in self._nodes]
        for node in groups:
            if node.group is None or len(node.keys) < 2:
                continue
            arrival = sorted(node.keys, key=self._born.__getitem__)
            rows = [self._rows[k] for k in arrival]
            order = self._ordered(arrival, rows, [self._ranks[k] for k in arrival])
            if order != node.keys:
                children[node.serial] = order
        self._dirty_top, self._dirty = False, set()
        if new_top == self._top and not children:
            return
        self.layoutAboutToBeChanged.emit()
        olds = self.persistentIndexList()
        where = [self._identity(i) for i in olds]
        self._top = new_top
        self._pos = {n.serial: i for i, n in enumerate(self._top)}
        for serial, order in children.items():
            self._nodes[serial].keys = order
        news = [self._from_identity(w) for w in where]
        self.changePersistentIndexList(olds, news)
        self.layoutChanged.emit()

    def _in_order(self) -> bool:
        """Whether the top rows are in order already (rows only appended in arrival
        order, no rank changed: the usual case while a folder's files arrive)."""
        if self._sort is not None:
            return False
        last = (-1, -1)
        for node in self._top:
            here = (node.rank or 0, node.serial)
            if here < last:
                return False
            last = here
        return True

    def _item_of(self, node: _Node[S]) -> R | S:
        return self._summary(node) if node.group is not None else self._rows[node.keys[0]]

    def _identity(self, index: Index) -> tuple[int, Hashable | None, int]:
        if not index.isValid():
            return (0, None, 0)
        if index.internalId() == _TOP:
            return (self._top[index.row()].serial, None, index.column())
        node = self._nodes[index.internalId()]
        return (node.serial, node.keys[index.row()], index.column())

    def _from_identity(self, where: tuple[int, Hashable | None, int]) -> QModelIndex:
        serial, key, column = where
        if serial not in self._pos:
            return QModelIndex()
        if key is None:
            return self.createIndex(self._pos[serial], column, _TOP)
        return self.createIndex(self._nodes[serial].keys.index(key), column, serial)

    # ------------------------------------------------------------------ Qt model API
    def index(self, row: int, column: int, parent: Index = QModelIndex()) -> QModelIndex:  # noqa: B008
        if column < 0 or column >= len(self._columns) or row < 0:
            return QModelIndex()
        if not parent.isValid():
            return self.createIndex(row, column, _TOP) if row < len(self._top) else QModelIndex()
        if parent.internalId() != _TOP or parent.row() >= len(self.__dict__.get("_top", ())):
            return QModelIndex()
        node = self._top[parent.row()]
        if node.group is None or row >= len(node.keys):
            return QModelIndex()
        return self.createIndex(row, column, node.serial)

    # Any: one method for Qt's two overloads, QObject.parent() and the model's parent(index)
    def parent(self, *args: Any) -> Any:
        if not args:  # QObject.parent()
            return super().parent()
        index = args[0]
        if not index.isValid() or index.internalId() == _TOP:
            return QModelIndex()
        pos = self.__dict__.get("_pos", {}).get(index.internalId())
        return QModelIndex() if pos is None else self.createIndex(pos, 0, _TOP)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        top = self.__dict__.get("_top", ())
        if not parent.isValid():
            return len(top)
        if parent.internalId() != _TOP or parent.column() != 0 or parent.row() >= len(top):
            return 0
        node = top[parent.row()]
        return len(node.keys) if node.group is not None else 0

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return len(self._columns)

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
        if "_top" not in self.__dict__:  # being torn down (see SnapshotTableModel)
            return None
        item = self.item(index)
        if item is None:
            return None
        return self._columns[index.column()].value(item, role)
