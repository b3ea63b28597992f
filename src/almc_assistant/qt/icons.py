"""High-DPI icons: the tray's state icons (with a progress ring while copying) and badges.

Thread contract: GUI thread only (QPixmap/QIcon). SVGs are read from the package's
``assets/icons`` through ``importlib.resources`` (works from a wheel and a PyInstaller
bundle); their sources are in ``resources/icons/generate_icons.py``. Each icon is
rendered at every size a tray or view asks for, at the screen's device pixel ratio, so it
stays sharp at 150 % and 200 % scaling.
"""

from __future__ import annotations

import enum
import functools
from importlib import resources

from PySide6.QtCore import QByteArray, QRectF, Qt
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPainter, QPen, QPixmap
from PySide6.QtSvg import QSvgRenderer

# Tray hosts ask for 16-24 px (Windows at 100-200 %: 16/20/24/32), macOS 18/36, GNOME 22+.
_SIZES = (16, 20, 22, 24, 32, 40, 48, 64, 128)
# Progress shown on the icon snaps to these steps so the tray is not redrawn too often.
PROGRESS_STEPS = 24


class State(enum.Enum):
    """What the tray says at a glance."""

    SAFE = "safe"
    AT_RISK = "at-risk"
    COPYING = "copying"
    PROBLEM = "problem"
    NOT_SET_UP = "not-set-up"  # core.setup_state: nothing to watch yet (not a failure)


class Badge(enum.Enum):
    """A small mark for a file's verdict or a result line."""

    OK = "state-safe"
    NOTE = "state-at-risk"
    BAD = "state-problem"
    WAITING = "state-waiting"
    BUSY = "state-copying"


@functools.cache
def svg_bytes(name: str) -> bytes:
    """The SVG named ``name`` (without ``.svg``) from the package assets."""
    ref = resources.files("almc_assistant") / "assets" / "icons" / f"{name}.svg"
    return ref.read_bytes()


@functools.cache
def _renderer(name: str) -> QSvgRenderer:
    """The parsed SVG (parsed once: the tray's ring is redrawn over it at each step)."""
    renderer = QSvgRenderer(QByteArray(svg_bytes(name)))
    if not renderer.isValid():  # a broken asset is a packaging bug; say which file
        raise ValueError(f"icon asset {name}.svg is not a valid SVG")
    return renderer


def _device_ratio() -> float:
    app = QGuiApplication.instance()
    screen = QGuiApplication.primaryScreen() if app is not None else None
    return max(1.0, screen.devicePixelRatio()) if screen is not None else 1.0


def render(name: str, size: int, progress: float | None = None) -> QPixmap:
    """``name`` at ``size`` logical pixels, with a progress ring when ``progress`` is set."""
    ratio = _device_ratio()
    pixels = max(1, round(size * ratio))
    if progress is None:
        pixmap = QPixmap(_base(name, pixels, pixels))  # a copy: the cached one stays
    else:
        width = _ring_width(pixels)
        inner = max(1, round(pixels - 2 * (width + max(0.5, pixels * 0.03))))
        pixmap = QPixmap(_base(name, pixels, inner))
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        _draw_ring(painter, pixels, width, progress)
        painter.end()
    pixmap.setDevicePixelRatio(ratio)
    return pixmap


@functools.lru_cache(maxsize=256)
def _base(name: str, pixels: int, inner: int) -> QPixmap:
    """``name`` rendered ``inner`` device pixels wide, centred in ``pixels`` (kept:
    rendering an SVG costs far more than drawing a ring around it)."""
    pixmap = QPixmap(pixels, pixels)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    offset = (pixels - inner) / 2
    _renderer(name).render(painter, QRectF(offset, offset, inner, inner))
    painter.end()
    return pixmap


def _ring_width(pixels: int) -> float:
    return max(2.0, pixels * 0.13)


def _draw_ring(painter: QPainter, pixels: int, width: float, progress: float) -> None:
    """A progress ring around the (smaller) disc: a white arc clockwise from 12 o'clock
    over a dark track, at the icon's rim, clear of the glyph.

    The dark track gives the white arc its contrast on light and dark panels alike, at a
    tray's 16-22 px (a white-on-pale-blue ring read as the disc's edge, and a ring drawn
    over the disc hid the glyph: ``docs/screenshots/tray-icons.png``).
    """
    inset = width / 2
    rect = QRectF(inset, inset, pixels - 2 * inset, pixels - 2 * inset)
    painter.setPen(QPen(QColor(0, 0, 0, 160), width))
    painter.drawEllipse(rect)
    arc = QPen(QColor("#ffffff"), width * 0.7)
    arc.setCapStyle(Qt.PenCapStyle.RoundCap)
    painter.setPen(arc)
    span = -round(max(0.0, min(1.0, progress)) * 360 * 16)  # negative: clockwise
    painter.drawArc(rect, 90 * 16, span)


def snap_progress(progress: float | None) -> float | None:
    """Round a fraction to :data:`PROGRESS_STEPS` steps (the tray redraws per step)."""
    if progress is None:
        return None
    clamped = max(0.0, min(1.0, progress))
    return round(clamped * PROGRESS_STEPS) / PROGRESS_STEPS


@functools.cache
def _icon(name: str, progress: float | None) -> QIcon:
    icon = QIcon()
    for size in _SIZES:
        icon.addPixmap(render(name, size, progress))
    return icon


def state_icon(state: State, progress: float | None = None) -> QIcon:
    """The tray icon for ``state``; a progress ring is drawn only while copying."""
    snapped = snap_progress(progress) if state is State.COPYING else None
    return _icon(f"state-{state.value}", snapped)


def badge_icon(badge: Badge) -> QIcon:
    return _icon(badge.value, None)


def app_icon() -> QIcon:
    return _icon("app", None)
