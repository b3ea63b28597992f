"""Check boxes that stay visible in dark mode, and focus rings that can be seen (Fusion).

Focus: Fusion marks the focused button or check box with a faint line, hard to find when
moving with Tab. The proxy draws a 2-pixel ring in the highlight colour around whatever
has the keyboard focus (buttons, check boxes, the current cell of a table), on light and
dark palettes alike.

Thread contract: GUI thread only. Fusion draws a check box's frame in the window colour
made darker, which on a dark palette is as dark as the box itself: an unchecked box in
the destination lists, or the exports page's "I understand", all but disappears (Qt
uses Fusion for dark mode on Windows 10, and wherever a dark palette is set). The proxy
below draws Fusion's indicator, then a frame in the text colour when the palette is
dark. Other styles (Windows 11, macOS, Breeze) handle dark mode themselves and are left
alone.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QPainter, QPalette, QPen
from PySide6.QtWidgets import QApplication, QProxyStyle, QStyle, QStyleOption, QWidget

_INDICATORS = (
    QStyle.PrimitiveElement.PE_IndicatorCheckBox,
    QStyle.PrimitiveElement.PE_IndicatorItemViewItemCheck,
)
# How much of the text colour the frame takes: visible, yet quieter than the text.
FRAME_ALPHA = 170
FOCUS_RING_WIDTH = 2.0
_FOCUSABLE = (
    QStyle.PrimitiveElement.PE_FrameFocusRect,
    QStyle.PrimitiveElement.PE_PanelButtonCommand,
)


def is_dark(palette: QPalette) -> bool:
    """Whether ``palette`` is a dark one (light text on a dark base)."""
    base = palette.color(QPalette.ColorRole.Base).lightness()
    text = palette.color(QPalette.ColorRole.Text).lightness()
    return base < text


class ReadableCheckStyle(QProxyStyle):
    """Fusion, with a visible frame around check boxes on dark palettes."""

    def drawPrimitive(
        self,
        element: QStyle.PrimitiveElement,
        option: QStyleOption,
        painter: QPainter,
        widget: QWidget | None = None,
    ) -> None:
        super().drawPrimitive(element, option, painter, widget)
        if element in _FOCUSABLE and option.state & QStyle.StateFlag.State_HasFocus:
            draw_focus_ring(painter, option)
            return
        if element not in _INDICATORS or not is_dark(option.palette):
            return
        colour = QColor(option.palette.color(QPalette.ColorRole.Text))
        colour.setAlpha(FRAME_ALPHA)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(QPen(colour, 1))
        painter.setBrush(QColor(0, 0, 0, 0))
        rect = QRectF(option.rect).adjusted(0.5, 0.5, -0.5, -0.5)
        painter.drawRoundedRect(rect, 1.5, 1.5)
        painter.restore()


def draw_focus_ring(painter: QPainter, option: QStyleOption) -> None:
    """A ring in the highlight colour, inside ``option.rect``."""
    colour = QColor(option.palette.color(QPalette.ColorRole.Highlight))
    half = FOCUS_RING_WIDTH / 2
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    painter.setPen(QPen(colour, FOCUS_RING_WIDTH))
    painter.setBrush(QColor(0, 0, 0, 0))
    painter.drawRoundedRect(QRectF(option.rect).adjusted(half, half, -half, -half), 2.5, 2.5)
    painter.restore()


def dark_palette() -> QPalette:
    """A dark Fusion palette (the screenshots' dark mode; Windows 10's is close)."""
    palette = QPalette()
    for role, colour in (
        (QPalette.ColorRole.Window, "#2b2b2b"),
        (QPalette.ColorRole.WindowText, "#e6e6e6"),
        (QPalette.ColorRole.Base, "#1e1e1e"),
        (QPalette.ColorRole.AlternateBase, "#262626"),
        (QPalette.ColorRole.Text, "#e6e6e6"),
        (QPalette.ColorRole.Button, "#353535"),
        (QPalette.ColorRole.ButtonText, "#e6e6e6"),
        (QPalette.ColorRole.Highlight, "#2f65ca"),
        (QPalette.ColorRole.HighlightedText, "#ffffff"),
        (QPalette.ColorRole.ToolTipBase, "#353535"),
        (QPalette.ColorRole.ToolTipText, "#e6e6e6"),
        (QPalette.ColorRole.Link, "#6ea8ff"),
        (QPalette.ColorRole.PlaceholderText, "#8a8a8a"),
        (QPalette.ColorRole.Mid, "#5a5a5a"),
    ):
        palette.setColor(role, QColor(colour))
    disabled = QPalette.ColorGroup.Disabled
    for role in (
        QPalette.ColorRole.Text,
        QPalette.ColorRole.WindowText,
        QPalette.ColorRole.ButtonText,
    ):
        palette.setColor(disabled, role, QColor("#7a7a7a"))
    return palette


def install_readable_style(qapp: QApplication) -> None:
    """Wrap the application's style in :class:`ReadableCheckStyle` when it is Fusion
    (call again after ``setStyle("Fusion")``); any other style is kept as it is."""
    current = qapp.style()
    if isinstance(current, ReadableCheckStyle) or current.name().lower() != "fusion":
        return
    qapp.setStyle(ReadableCheckStyle("Fusion"))
