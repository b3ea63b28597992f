"""Dark mode: check boxes keep a visible frame (Fusion draws it as dark as the box)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage, QPalette
from PySide6.QtWidgets import QApplication, QCheckBox, QListWidget, QListWidgetItem, QStyleFactory
from pytestqt.qtbot import QtBot

from almc_assistant.qt.style import (
    ReadableCheckStyle,
    dark_palette,
    install_readable_style,
    is_dark,
)


def _brightest(image: QImage) -> int:
    return max(
        image.pixelColor(x, y).lightness()
        for x in range(image.width())
        for y in range(image.height())
    )


def _unchecked_box(qtbot: QtBot, style) -> QImage:
    box = QCheckBox()  # no text: the image is the indicator alone
    qtbot.addWidget(box)
    box.setStyle(style)
    box.setPalette(dark_palette())
    box.resize(box.sizeHint())
    return box.grab().toImage()


def test_an_unchecked_box_has_a_visible_frame_in_dark_mode(qtbot: QtBot) -> None:
    plain = QStyleFactory.create("Fusion")
    readable = ReadableCheckStyle("Fusion")
    # Plain Fusion: nothing in the box is much lighter than the dark window (#2b2b2b).
    assert _brightest(_unchecked_box(qtbot, plain)) < 80
    assert _brightest(_unchecked_box(qtbot, readable)) > 140


def test_list_item_check_boxes_get_the_frame_too(qtbot: QtBot) -> None:
    view = QListWidget()
    qtbot.addWidget(view)
    style = ReadableCheckStyle("Fusion")
    view.setStyle(style)
    view.setPalette(dark_palette())
    item = QListWidgetItem("")
    item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
    item.setCheckState(Qt.CheckState.Unchecked)
    view.addItem(item)
    view.resize(120, 40)
    rect = view.visualItemRect(item)
    image = view.viewport().grab(rect).toImage()
    assert _brightest(image) > 140


def test_light_palettes_are_left_as_fusion_draws_them(qtbot: QtBot) -> None:
    light = QPalette(QColor("#efefef"))
    assert not is_dark(light) and is_dark(dark_palette())


def test_install_wraps_fusion_once(qtbot: QtBot) -> None:
    qapp = QApplication.instance()
    assert isinstance(qapp, QApplication)
    before = qapp.style().name()
    try:
        qapp.setStyle("Fusion")
        install_readable_style(qapp)
        style = qapp.style()
        assert isinstance(style, ReadableCheckStyle)
        install_readable_style(qapp)
        assert qapp.style() is style
    finally:
        qapp.setStyle(before)
