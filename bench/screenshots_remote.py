"""Screenshots of remote destinations (issue 13), for the README and review (not CI).

Usage (Linux; needs Xvfb and trayer, OpenSSH's sshd and b3sum for the SFTP server)::

    python bench/screenshots_remote.py [--out DIR]

It starts Xvfb and a tray host itself when no ``DISPLAY`` is set. Real servers run on
loopback (OpenSSH with b3sum; rclone serve webdav), and the real service behind the GUI
saves and tests what the windows ask. It saves:

- ``remote-<kind>``: Settings' "Add a remote destination" filled in for each kind (SFTP
  with a key, SMB, S3, WebDAV, Google Drive, OneDrive), with the kind's guidance;
- ``remote-hostkey``: the SFTP server's key to confirm on first use (type, SHA-256
  fingerprint, what to compare it with);
- ``remote-tested``: the SFTP destination tested once its key is trusted (its proof
  named), and
  ``remote-failed``: a WebDAV password the server refuses;
- ``remote-settings``: the Destinations tab listing the remote destinations;
- ``remote-transfer``: the transfer window copying a session to the SFTP destination.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

FILLED: dict[str, dict[str, str]] = {
    "smb": {
        "name": "labshare",
        "folder": "lab/alice",
        "host": "storage.example.edu",
        "user": "alice",
    },
    "s3": {
        "name": "paid-s3",
        "folder": "alice-backup/microscopy",
        "url": "https://s3.eu-central-1.amazonaws.com",
        "access_key": "AKIAEXAMPLE",
    },
    "drive": {"name": "mydrive", "folder": "Microscopy"},
    "onedrive": {"name": "onedrive", "folder": "Microscopy"},
}


def run(out: Path, tmp: Path) -> int:
    from PySide6.QtWidgets import QApplication
    from tests.core.remote.servers import RcloneServer, SshServer

    from almc_assistant.core.destinations import DestinationKind
    from almc_assistant.core.events import QueueSink
    from almc_assistant.core.paths import AppPaths
    from almc_assistant.core.service import Service
    from almc_assistant.qt import app as app_module
    from almc_assistant.qt.bridge import app_pump
    from almc_assistant.qt.controller import AppController
    from almc_assistant.qt.prompts import QtPrompter

    qapp: QApplication = app_module._application()
    out.mkdir(parents=True, exist_ok=True)
    sftp = SshServer(tmp / "sshd")
    dav = RcloneServer(tmp / "webdav", "webdav")
    acq = tmp / "Acquisition"
    session = acq / "2026-12-03 HeLa live"
    session.mkdir(parents=True)
    import numpy as np
    import tifffile

    rng = np.random.default_rng(1)
    for i in range(24):
        image = rng.integers(0, 4096, size=(2048, 3072), dtype=np.uint16)
        tifffile.imwrite(session / f"HeLa_t{i:03d}.tif", image)
    old = time.time() - 3600
    for f in session.iterdir():
        os.utime(f, (old, old))
    (tmp / "LabShare").mkdir()
    paths = AppPaths.default()
    paths.facility_config.parent.mkdir(parents=True, exist_ok=True)
    paths.facility_config.write_text(
        '[facility]\nname = "Advanced Light Microscopy Core"\n'
        f"[watch]\nfolders = [{str(acq)!r}]\nquiet_seconds = 120\n"
        '[[destinations]]\nname = "Lab share (PetaStore)"\nkind = "institutional"\n'
        f"path = {str(tmp / 'LabShare')!r}\n"
    )
    sink = QueueSink()
    service = Service(paths, sink)
    controller = AppController(service, app_pump(sink), QtPrompter())
    controller._pump.start()

    def settle(seconds: float = 0.4, until: Callable[[], bool] | None = None) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end or (until is not None and not until()):
            qapp.processEvents()
            time.sleep(0.02)
            if time.monotonic() > end + 60:
                print("gave up waiting", file=sys.stderr)
                break

    def shot(widget: Any, name: str) -> None:
        settle(0.5)
        path = out / f"{name}.png"
        widget.grab().save(str(path))
        print(path)

    settings = controller.show_settings()
    settle()
    tab = settings.destinations

    def dialog_for(backend: str) -> Any:
        tab.remote_button.click()
        d = tab.remote_dialog
        d.backend.setCurrentIndex(d.backend.findData(backend))
        return d

    # each kind, filled in (not tested: no such servers here)
    for backend, fields in FILLED.items():
        d = dialog_for(backend)
        for key, value in fields.items():
            getattr(d, key).setText(value)
        if backend == "smb":
            d.secret.setText("not-a-real-password")
        if backend == "s3":
            d.secret.setText("not-a-real-secret-key")
        if backend == "drive":
            d.managed.setChecked(True)
        shot(d, f"remote-{backend}")
        d.reject()
        settle()

    # SFTP with a key, tested against the real server
    d = dialog_for("sftp")
    d.name.setText("research")
    d.folder.setText(f"{sftp.data}/alice")
    d.host.setText("127.0.0.1")
    d.port.setText(str(sftp.port))
    d.user.setText(sftp.user)
    d.key_file.setText(str(sftp.key))
    shot(d, "remote-sftp")
    d.test_button.click()
    settle(until=lambda: d.trust_button.isVisible() or "✖" in d.answer.text())
    shot(d, "remote-hostkey")
    d.trust_button.click()
    settle(until=lambda: "works" in d.answer.text() or "✖" in d.answer.text())
    shot(d, "remote-tested")
    d.kind.setCurrentIndex(d.kind.findData(DestinationKind.RESEARCH))
    d.add_button.click()
    settle()

    # WebDAV with a password the server refuses
    d = dialog_for("webdav")
    d.name.setText("dav")
    d.folder.setText("alice")
    d.url.setText(f"http://127.0.0.1:{dav.port}")
    d.user.setText(dav.user)
    d.secret.setText("a-wrong-password")
    shot(d, "remote-webdav")
    d.test_button.click()
    settle(until=lambda: "✖" in d.answer.text() or "works" in d.answer.text())
    shot(d, "remote-failed")
    d.reject()
    settle()
    settings.save()
    settle()
    settings = controller.show_settings()
    settle()
    shot(settings, "remote-settings")
    settings.close()

    transfer = controller.show_transfer()
    transfer.resize(1180, 640)
    transfer.add_paths([str(session)])
    settle(
        until=lambda: len(transfer.files) == 24 and all(r.reasons for r in transfer.files.rows())
    )
    spec = f"research:{sftp.data}/alice"
    transfer.reload_destinations()
    transfer.picker.set_checked(spec)
    settle(until=transfer.copy_button.isEnabled)
    transfer.copy_button.click()
    settle(0.0, until=lambda: bool(transfer.jobs.rows()) and transfer.jobs.rows()[0].bytes_done > 0)
    transfer.job_view.selectRow(0)
    transfer.pause_button.click()  # paused mid-copy: the same pause as a local copy
    settle(1.0)
    shot(transfer, "remote-transfer")
    transfer.pause_button.click()
    settle(until=lambda: transfer.jobs.rows()[0].verified == 24)
    shot(transfer, "remote-transfer-done")
    controller.shutdown()
    service.stop()
    sftp.kill()
    dav.kill()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "almc-remote")
    args = parser.parse_args()
    procs = []
    if "DISPLAY" not in os.environ:
        from bench.screenshots import start_display, start_tray_host

        procs.append(start_display(":96"))
        os.environ["DISPLAY"] = ":96"
        procs.append(start_tray_host(":96", dark=False))
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    os.environ["ALMC_HOME"] = tempfile.mkdtemp(prefix="almc-shots-home-")
    os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    try:
        return run(args.out, Path(tempfile.mkdtemp(prefix="almc-shots-remote-")))
    finally:
        for proc in reversed(procs):
            proc.terminate()
            proc.wait()


if __name__ == "__main__":
    sys.exit(main())
