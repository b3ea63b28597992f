"""Pre-deletion warnings: what is at risk, from when, and the one-click backup."""

from __future__ import annotations

import time
from pathlib import Path

from pytestqt.qtbot import QtBot

from almc_assistant.core.catalog.records import FileState
from almc_assistant.core.status import UnsafeFile
from almc_assistant.core.warnings import SafetyWarning, Severity, WarningKind
from almc_assistant.qt.warnings_window import DeletionWarningWindow

DAY = 86400.0


def _unsafe(path: Path, size: int, days_left: float, now: float) -> UnsafeFile:
    return UnsafeFile(
        path=path,
        size=size,
        session_id=1,
        state=FileState.COMPLETE,
        verdict="native-ok",
        candidate_date=now + days_left * DAY,
        warn_date=now,
        missing="needs 1 verified copy",
    )


def test_lists_files_with_their_cleanup_dates(qtbot: QtBot, tmp_path: Path) -> None:
    now = time.time()
    window = DeletionWarningWindow()
    qtbot.addWidget(window)
    files = [
        _unsafe(tmp_path / "old.nd2", 5 * 10**9, 3, now),
        _unsafe(tmp_path / "new.nd2", 10**9, 29, now),
    ]
    warning = SafetyWarning(
        WarningKind.CLEANUP_SOON,
        Severity.WARNING,
        "2 files (6.0 GB) may be deleted from Thu",
        "These files have no safe backup yet.",
        "Back them up before then.",
        files=2,
    )
    window.set_report([warning], files, now=now)
    assert "2 files (6.0 GB) may be deleted from Thu" in window.headline()
    assert "Back them up before then." in window.headline()
    texts = {
        window.model.data(window.model.index(i, 0)): window.model.data(window.model.index(i, 2))
        for i in range(len(window.model))
    }
    assert str(texts["old.nd2"]).endswith("(in 3 days)")
    assert window.model.data(window.model.index(0, 3)) == "needs 1 verified copy"
    with qtbot.waitSignal(window.backup_requested) as got:
        window.backup_button.click()
    assert sorted(got.args[0]) == sorted(f.path for f in files)


def test_past_the_date_means_now(qtbot: QtBot, tmp_path: Path) -> None:
    now = time.time()
    window = DeletionWarningWindow()
    qtbot.addWidget(window)
    window.set_report([], [_unsafe(tmp_path / "a.nd2", 10, -1, now)], now=now)
    assert window.model.data(window.model.index(0, 2)) == "now"


def test_nothing_at_risk(qtbot: QtBot) -> None:
    window = DeletionWarningWindow()
    qtbot.addWidget(window)
    window.set_report([], [])
    assert "Nothing is at risk" in window.headline()
    assert not window.backup_button.isEnabled()


def test_unsafe_files_without_warnings_are_not_called_safe(qtbot: QtBot, tmp_path: Path) -> None:
    now = time.time()
    window = DeletionWarningWindow()
    qtbot.addWidget(window)
    window.set_report([], [_unsafe(tmp_path / "a.nd2", 10**9, 30, now)], now=now)
    assert "Nothing is at risk" not in window.headline()
    assert "1 file (1.0 GB) not backed up yet" in window.headline()
