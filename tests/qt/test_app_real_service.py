"""The controller on the real service: tray state from the catalog, warnings, status."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import tifffile
from pytestqt.qtbot import QtBot

from almc_assistant.qt.bridge import app_pump
from almc_assistant.qt.controller import AppController
from almc_assistant.qt.icons import State
from tests.qt.real_service import real_service


def test_tray_and_windows_reflect_the_catalog(qtbot: QtBot, prompter, tmp_path: Path) -> None:
    with real_service(tmp_path / "site") as site:
        image = np.zeros((64, 64), dtype=np.uint16)
        for i in range(3):
            tifffile.imwrite(site.acquisition / f"cells_{i}.tif", image)
        old = time.time() - 3600
        for f in site.acquisition.iterdir():
            os.utime(f, (old, old))
        controller = AppController(site.service, app_pump(site.sink), prompter, tray_available=True)
        controller.start([])  # starts the real watcher too
        try:
            # the watcher catalogues the three files one by one: wait for all of them
            qtbot.waitUntil(
                lambda: controller.refresh().headline.startswith("3 files ("), timeout=20_000
            )
            status = controller.status
            assert status is not None
            assert status.state is State.AT_RISK
            assert status.headline.startswith("3 files (")
            assert status.headline.endswith("from today are not backed up yet")
            assert controller.tray is not None
            assert status.headline in controller.tray.native.toolTip()
            window = controller.show_status()
            # The report (every unsafe file, disk usage) is read in a worker, never on
            # the GUI thread: it arrives through the pump.
            qtbot.waitUntil(lambda: "Session of" in window.report.text(), timeout=20_000)
            assert "% full" in window.report.text()
            warnings = controller.show_warnings()  # its files, too, come from a worker
            qtbot.waitUntil(lambda: len(warnings.model) == 3, timeout=20_000)
        finally:
            controller.shutdown()  # also when an assertion fails: no thread left behind
