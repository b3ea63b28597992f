"""PySide6 6.12.0 + CPython 3.11 drops a reference to True on every signal emit.

Without ``qt/_pyside_workarounds.py`` this test aborts the interpreter ("bool_dealloc").
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from pytestqt.qtbot import QtBot

import almc_assistant.qt  # noqa: F401  (applies the workaround)


class _Emitter(QObject):
    fired = Signal(object)


def test_many_emits_do_not_abort(qtbot: QtBot) -> None:
    emitter = _Emitter()
    got: list[int] = []
    emitter.fired.connect(got.append)
    for i in range(200_000):
        emitter.fired.emit(i)
    assert len(got) == 200_000


def test_many_void_calls_do_not_abort(qtbot: QtBot) -> None:
    from PySide6.QtWidgets import QLabel

    label = QLabel()
    qtbot.addWidget(label)
    for i in range(300_000):  # each call dropped a reference to None
        label.setText(str(i % 10))
    assert label.text() == "9"
