"""A checkable list of backup destinations with each kind's guidance.

Thread contract: GUI thread only; no I/O (a destination's reachability is the
service's preflight, reported through events). Destinations are the core's values
(``name``, ``path``, ``kind``, ``origin``, ``guidance``, ``backed_up``); a folder the user
picks for this once is made into one by the ``make_destination`` callable given.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QSize, Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from almc_assistant.core.destinations import Destination, guidance_for
from almc_assistant.qt.prompts import Prompter

_DEST_ROLE = Qt.ItemDataRole.UserRole + 10


class _NoFocusFrame(QStyledItemDelegate):
    """Items drawn without the focus frame: Fusion draws the focused item's text inside
    the frame's margins, which cut the first line's tops and the last line's descenders
    of a two-line item ("g" read as "q"). The current item stays highlighted; each item
    has a few pixels of room above and below its lines."""

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        hint = super().sizeHint(option, index)
        return QSize(hint.width(), hint.height() + 6)

    def initStyleOption(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        super().initStyleOption(option, index)
        option.state &= ~QStyle.StateFlag.State_HasFocus


def kind_label(destination: Destination) -> str:
    return destination.info.label


def place(destination: Destination) -> str:
    """What names a destination: its remote (``research:lab/me``) or its folder."""
    return destination.where


def describe(destination: Destination) -> str:
    origin = " (facility)" if destination.origin == "facility" else ""
    return f"{destination.name}{origin} — {kind_label(destination)}\n{place(destination)}"


def _destination_of(item: QListWidgetItem) -> Destination:
    """The destination an item of the list stands for (set by ``_add_item``)."""
    destination = item.data(_DEST_ROLE)
    assert isinstance(destination, Destination), destination
    return destination


class DestinationPicker(QWidget):
    """Emits ``selection_changed`` with the checked destinations (a list)."""

    selection_changed = Signal(object)

    def __init__(
        self,
        prompter: Prompter,
        make_destination: Callable[[Path], Destination],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._prompter = prompter
        self._make = make_destination
        self._not_counted: tuple[str, ...] = ()  # "<name>: why", the service's answer
        self.list = QListWidget()
        self.list.setWordWrap(True)
        self.list.setAlternatingRowColors(True)
        self.list.setSpacing(2)
        self.list.setItemDelegate(_NoFocusFrame(self.list))
        self.list.itemChanged.connect(self._on_list_item_changed)
        self.list.currentItemChanged.connect(self._on_list_current_item_changed)
        self.guidance = QLabel()
        self.guidance.setWordWrap(True)
        self.guidance.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.other_button = QPushButton("&Other folder…")
        self.other_button.clicked.connect(self._on_other_button_clicked)
        buttons = QHBoxLayout()
        buttons.addWidget(self.other_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.guidance)
        layout.addLayout(buttons)

    def set_destinations(
        self, destinations: Sequence[Destination], checked: Sequence[Destination] = ()
    ) -> None:
        keep = {place(d) for d in (checked or self.selected())}
        self.list.blockSignals(True)
        self.list.clear()
        for destination in destinations:
            self._add_item(destination, place(destination) in keep)
        self.list.blockSignals(False)
        if self.list.count():  # the guidance shown: the first checked one's, or the first's
            checked_rows = [
                i
                for i in range(self.list.count())
                if self.list.item(i).checkState() == Qt.CheckState.Checked
            ]
            self.list.setCurrentRow(checked_rows[0] if checked_rows else 0)
        self.selection_changed.emit(self.selected())

    def _add_item(self, destination: Destination, checked: bool) -> QListWidgetItem:
        item = QListWidgetItem(describe(destination))
        item.setData(_DEST_ROLE, destination)
        item.setToolTip(self._guidance(destination))
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
        self.list.addItem(item)
        return item

    def selected(self) -> list[Destination]:
        out = []
        for i in range(self.list.count()):
            item = self.list.item(i)
            if item.checkState() == Qt.CheckState.Checked:
                out.append(_destination_of(item))
        return out

    def set_checked(self, path: str, checked: bool = True) -> None:
        for i in range(self.list.count()):
            item = self.list.item(i)
            if place(_destination_of(item)) == path:
                state = Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked
                item.setCheckState(state)

    def add_folder(self, folder: str) -> Destination:
        """Add a folder picked for this copy (checked), unless it is listed already."""
        for i in range(self.list.count()):
            existing = _destination_of(self.list.item(i))
            if not existing.remote and str(existing.path) == str(Path(folder)):
                self.list.item(i).setCheckState(Qt.CheckState.Checked)
                return existing
        destination = self._make(Path(folder))
        item = self._add_item(destination, True)
        self.list.setCurrentItem(item)
        self.selection_changed.emit(self.selected())
        return destination

    def _on_other_button_clicked(self) -> None:
        folder = self._prompter.choose_folder("Choose a folder to copy to")
        if folder:
            self.add_folder(folder)

    def _on_list_item_changed(self, item: QListWidgetItem) -> None:
        if item.checkState() == Qt.CheckState.Checked:  # its guidance is what matters now
            self.list.setCurrentItem(item)
        self.selection_changed.emit(self.selected())

    def _on_list_current_item_changed(
        self, item: QListWidgetItem | None, _prev: QListWidgetItem | None
    ) -> None:
        destination = _destination_of(item) if item is not None else None
        self.guidance.setText(self._guidance(destination) if destination else "")

    def set_not_counted(self, not_counted: Sequence[str]) -> None:
        """The service's per-disk answer for the files being backed up (PlanSafety's
        ``not_counted``): the guidance of a destination that would not count says so."""
        self._not_counted = tuple(not_counted)
        self.list.blockSignals(True)  # a tooltip is no change of the selection
        try:
            for i in range(self.list.count()):
                item = self.list.item(i)
                item.setToolTip(self._guidance(_destination_of(item)))
        finally:
            self.list.blockSignals(False)
        self._on_list_current_item_changed(self.list.currentItem(), None)

    def _guidance(self, destination: Destination) -> str:
        return guidance_for(destination, self._not_counted)
