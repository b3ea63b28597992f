"""The one port through which the app asks or tells the user something.

Thread contract: GUI thread only. Every question, message, crash report and file picker
goes through a :class:`Prompter`; no other module calls ``QMessageBox`` or
``QFileDialog``. :class:`QtPrompter` implements it with Qt's standard dialogs; tests pass
a recording fake (``tests/qt/helpers.py``) and a fixture fails any test that opens a real
modal dialog (the idea of qutebrowser's ``message.ask`` / ``messagemock``).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget


class Level(enum.Enum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


class Role(enum.Enum):
    """How a choice behaves: the default action, a safe way out, or a risky action."""

    ACCEPT = "accept"
    REJECT = "reject"  # also what Escape or closing the box answers
    DESTRUCTIVE = "destructive"


@dataclass(frozen=True, slots=True)
class Choice:
    key: str
    label: str
    role: Role = Role.ACCEPT


@dataclass(frozen=True, slots=True)
class Question:
    """A question with named answers; ``default`` is the key Enter picks."""

    key: str  # stable id (tests script answers by it)
    title: str
    text: str
    choices: tuple[Choice, ...]
    default: str
    detail: str = ""
    level: Level = Level.WARNING

    @property
    def escape(self) -> str:
        """The answer that Escape or closing the box gives (the first REJECT)."""
        for c in self.choices:
            if c.role is Role.REJECT:
                return c.key
        return self.default


@dataclass(frozen=True, slots=True)
class Message:
    title: str
    text: str
    detail: str = ""
    level: Level = Level.INFO
    paths: tuple[str, ...] = field(default=())


class Prompter(Protocol):
    """What the app may ask or tell the user. GUI thread only."""

    def ask(self, question: Question) -> str:
        """Show ``question``; return the key of the chosen answer."""
        ...

    def tell(self, message: Message) -> None:
        """Show a message the user acknowledges."""
        ...

    def report_crash(self, summary: str, details: str, log_file: str) -> None:
        """An unexpected error: what happened, the traceback, where the log is."""
        ...

    def choose_files(self, title: str, start: str = "") -> list[str]:
        """Pick existing files; empty when cancelled."""
        ...

    def choose_folder(self, title: str, start: str = "") -> str:
        """Pick one folder; empty when cancelled."""
        ...

    def choose_save_file(self, title: str, suggested: str, filters: str) -> str:
        """Pick where to save; empty when cancelled."""
        ...

    def print_html(self, title: str, html: str) -> bool:
        """Let the user print ``html`` (choosing the printer); False when cancelled."""
        ...


_ICONS = {
    Level.INFO: QMessageBox.Icon.Information,
    Level.WARNING: QMessageBox.Icon.Warning,
    Level.ERROR: QMessageBox.Icon.Critical,
}
_ROLES = {
    Role.ACCEPT: QMessageBox.ButtonRole.AcceptRole,
    Role.REJECT: QMessageBox.ButtonRole.RejectRole,
    Role.DESTRUCTIVE: QMessageBox.ButtonRole.DestructiveRole,
}


class QtPrompter:
    """:class:`Prompter` with Qt's standard dialogs, parented to ``parent`` when given."""

    def __init__(self, parent: QWidget | None = None) -> None:
        self._parent = parent
        # Where pickers open when the caller names no folder: where the user's data is
        # (the app sets it to the first acquisition folder), never the working folder.
        self.default_folder: Callable[[], str] = lambda: str(Path.home())

    def _box(self, title: str, text: str, detail: str, level: Level) -> QMessageBox:
        box = QMessageBox(self._parent)
        box.setWindowTitle(title)
        box.setIcon(_ICONS[level])
        box.setText(text)
        if detail:
            box.setInformativeText(detail)
        return box

    def ask(self, question: Question) -> str:
        box = self._box(question.title, question.text, question.detail, question.level)
        buttons: dict[object, str] = {}
        for choice in question.choices:
            button = box.addButton(choice.label, _ROLES[choice.role])
            buttons[button] = choice.key
            if choice.key == question.default:
                box.setDefaultButton(button)
            if choice.key == question.escape:
                box.setEscapeButton(button)
        box.exec()
        clicked: object = box.clickedButton()
        return buttons.get(clicked, question.escape)

    def tell(self, message: Message) -> None:
        detail = message.detail
        if message.paths:
            detail = "\n".join([detail, *message.paths]).strip()
        box = self._box(message.title, message.text, detail, message.level)
        box.exec()

    def report_crash(self, summary: str, details: str, log_file: str) -> None:
        box = self._box(
            "almc-assistant: unexpected error",
            summary,
            "Your files are not affected: copies are only ever finalised after "
            f"verification.\nThe full report is in the log: {log_file}",
            Level.ERROR,
        )
        box.setDetailedText(details)
        box.exec()

    def choose_files(self, title: str, start: str = "") -> list[str]:
        names, _ = QFileDialog.getOpenFileNames(self._parent, title, start or self.default_folder())
        return list(names)

    def choose_folder(self, title: str, start: str = "") -> str:
        return QFileDialog.getExistingDirectory(self._parent, title, start or self.default_folder())

    def choose_save_file(self, title: str, suggested: str, filters: str) -> str:
        name, _ = QFileDialog.getSaveFileName(self._parent, title, suggested, filters)
        return name

    def print_html(self, title: str, html: str) -> bool:
        from PySide6.QtGui import QTextDocument
        from PySide6.QtPrintSupport import QPrintDialog, QPrinter

        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        printer.setDocName(title)
        dialog = QPrintDialog(printer, self._parent)
        dialog.setWindowTitle(title)
        if dialog.exec() != QPrintDialog.DialogCode.Accepted:
            return False
        document = QTextDocument()
        document.setHtml(html)
        document.print_(printer)
        return True
