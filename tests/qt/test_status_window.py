"""StatusWindow: shows the controller's status; redraws only what changed."""

from __future__ import annotations

from types import SimpleNamespace

from pytestqt.qtbot import QtBot

from almc_assistant.core.status import Problem, ProblemKind
from almc_assistant.qt.icons import State
from almc_assistant.qt.status_window import StatusWindow
from almc_assistant.qt.tray import TrayStatus


def test_the_icon_is_redrawn_only_when_the_ring_moves_a_step(qtbot: QtBot) -> None:
    window = StatusWindow()
    qtbot.addWidget(window)
    window.set_status(TrayStatus(State.COPYING, "Copying… 50%", ("3 files",), 0.50))
    first = window._icon.pixmap().cacheKey()
    window.set_status(TrayStatus(State.COPYING, "Copying… 51%", ("3 files",), 0.51))
    assert window._icon.pixmap().cacheKey() == first
    assert window.headline() == "Copying… 51%"
    window.set_status(TrayStatus(State.COPYING, "Copying… 60%", ("3 files",), 0.60))
    assert window._icon.pixmap().cacheKey() != first
    window.set_status(TrayStatus(State.SAFE, "All your files are backed up"))
    assert window.headline() == "All your files are backed up"
    assert window._details.isHidden()


def test_report_lists_sessions_disks_and_problems(qtbot: QtBot) -> None:
    window = StatusWindow()
    qtbot.addWidget(window)
    volume = SimpleNamespace(folder="/data", reachable=False)
    offline = Problem(ProblemKind.SETUP, "Setup problem", "Share offline.", "Tell the staff.")
    report = SimpleNamespace(sessions=(), volumes=(volume,), problems=(offline,))
    window.set_report(report)
    text = window.report.text()
    assert "/data is not reachable" in text and "Share offline" in text
    assert "What to do:</i> Tell the staff." in text
    window.set_report(report)  # the same report: the same text
    assert window.report.text() == text
    window.set_report(SimpleNamespace(sessions=(), volumes=(), problems=()))
    assert window.report.text() == ""
