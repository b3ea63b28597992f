"""Notifications: the tray's balloon, or the log where the desktop has no tray.

Thread contract: GUI thread only.
"""

from __future__ import annotations

import logging

from almc_assistant.qt.prompts import Level
from almc_assistant.qt.tray import TrayIcon

log = logging.getLogger(__name__)


class Notifier:
    """``notify(title, text, level, key)``: ``key`` comes back with a click on it."""

    def __init__(self, tray: TrayIcon | None) -> None:
        self._tray = tray

    def __call__(self, title: str, text: str, level: Level = Level.INFO, key: str = "") -> None:
        if self._tray is not None:
            self._tray.notify(title, text, level, key)
        else:
            log.warning("%s: %s", title, text)
