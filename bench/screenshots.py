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
PANEL_HEIGHT = 32
# The part of the screen a tray shot keeps: the panel's right end and the tooltip or
# menu that opens below the icon.
TRAY_SHOT_WIDTH = 520
DESKTOP = "#5b7a99"
sys.path.insert(0, str(ROOT / "src"))


def start_display(display: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        ["Xvfb", display, "-screen", "0", "1400x900x24", "-nolisten", "tcp", "-noreset"]
    )
    time.sleep(1.0)
    if shutil.which("xsetroot"):  # a desktop colour behind tooltips and menus
        subprocess.run(["xsetroot", "-solid", DESKTOP], env={**os.environ, "DISPLAY": display})
    return proc


def start_tray_host(display: str, dark: bool) -> subprocess.Popen[bytes]:
    """``trayer`` as a top panel across the screen, in the palette's colour.

    trayer paints its ``--tint`` only with ``--transparent true`` (``--alpha 0``: opaque);
    without it the panel is GTK's default grey behind the icon and black elsewhere.
    """
    tint = "0x202020" if dark else "0xe4e4e4"
    args = ["--align", "right", "--edge", "top", "--height", str(PANEL_HEIGHT)]
    args += ["--widthtype", "percent", "--width", "100", "--padding", "6"]
    args += ["--transparent", "true", "--alpha", "0", "--tint", tint]
    proc = subprocess.Popen(["trayer", *args], env={**os.environ, "DISPLAY": display})
    time.sleep(1.0)
    return proc


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
    from almc_assistant.qt.style import dark_palette as palette
    from almc_assistant.qt.style import install_readable_style

    app.setStyle("Fusion")
    app.setPalette(palette())
    install_readable_style(app)  # again: setStyle("Fusion") replaced the app's style


def xdotool(*args: str) -> None:
    subprocess.run(["xdotool", *args], check=True)


def tray_region(qapp, bottom: int, left: int | None = None):  # type: ignore[no-untyped-def]
    """The screen from the panel's right end down to ``bottom`` (a tooltip, a menu)."""
    screen = qapp.primaryScreen()
    width = screen.geometry().width()
    x = width - TRAY_SHOT_WIDTH if left is None else min(left - 8, width - TRAY_SHOT_WIDTH)
    return screen.grabWindow(0, x, 0, width - x, bottom + 8)


def tray_shot(qapp, tray, settle, path: Path) -> None:  # type: ignore[no-untyped-def]
    """The tray icon as the tray host shows it, with its tooltip (the mouse on the icon).

    The icon lives in the tray host's window (XEmbed), so the shot is taken from the
    screen, never with ``QWidget.grab``; and only after the icon has repainted: a window
    or menu that covered it leaves the host's background until the icon's next paint.
    """
    from PySide6.QtWidgets import QApplication, QToolTip

    settle(0.6)
    centre = tray.native.geometry().center()
    for dx in (-4, 0):  # enter, then move inside: Qt starts its tooltip timer on a move
        xdotool("mousemove", str(centre.x() + dx), str(centre.y()))
        settle(0.1)

    def tip():  # type: ignore[no-untyped-def]
        shown = [w for w in QApplication.topLevelWidgets() if w.inherits("QTipLabel")]
        return next((w for w in shown if w.isVisible()), None)

    for _ in range(150):  # the tooltip opens after a short hover
        settle(0.02)
        if tip() is not None:
            break
    label = tip()
    settle(0.4)  # let the tooltip paint
    bottom = label.geometry().bottom() if label is not None else PANEL_HEIGHT
    tray_region(qapp, bottom).save(str(path))
    print(path, "(no tooltip)" if label is None else "")
    xdotool("mousemove", "700", "600")
    QToolTip.hideText()
    settle(0.6)


def shoot_tray(qapp, tray, settle, out: Path, suffix: str, service, home: Path) -> None:  # type: ignore[no-untyped-def]
    """The tray in each state on the real tray host, its menu, and a sheet of the icons."""
    import errno

    from PySide6.QtGui import QColor, QPainter, QPixmap

    from almc_assistant.core.errors import describe_os_error
    from almc_assistant.qt import icons
    from almc_assistant.qt.controller import compute_status

    print("tray icon on the tray host at", tray.native.geometry())
    tray_shot(qapp, tray, settle, out / f"tray-{tray.status.state.value}{suffix}.png")

    menu = tray.menu
    menu.aboutToShow.emit()
    menu.popup(tray.native.geometry().bottomLeft())  # where a click on the icon opens it
    settle(0.6)
    geometry = menu.geometry()
    tray_region(qapp, geometry.bottom(), geometry.left()).save(str(out / f"tray-menu{suffix}.png"))
    print(out / f"tray-menu{suffix}.png")
    menu.hide()

    # The states a copy and a failure show, as the controller computes them from the
    # service's real pending summary (a copy of these few files is over too soon to catch).
    summary = service.pending_summary()
    tray.set_status(compute_status(summary, copy_progress=0.6))
    tray_shot(qapp, tray, settle, out / f"tray-copying{suffix}.png")
    missing = FileNotFoundError(errno.ENOENT, "No such file or directory")
    problem = describe_os_error(missing, action="watch", path=home / "Acquisition")
    tray.set_status(compute_status(summary, problem=problem.title))
    tray_shot(qapp, tray, settle, out / f"tray-problem{suffix}.png")
    tray.set_status(compute_status(summary))

    states = [
        (icons.State.SAFE, None),
        (icons.State.AT_RISK, None),
        (icons.State.PROBLEM, None),
        (icons.State.COPYING, 0.25),
        (icons.State.COPYING, 0.6),
        (icons.State.COPYING, 0.9),
    ]
    sheet = QPixmap(len(states) * 72 + 8, 80)
    sheet.fill(QColor("#2b2b2b" if suffix else "#f3f3f3"))
    painter = QPainter(sheet)
    for i, (state, progress) in enumerate(states):
        painter.drawPixmap(8 + i * 72, 8, icons.render(f"state-{state.value}", 64, progress))
    painter.end()
    sheet.save(str(out / f"tray-icons{suffix}.png"))


def shoot_reminders(controller, service, paths, sink, settle, shot) -> None:  # type: ignore[no-untyped-def]
    """The reminder window: at the next login after a session that ended with data at
    risk (a marker as the previous session left it), then updated in place by a lock."""
    from PySide6.QtWidgets import QApplication

    from almc_assistant.core.session_end import (
        EndKind,
        MarkerRecord,
        SessionEndGuard,
        SessionMarker,
    )

    ended = time.time() - 14 * 3600  # last evening
    SessionMarker(paths.state_dir).write(
        MarkerRecord(service.pending_summary(), ended, EndKind.LOGOFF, ended)
    )
    guard = SessionEndGuard.create(service.pending_summary, paths, sink)
    guard.start()
    controller.attach_reminders(guard)
    guard.refresh()  # the first report after login: the strongest reminder
    settle(1.0, until=lambda: controller.window("reminder") is not None)
    window = controller.window("reminder")
    shot(window, "reminder-last-session")
    guard.locked()  # an ordinary reminder: the same window, with "Remind me later"
    settle(0.6)
    shot(window, "reminder-locked")
    window.hide()
    for widget in QApplication.topLevelWidgets():  # Qt's own balloon, where no daemon
        if widget.inherits("QBalloonTip"):
            widget.hide()


def run(out: Path, dark: bool) -> int:
    home = Path(tempfile.mkdtemp(prefix="almc-shots-"))
    os.environ["ALMC_HOME"] = str(home)
    os.environ.pop("ALMC_FACILITY_CONFIG", None)
    session = make_site(home)
    mounted = own_disks(home / "LabShare", home / "USB-drive")

    from PySide6.QtWidgets import QWizard

    from almc_assistant.core.config import load_config
    from almc_assistant.core.events import QueueSink
    from almc_assistant.core.paths import AppPaths
    from almc_assistant.core.service import Service
    from almc_assistant.qt import app as app_module
    from almc_assistant.qt import icons
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
    controller = AppController(service, pump, QtPrompter())

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
    shoot_reminders(controller, service, paths, sink, settle, shot)

    tray = controller.tray
    if tray is not None:
        shoot_tray(qapp, tray, settle, out, suffix, service, home)
    else:
        print("no system tray on this display: no tray shots", file=sys.stderr)

    warnings = controller.show_warnings()
    shot(warnings, "warnings")
    warnings.hide()

    wizard = controller.show_wizard()
    settle(0.1, until=lambda: not wizard.files_page.loading)  # read by a worker
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
    transfer.file_view.setCurrentIndex(transfer.files.index(1, 0))  # selects its row
    shot(transfer, "transfer-checked")
    transfer.file_view.clearSelection()
    transfer.picker.set_checked(str(home / "LabShare"))
    transfer.copy_button.click()
    settle(1.0, until=lambda: transfer.jobs.rows()[0].state.name in ("DONE", "PROBLEMS"))
    shot(transfer, "transfer-copied")
    transfer.hide()
    if tray is not None:  # every file of the session now has a verified copy
        settle(1.0, until=lambda: controller.refresh().state is icons.State.SAFE)
        tray_shot(qapp, tray, settle, out / f"tray-{controller.refresh().state.value}{suffix}.png")

    settings = controller.show_settings()
    shot(settings, "settings-destinations")
    settings.tabs.setCurrentIndex(2)
    shot(settings, "settings-reminders")
    settings.tabs.setCurrentIndex(3)
    shot(settings, "settings-facility")
    settings.hide()

    controller.shutdown()
    service.stop()
    for mount in mounted:
        subprocess.run(["umount", "-l", str(mount)], check=False)
    shutil.rmtree(home, ignore_errors=True)
    return 0


def own_disks(*folders: Path) -> list[Path]:
    """As root, a tmpfs on each folder: the share and the drive are disks of their own,
    as real ones are (a copy on the acquisition disk is not a backup, and the wizard
    says so). Otherwise the folders stay on the acquisition disk."""
    if os.geteuid() != 0:
        print("not root: the destinations share the acquisition disk", file=sys.stderr)
        return []
    for folder in folders:
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(folder)], check=True)
    return list(folders)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--dark", action="store_true", help="also shoot a dark palette")
    parser.add_argument("--display", default=":99")
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        return run(args.out, args.dark)
    own_display = "DISPLAY" not in os.environ
    display = os.environ.get("DISPLAY", args.display)
    xvfb = start_display(display) if own_display else None
    env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb"}
    try:
        code = 0
        for dark in (False, True) if args.dark else (False,):
            tray_host = start_tray_host(display, dark) if own_display else None
            cmd = [sys.executable, __file__, "--inner", "--out", str(args.out)]
            try:
                code |= subprocess.call([*cmd, "--dark"] if dark else cmd, env=env)
            finally:
                if tray_host is not None:
                    tray_host.terminate()
                    tray_host.wait(10)
        return code
    finally:
        if xvfb is not None:
            xvfb.terminate()
            xvfb.wait(10)


if __name__ == "__main__":
    sys.exit(main())
