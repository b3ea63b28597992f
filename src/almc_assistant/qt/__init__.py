"""The only package that imports PySide6: tray, windows, wizard, dialogs, bridge."""

from almc_assistant.qt import _pyside_workarounds as _pyside_workarounds
