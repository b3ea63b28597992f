"""Screenshots of every screen of the real app, for the README (not run by CI).

Usage (Linux, needs Xvfb and trayer; both are Debian packages)::

    Xvfb :99 -screen 0 1400x900x24 &  DISPLAY=:99 trayer --align right &
    DISPLAY=:99 QT_QPA_PLATFORM=xcb python bench/screenshots.py [--dark] [--out DIR]

or just ``python bench/screenshots.py``, which starts both itself. It builds a facility
configuration in a temporary ``ALMC_HOME`` (one acquisition folder with real TIFFs, a
backed-up share and an external drive), starts the app's real pieces (service, pump,
controller, tray on the tray host), opens each screen the way a user would, lets the
real check and the real verified copy run, and saves one PNG per screen.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def start_display(display: str) -> list[subprocess.Popen[bytes]]:
    procs = [subprocess.Popen(["Xvfb", display, "-screen", "0", "1400x900x24", "-nolisten", "tcp"])]
    time.sleep(1.0)
    env = {**os.environ, "DISPLAY": display}
    procs.append(
        subprocess.Popen(
            [
                "trayer",
                "--align",
                "right",
                "--edge",
                "top",
                "--height",
                "28",
                "--widthtype",
                "request",
                "--transparent",
                "false",
                "--tint",
                "0x303030",
            ],
            env=env,
        )
    )
    time.sleep(1.0)
    return procs


def make_site(home: Path) -> Path:
    import numpy as np
    import tifffile

    acq, share, usb = home / "Acquisition", home / "LabShare", home / "USB-drive"
    for d in (acq / "2026-11-23 HeLa", share, usb):
        d.mkdir(parents=True, exist_ok=True)
    img = (np.arange(512 * 512, dtype=np.uint16) % 4096).reshape(512, 512)
    session = acq / "2026-11-23 HeLa"
    for i in range(3):
        tifffile.imwrite(session / f"HeLa_DAPI_GFP_{i:02d}.tif", img)
    tifffile.imwrite(session / "HeLa_overview.tif", img.astype(np.uint8), compression="jpeg")
    tifffile.imwrite(session / "HeLa_stack_lzw.tif", img, compression="lzw")
    (session / "HeLa_figure.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    old = time.time() - 26 * 86400
    for f in session.iterdir():
        os.utime(f, (old, old))
    tifffile.imwrite(session / "HeLa_timelapse_live.tif", img)  # still being written
    (home / "facility.toml").write_text(
        f"""[facility]
name = "Advanced Light Microscopy Core"
contact = "almc-staff@example.edu, room B117"

[watch]
folders = ["{acq}"]
quiet_seconds = 120

[retention]
max_age_days = 30
warn_days = 7

[[destinations]]
name = "Lab share (PetaStore)"
path = "{share}"
kind = "institutional"

[[destinations]]
name = "USB drive"
path = "{usb}"
kind = "external-drive"
""",
        encoding="utf-8",
    )
    return session


def dark_palette(app):  # type: ignore[no-untyped-def]
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QColor, QPalette

    app.setStyle("Fusion")
    p = QPalette()
    for role, colour in (
        (QPalette.ColorRole.Window, "#2b2b2b"),
        (QPalette.ColorRole.WindowText, "#e6e6e6"),
        (QPalette.ColorRole.Base, "#1e1e1e"),
        (QPalette.ColorRole.AlternateBase, "#262626"),
        (QPalette.ColorRole.Text, "#e6e6e6"),
        (QPalette.ColorRole.Button, "#353535"),
        (QPalette.ColorRole.ButtonText, "#e6e6e6"),
        (QPalette.ColorRole.Highlight, "#2f65ca"),
        (QPalette.ColorRole.HighlightedText, "#ffffff"),
        (QPalette.ColorRole.ToolTipBase, "#353535"),
        (QPalette.ColorRole.ToolTipText, "#e6e6e6"),
        (QPalette.ColorRole.Link, "#6ea8ff"),
        (QPalette.ColorRole.PlaceholderText, "#8a8a8a"),
        (QPalette.ColorRole.Mid, "#5a5a5a"),
    ):
        p.setColor(role, QColor(colour))
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor("#7a7a7a"))
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText, QColor("#7a7a7a"))
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor("#7a7a7a"))
    app.setPalette(p)
    _ = Qt


def run(out: Path, dark: bool) -> int:
    home = Path(tempfile.mkdtemp(prefix="almc-shots-"))
    os.environ["ALMC_HOME"] = str(home)
    os.environ.pop("ALMC_FACILITY_CONFIG", None)
    session = make_site(home)

    from PySide6.QtWidgets import QWizard

    from almc_assistant.core.config import load_config
    from almc_assistant.core.events import QueueSink
    from almc_assistant.core.paths import AppPaths
    from almc_assistant.core.service import Service
    from almc_assistant.qt import app as app_module
    from almc_assistant.qt.bridge import app_pump
    from almc_assistant.qt.controller import AppController
    from almc_assistant.qt.prompts import QtPrompter

    qapp = app_module._application()
    if dark:
        dark_palette(qapp)
    suffix = "-dark" if dark else ""
    out.mkdir(parents=True, exist_ok=True)
    paths = AppPaths.default().ensure()
    config = load_config(paths)
    sink = QueueSink()
    service = Service(paths, sink, config=config)
    pump = app_pump(sink)
    controller = AppController(service, pump, QtPrompter(), config=config)

    def settle(seconds: float = 0.6, until=None) -> None:  # type: ignore[no-untyped-def]
        end = time.monotonic() + seconds
        while time.monotonic() < end or (until is not None and not until()):
            qapp.processEvents()
            time.sleep(0.02)
            if time.monotonic() > end + 30:
                break

    def shot(widget, name: str) -> None:  # type: ignore[no-untyped-def]
        settle(0.4)
        path = out / f"{name}{suffix}.png"
        widget.grab().save(str(path))
        print(path)

    service.scan_once()
    controller.start([])
    settle(1.5)

    status = controller.show_status()
    shot(status, "status")
    status.hide()

    tray = controller.tray
    if tray is not None:
        tray.menu.aboutToShow.emit()
        tray.menu.popup(qapp.primaryScreen().geometry().topRight())
        settle(0.5)
        shot(tray.menu, "tray-menu")
        tray.menu.hide()
        print("tray icon on the tray host at", tray.native.geometry())

    # icons: every state, and copying at three stages
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QColor, QPainter, QPixmap

    from almc_assistant.qt import icons

    states = [
        (icons.State.SAFE, None),
        (icons.State.AT_RISK, None),
        (icons.State.PROBLEM, None),
        (icons.State.COPYING, 0.25),
        (icons.State.COPYING, 0.6),
        (icons.State.COPYING, 0.9),
    ]
    sheet = QPixmap(len(states) * 72 + 8, 80)
    sheet.fill(QColor("#2b2b2b" if dark else "#f3f3f3"))
    painter = QPainter(sheet)
    for i, (state, progress) in enumerate(states):
        painter.drawPixmap(8 + i * 72, 8, icons.render(f"state-{state.value}", 64, progress))
    painter.end()
    sheet.save(str(out / f"tray-icons{suffix}.png"))
    _ = Qt

    warnings = controller.show_warnings()
    shot(warnings, "warnings")
    warnings.hide()

    wizard = controller.show_wizard()
    shot(wizard, "wizard-1-files")
    wizard.button(QWizard.WizardButton.NextButton).click()
    shot(wizard, "wizard-2-exports")
    wizard.exports_page.go_on.setChecked(True)
    wizard.button(QWizard.WizardButton.NextButton).click()
    page = wizard.destinations_page
    page.picker.set_checked(str(home / "USB-drive"))
    settle(1.0, until=lambda: bool(page._state.preflight))
    shot(wizard, "wizard-3-destinations-not-safe")
    page.picker.set_checked(str(home / "LabShare"))
    commit = wizard.button(QWizard.WizardButton.CommitButton)
    settle(1.0, until=commit.isEnabled)
    shot(wizard, "wizard-3-destinations")
    commit.click()
    settle(0.15)
    settle(1.0, until=lambda: wizard.state.summary is not None)
    shot(wizard, "wizard-4-copy-done")
    wizard.button(QWizard.WizardButton.NextButton).click()
    shot(wizard, "wizard-5-receipt")
    wizard.hide()

    transfer = controller.show_transfer()
    transfer.add_paths([str(session)])
    settle(
        1.0, until=lambda: all(r.reasons for r in transfer.files.rows()) and len(transfer.files) > 1
    )
    transfer.file_view.selectRow(1)
    shot(transfer, "transfer-checked")
    transfer.file_view.clearSelection()
    transfer.picker.set_checked(str(home / "LabShare"))
    transfer.copy_button.click()
    settle(1.0, until=lambda: transfer.jobs.rows()[0].state.name in ("DONE", "PROBLEMS"))
    shot(transfer, "transfer-copied")
    transfer.hide()

    settings = controller.show_settings()
    shot(settings, "settings-destinations")
    settings.tabs.setCurrentIndex(2)
    shot(settings, "settings-reminders")
    settings.tabs.setCurrentIndex(3)
    shot(settings, "settings-facility")
    settings.hide()

    controller.shutdown()
    service.stop()
    shutil.rmtree(home, ignore_errors=True)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--dark", action="store_true", help="also shoot a dark palette")
    parser.add_argument("--display", default=":99")
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        return run(args.out, args.dark)
    procs = start_display(args.display) if "DISPLAY" not in os.environ else []
    env = {
        **os.environ,
        "DISPLAY": os.environ.get("DISPLAY", args.display),
        "QT_QPA_PLATFORM": "xcb",
    }
    try:
        code = 0
        for dark in (False, True) if args.dark else (False,):
            cmd = [sys.executable, __file__, "--inner", "--out", str(args.out)]
            code |= subprocess.call([*cmd, "--dark"] if dark else cmd, env=env)
        return code
    finally:
        for p in reversed(procs):
            p.terminate()
            p.wait(10)


if __name__ == "__main__":
    sys.exit(main())
