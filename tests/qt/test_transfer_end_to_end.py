"""Drops onto the transfer window, checked and copied by the real service, verified on disk."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from pytestqt.qtbot import QtBot

from almc_assistant.core.destinations import Destination, guess_kind
from almc_assistant.qt.bridge import app_pump
from almc_assistant.qt.transfer_rows import JobState, RowState
from almc_assistant.qt.transfer_window import TransferWindow
from tests.qt.real_service import real_service


def _destination(path: Path) -> Destination:
    return Destination(name=path.name, path=path, kind=guess_kind(path))


@pytest.fixture
def session(tmp_path: Path) -> Path:
    folder = tmp_path / "session"
    (folder / "plate1").mkdir(parents=True)
    image = np.arange(64 * 64, dtype=np.uint16).reshape(64, 64)
    tifffile.imwrite(folder / "plate1" / "raw.tif", image)
    tifffile.imwrite(folder / "plate1" / "lossy.tif", image.astype(np.uint8), compression="jpeg")
    tifffile.imwrite(folder / "zipped.tif", image, compression="zlib")
    return folder


@pytest.fixture
def setup(qtbot: QtBot, prompter, tmp_path: Path):
    with real_service(tmp_path / "site") as site:
        pump = app_pump(site.sink)
        window = TransferWindow(site.service, prompter, _destination)
        window.connect_pump(pump)
        qtbot.addWidget(window)
        window.show()
        pump.start()
        yield window, site.service, site.share
        pump.stop()


def test_dropped_folder_is_checked_copied_and_verified(qtbot: QtBot, setup, session) -> None:
    window, _service, share = setup
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(session))])
    window.dropEvent(
        QDropEvent(
            QPointF(5, 5),
            Qt.DropAction.CopyAction,
            mime,
            Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier,
        )
    )
    qtbot.waitUntil(
        lambda: (
            len(window.files) == 3
            and all(r.state is RowState.CHECKED and r.reasons for r in window.files.rows())
        ),
        timeout=20_000,
    )
    verdicts = {Path(r.path).name: r.verdict for r in window.files.rows()}
    assert verdicts == {
        "raw.tif": "tiff-uncompressed-ok",
        "lossy.tif": "tiff-compressed-lossy",
        "zipped.tif": "tiff-compressed-lossless",
    }
    window.picker.set_checked(str(share))
    assert window.copy_button.isEnabled()
    window.copy_button.click()
    qtbot.waitUntil(lambda: window.jobs.rows()[0].state is JobState.DONE, timeout=30_000)
    job = window.jobs.rows()[0]
    assert job.verified == 3 and job.failed == 0
    assert all(r.state is RowState.VERIFIED for r in window.files.rows())
    for name in ("plate1/raw.tif", "plate1/lossy.tif", "zipped.tif"):
        copied = share / "session" / name
        assert copied.read_bytes() == (session / name).read_bytes()


def test_copy_to_a_missing_destination_fails_clearly(
    qtbot: QtBot, setup, session, tmp_path: Path
) -> None:
    window, _service, _share = setup
    window.add_paths([str(session / "zipped.tif")])
    qtbot.waitUntil(lambda: window.files.rows()[0].state is RowState.CHECKED, timeout=20_000)
    gone = _destination(tmp_path / "unplugged" / "drive")
    window.queue_copy([str(session / "zipped.tif")], [gone])
    qtbot.waitUntil(
        lambda: window.jobs.rows()[0].state not in (JobState.STARTING, JobState.RUNNING),
        timeout=30_000,
    )
    row = window.jobs.rows()[0]
    assert row.state in (JobState.REFUSED, JobState.PROBLEMS), row
    assert window._prompter.told or window.files.rows()[0].state is RowState.FAILED
