"""Screenshots of the session-end wizard's honest words (issue 9), for review (not CI).

Usage (Linux, as root for the tmpfs "disks"; needs Xvfb)::

    python bench/screenshots_wizard.py [--out DIR]

It starts Xvfb itself when no ``DISPLAY`` is set. Each case builds a real site (the real
service, catalog, checks and verified copy) in a temporary folder, walks the wizard as
a user would and saves PNGs of what the user sees:

- ``destinations-same-disk``: the share is a folder on the acquisition disk;
- ``destinations-usb-only`` and ``destinations-safe``: a USB drive alone, then the share,
  each a tmpfs of its own (a disk of its own);
- ``copy-refused`` and ``receipt-refused``: two acquisition folders hold the same
  relative path, the engine refuses the job;
- ``receipt-partial``: a different file has one file's name at the destination (renamed
  copy), another file became a named pipe before the copy (skipped), one still written;
- ``receipt-safe``: every file copied to the share on its own disk.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))


@contextlib.contextmanager
def disk(path: Path, own: bool) -> Iterator[Path]:
    """``path`` as a folder, or (``own``) a tmpfs of its own."""
    path.mkdir(parents=True, exist_ok=True)
    if not own:
        yield path
        return
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def tiffs(acq: Path, *, growing: bool = True) -> None:
    import numpy as np
    import tifffile

    session = acq / "2026-11-23 HeLa"
    session.mkdir(parents=True, exist_ok=True)
    img = (np.arange(256 * 256, dtype=np.uint16) % 4096).reshape(256, 256)
    for i in range(3):
        tifffile.imwrite(session / f"HeLa_DAPI_GFP_{i:02d}.tif", img)
    old = time.time() - 3600
    for f in session.iterdir():
        os.utime(f, (old, old))
    if growing:
        tifffile.imwrite(session / "HeLa_timelapse_live.tif", img)  # still being written


def plates(acq: Path, other: Path) -> None:
    import numpy as np
    import tifffile

    for root, marker in ((acq, 1), (other, 3)):
        images = root / "alice" / "plate1" / "Images"
        images.mkdir(parents=True)
        for tile in ("r01c01f01p01-ch1sk1fk1fl1.tiff", "r01c01f02p01-ch1sk1fk1fl1.tiff"):
            tifffile.imwrite(images / tile, np.full((64, 64), marker, dtype=np.uint16))
        old = time.time() - 3600
        for f in images.iterdir():
            os.utime(f, (old, old))


class Case:
    """A real site and the wizard on it."""

    def __init__(self, qapp: Any, home: Path, *, own_disks: bool, second_acq: bool = False):
        self.qapp, self.home = qapp, home
        self.stack = contextlib.ExitStack()
        self.share = self.stack.enter_context(disk(home / "LabShare", own_disks))
        self.usb = self.stack.enter_context(disk(home / "USB-drive", own_disks))
        self.acq = home / "Acquisition"
        self.acq2 = home / "Acquisition-2"
        folders = (self.acq, self.acq2) if second_acq else (self.acq,)
        for f in folders:
            f.mkdir(parents=True, exist_ok=True)

        from almc_assistant.core.config import Config, WatchSettings
        from almc_assistant.core.destinations import Destination, DestinationKind
        from almc_assistant.core.events import QueueSink
        from almc_assistant.core.paths import AppPaths
        from almc_assistant.core.service import Service

        self.config = Config(
            facility_name="Advanced Light Microscopy Core",
            facility_destinations=(
                Destination(
                    "Lab share (PetaStore)", self.share, DestinationKind.INSTITUTIONAL, "facility"
                ),
                Destination("USB drive", self.usb, DestinationKind.EXTERNAL_DRIVE, "facility"),
            ),
            watch=WatchSettings(folders=folders, quiet_seconds=120),
        )
        self.sink = QueueSink()
        self.service = Service(
            AppPaths.under(home / "state").ensure(), self.sink, config=self.config
        )

    def wizard(self) -> Any:
        from almc_assistant.qt.bridge import app_pump
        from almc_assistant.qt.controller import AppController
        from almc_assistant.qt.prompts import QtPrompter

        self.service.scan_once()
        self.controller = AppController(self.service, app_pump(self.sink), QtPrompter())
        self.controller._pump.start()
        w = self.controller.show_wizard()
        self.settle(until=lambda: not w.files_page.loading)
        return w

    def settle(self, seconds: float = 0.4, until: Callable[[], bool] | None = None) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end or (until is not None and not until()):
            self.qapp.processEvents()
            time.sleep(0.02)
            if time.monotonic() > end + 30:
                print("gave up waiting", file=sys.stderr)
                break

    def close(self) -> None:
        self.controller.shutdown()
        self.service.stop()
        self.stack.close()


def to_destinations(case: Case, w: Any) -> Any:
    from PySide6.QtWidgets import QWizard

    w.button(QWizard.WizardButton.NextButton).click()
    case.settle()
    if w.currentPage() is w.exports_page:
        w.exports_page.go_on.setChecked(True)
        w.button(QWizard.WizardButton.NextButton).click()
        case.settle()
    return w.destinations_page


def choose(case: Case, page: Any, *folders: Path) -> None:
    for d in page.picker.selected():
        page.picker.set_checked(str(d.path), False)
    for f in folders:
        page.picker.set_checked(str(f))
    case.settle(until=lambda: "Checking" not in page.policy.text())


def back_up(case: Case, w: Any) -> None:
    from PySide6.QtWidgets import QWizard

    commit = w.button(QWizard.WizardButton.CommitButton)
    case.settle(until=commit.isEnabled)
    commit.click()
    case.settle(until=lambda: w.state.summary is not None)


def run(out: Path) -> int:
    from PySide6.QtWidgets import QWizard

    from almc_assistant.qt import app as app_module

    qapp = app_module._application()
    out.mkdir(parents=True, exist_ok=True)

    def shot(case: Case, w: Any, name: str) -> None:
        case.settle(0.5)
        path = out / f"wizard-{name}.png"
        w.grab().save(str(path))
        print(path)

    def home() -> Path:
        return Path(tempfile.mkdtemp(prefix="almc-shots-"))

    case = Case(qapp, home(), own_disks=False)
    tiffs(case.acq)
    w = case.wizard()
    page = to_destinations(case, w)
    choose(case, page, case.share)
    shot(case, w, "3-destinations-same-disk")
    case.close()

    case = Case(qapp, home(), own_disks=True)
    tiffs(case.acq)
    w = case.wizard()
    shot(case, w, "files")
    page = to_destinations(case, w)
    choose(case, page, case.usb)
    shot(case, w, "destinations-usb-only")
    choose(case, page, case.share)
    shot(case, w, "destinations-safe")
    back_up(case, w)
    w.button(QWizard.WizardButton.NextButton).click()
    shot(case, w, "receipt-still-written")
    case.close()

    case = Case(qapp, home(), own_disks=True)
    tiffs(case.acq, growing=False)
    w = case.wizard()
    page = to_destinations(case, w)
    choose(case, page, case.share)
    back_up(case, w)
    shot(case, w, "copy-done")
    w.button(QWizard.WizardButton.NextButton).click()
    shot(case, w, "receipt-safe")
    case.close()

    case = Case(qapp, home(), own_disks=True, second_acq=True)
    plates(case.acq, case.acq2)
    w = case.wizard()
    page = to_destinations(case, w)
    choose(case, page, case.share)
    back_up(case, w)
    shot(case, w, "copy-refused")
    w.button(QWizard.WizardButton.NextButton).click()
    shot(case, w, "5-receipt-refused")
    case.close()

    case = Case(qapp, home(), own_disks=True)
    tiffs(case.acq)
    (case.share / "2026-11-23 HeLa").mkdir()
    (case.share / "2026-11-23 HeLa" / "HeLa_DAPI_GFP_00.tif").write_bytes(b"another file")
    w = case.wizard()
    page = to_destinations(case, w)
    choose(case, page, case.share)
    pipe = case.acq / "2026-11-23 HeLa" / "HeLa_DAPI_GFP_02.tif"
    pipe.unlink()
    os.mkfifo(pipe)
    back_up(case, w)
    w.button(QWizard.WizardButton.NextButton).click()
    shot(case, w, "5-receipt-partial")
    case.close()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "almc-wizard")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("run as root: the destinations are tmpfs mounts (disks of their own)")
        return 2
    xvfb = None
    if "DISPLAY" not in os.environ:
        from bench.screenshots import start_display

        xvfb = start_display(":98")
        os.environ["DISPLAY"] = ":98"
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    os.environ["ALMC_HOME"] = tempfile.mkdtemp(prefix="almc-shots-home-")
    try:
        return run(args.out)
    finally:
        if xvfb is not None:
            xvfb.terminate()
            xvfb.wait()


if __name__ == "__main__":
    sys.exit(main())
