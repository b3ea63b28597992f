"""The first-run path, shot from the real app (run by ``first-run.sh`` on a virtual display).

A brand-new user: no facility file, no settings. The app starts "not set up", the welcome
window opens; folders and a destination are chosen (a scripted folder picker stands in
for the user's clicks), tested and saved, and the app starts watching. Also the variant
where the facility decides and has not configured the folders.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

OUT = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots")
ROOT = Path(tempfile.mkdtemp(prefix="almc-first-run-"))
os.environ["ALMC_HOME"] = str(ROOT / "home")
os.environ["ALMC_FACILITY_CONFIG"] = str(ROOT / "facility.toml")  # absent: the user decides

from PySide6.QtCore import QCoreApplication  # noqa: E402
from PySide6.QtWidgets import QApplication, QWidget  # noqa: E402

from almc_assistant.core.config import load_config  # noqa: E402
from almc_assistant.core.destinations import DestinationKind  # noqa: E402
from almc_assistant.core.events import QueueSink  # noqa: E402
from almc_assistant.core.paths import AppPaths  # noqa: E402
from almc_assistant.core.service import Service  # noqa: E402
from almc_assistant.core.setup_state import setup_needed  # noqa: E402
from almc_assistant.qt import icons  # noqa: E402
from almc_assistant.qt.bridge import EventPump  # noqa: E402
from almc_assistant.qt.controller import AppController  # noqa: E402
from almc_assistant.qt.prompts import QtPrompter  # noqa: E402
from almc_assistant.qt.style import install_readable_style  # noqa: E402
from almc_assistant.qt.welcome import WelcomeWindow  # noqa: E402


class ScriptedPrompter(QtPrompter):
    """Qt's prompts, except the folder picker, which answers from a list (the clicks)."""

    def __init__(self) -> None:
        super().__init__()
        self.folders: list[str] = []

    def choose_folder(self, title: str, start: str = "") -> str:
        return self.folders.pop(0) if self.folders else ""


def settle(seconds: float = 0.6) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        QApplication.processEvents()
        time.sleep(0.02)


def shot(widget: QWidget, name: str) -> None:
    settle()
    widget.grab().save(str(OUT / name))
    print(OUT / name)


def main() -> int:
    QCoreApplication.setApplicationName("almc-assistant")
    app = QApplication(sys.argv[:1])
    app.setWindowIcon(icons.app_icon())
    install_readable_style(app)
    app.setQuitOnLastWindowClosed(False)
    paths = AppPaths.default().ensure()
    acq, usb = ROOT / "Acquisitions", ROOT / "USB backup"
    for folder in (acq, usb):
        folder.mkdir()
    (acq / "2026-12-03 HeLa.nd2").write_bytes(b"\0" * 4_700_000)
    sink = QueueSink()
    service = Service(paths, sink)
    pump = EventPump(sink)
    prompter = ScriptedPrompter()
    controller = AppController(service, pump, prompter, config=service.config)
    controller.start([])
    settle(2.0)
    screen = app.primaryScreen()
    screen.grabWindow(0).save(str(OUT / "first-run-desktop.png"))  # the tray icon docked
    print(OUT / "first-run-desktop.png")
    welcome = controller.window("welcome")
    assert isinstance(welcome, WelcomeWindow)
    shot(welcome, "first-run-1-welcome.png")
    tray = controller.tray
    if tray is not None:
        tray.menu.aboutToShow.emit()
        tray.menu.adjustSize()
        shot(tray.menu, "first-run-tray-menu.png")
    status = controller.show_status()
    shot(status, "first-run-status-not-set-up.png")
    status.hide()

    prompter.folders = [str(acq), str(usb)]
    welcome.add_folder_button.click()
    welcome.kind.setCurrentIndex(welcome.kind.findData(DestinationKind.EXTERNAL_DRIVE))
    welcome.add_dest_button.click()
    welcome.run_tests()
    welcome.wait_for_tests()
    settle(1.0)
    welcome.adjustSize()
    shot(welcome, "first-run-2-tested.png")
    welcome.save()
    settle(3.0)
    status = controller.show_status()
    settle(2.0)
    shot(status, "first-run-3-watching.png")

    facility = ROOT / "facility.toml"  # now a facility file that decides, without folders
    facility.write_text("[facility]\nname = 'Light Microscopy Core'\n", encoding="utf-8")
    config = load_config(paths)
    decides = WelcomeWindow(
        service,
        prompter,
        pump,
        config=lambda: config,
        setup=lambda: setup_needed(config, paths),
    )
    decides.show()
    shot(decides, "first-run-facility-decides.png")
    decides.close()
    controller.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
