"""StatusWindow: shows the controller's status; redraws only what changed."""

from __future__ import annotations

import html
from pathlib import Path

from pytestqt.qtbot import QtBot

from almc_assistant.core.status import (
    Problem,
    ProblemKind,
    SessionStatus,
    UnsafeDataset,
    VolumeUsage,
)
from almc_assistant.qt.icons import State
from almc_assistant.qt.status_window import StatusWindow
from almc_assistant.qt.tray import TrayStatus
from tests.qt.helpers import status_report


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


def test_report_lists_sessions_disks_and_problems(qtbot: QtBot, tmp_path: Path) -> None:
    window = StatusWindow()
    qtbot.addWidget(window)
    volume = VolumeUsage(folder=tmp_path / "data", reachable=False)
    offline = Problem(ProblemKind.SETUP, "Setup problem", "Share offline.", "Tell the staff.")
    report = status_report(volumes=(volume,), problems=(offline,))
    window.set_report(report)
    text = window.report.text()
    assert f"{html.escape(str(volume.folder))} is not reachable" in text
    assert "Share offline" in text
    assert "What to do:</i> Tell the staff." in text
    window.set_report(report)  # the same report: the same text
    assert window.report.text() == text
    window.set_report(status_report())
    assert window.report.text() == ""


def _unit(anchor: Path, kind: str, name: str, files: tuple[Path, ...], size: int) -> UnsafeDataset:
    """A dataset (or a lone file, ``kind`` empty) of session 3, not backed up."""
    return UnsafeDataset(
        id=str(anchor),
        kind=kind,
        name=name,
        folder=anchor.parent,
        session_id=3,
        files=files,
        bytes=size,
        earliest_candidate_date=0.0,
    )


def test_report_names_the_datasets_of_each_session(qtbot: QtBot, tmp_path: Path) -> None:
    window = StatusWindow()
    qtbot.addWidget(window)
    session = SessionStatus(
        session_id=3,
        started_at=None,
        ended_at=None,
        files=304,
        bytes=10**9,
        earliest_candidate_date=0.0,
    )
    folder = tmp_path / "plate1"
    tiles = tuple(folder / f"r{i:03}.tiff" for i in range(303))
    harmony = "Opera Phenix / Harmony export"
    plate = _unit(folder / "Index.idx.xml", harmony, "plate1", tiles, 9 * 10**8)
    nd2 = tmp_path / "overview.nd2"
    lone = _unit(nd2, "", "overview.nd2", (nd2,), 10**8)
    window.set_report(status_report(sessions=(session,), datasets=(plate, lone)))
    text = window.report.text()
    assert "<b>plate1</b> — Opera Phenix / Harmony export: 303 files" in text
    assert "<b>overview.nd2</b>: 1 file" in text
