"""Pre-deletion warnings: what is at risk, from when, and the one-click backup."""

from __future__ import annotations

import time
from pathlib import Path

from almc_assistant.core.catalog.records import FileRecord, FileState
from almc_assistant.core.config import RetentionSettings
from almc_assistant.core.policy import Retention
from almc_assistant.qt.warnings_window import DeletionWarningWindow

DAY = 86400.0


def _record(path: Path, size: int, age_days: float, now: float) -> FileRecord:
    return FileRecord(
        id=1,
        path=path,
        size=size,
        mtime_ns=0,
        owner="me",
        first_seen=now - age_days * DAY,
        born=now - age_days * DAY,
        session_id=1,
        state=FileState.COMPLETE,
        verdict="native-ok",
        verdict_reasons=(),
        safe=False,
    )


def test_lists_files_with_their_cleanup_dates(qtbot, tmp_path) -> None:  # type: ignore[no-untyped-def]
    now = time.time()
    window = DeletionWarningWindow()
    qtbot.addWidget(window)
    records = [
        _record(tmp_path / "old.nd2", 5 * 10**9, 27, now),
        _record(tmp_path / "new.nd2", 10**9, 1, now),
    ]
    window.set_at_risk(records, Retention(RetentionSettings(max_age_days=30)), now=now)
    assert window.headline.text().startswith("2 files (6.0 GB) are not backed up")
    assert "(in 3 days)" in window.headline.text()
    rows = {r.path.name: r for r in window.model.rows()}
    assert round(rows["old.nd2"].days_left) == 3 and round(rows["new.nd2"].days_left) == 29
    with qtbot.waitSignal(window.backup_requested) as got:
        window.backup_button.click()
    assert sorted(got.args[0]) == sorted(r.path for r in records)


def test_disk_full_means_now(qtbot, tmp_path) -> None:  # type: ignore[no-untyped-def]
    now = time.time()
    window = DeletionWarningWindow()
    qtbot.addWidget(window)
    window.set_at_risk(
        [_record(tmp_path / "a.nd2", 10, 1, now)],
        Retention(RetentionSettings()),
        disk_full=True,
        now=now,
    )
    assert "from now" in window.headline.text()
    assert "disk is nearly full" in window.explanation.text()


def test_nothing_at_risk(qtbot) -> None:  # type: ignore[no-untyped-def]
    window = DeletionWarningWindow()
    qtbot.addWidget(window)
    window.set_at_risk([], Retention(RetentionSettings()))
    assert "Nothing is at risk" in window.headline.text()
    assert not window.backup_button.isEnabled()
