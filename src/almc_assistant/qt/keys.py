"""Keyboard habits every window shares: Esc closes a non-modal window; Tab leaves tables.

Thread contract: GUI thread only.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QWidget


def close_on_escape(window: QWidget) -> None:
    """Esc (and the platform's Close, Ctrl+W / Cmd+W) closes ``window``, as it closes a
    dialog. Only for windows whose closing loses nothing (they keep no unsaved work, or
    ask first in their ``closeEvent``)."""
    QShortcut(QKeySequence(Qt.Key.Key_Escape), window, window.close)
    QShortcut(QKeySequence.StandardKey.Close, window, window.close)
