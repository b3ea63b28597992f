"""The session-end wizard end to end on the real service: catalog, checks, verified copy."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest
import tifffile
from PySide6.QtWidgets import QWizard

from almc_assistant.qt.bridge import app_pump
from almc_assistant.qt.controller import AppController
from almc_assistant.qt.wizard.session_wizard import (
    COPY,
    DESTINATIONS,
    EXPORTS,
    FILES,
    RECEIPT,
    SessionWizard,
)
from tests.qt.real_service import needs_separate_disks, real_service


@pytest.fixture
def wizard_setup(qtbot, prompter, tmp_path):  # type: ignore[no-untyped-def]
    with real_service(tmp_path / "site") as site:
        image = (np.arange(128 * 128, dtype=np.uint16) % 4096).reshape(128, 128)
        acq = site.acquisition
        tifffile.imwrite(acq / "cells.tif", image)
        tifffile.imwrite(acq / "cells-jpeg.tif", image.astype(np.uint8), compression="jpeg")
        tifffile.imwrite(acq / "growing.tif", image)
        an_hour_ago = time.time() - 3600
        for name in ("cells.tif", "cells-jpeg.tif"):  # finished; growing.tif was just written
            os.utime(acq / name, (an_hour_ago, an_hour_ago))
        site.service.scan_once()  # what the watcher does at start-up
        controller = AppController(
            site.service, app_pump(site.sink), prompter, config=site.config, tray_available=True
        )
        pump = controller._pump
        wizard = SessionWizard(
            site.service,
            prompter,
            pump,
            make_destination=controller.make_destination,
            would_be_safe=controller.would_be_safe,
        )
        qtbot.addWidget(wizard)
        pump.start()
        yield wizard, site
        controller.shutdown()  # stops its timers and the pump before the service goes
        for thread in wizard.receipt_page.save_threads:
            thread.join(10)


def _show(qtbot, wizard: SessionWizard) -> None:  # type: ignore[no-untyped-def]
    """Show it as the tray does; the session's files are read by a worker, off the GUI
    thread, and arrive through the pump: *Next* waits for them."""
    wizard.show()
    assert wizard.files_page.loading and not wizard.files_page.isComplete()
    qtbot.waitUntil(lambda: not wizard.files_page.loading, timeout=20_000)


def _next(wizard: SessionWizard) -> None:
    wizard.button(QWizard.WizardButton.NextButton).click()


def test_wizard_end_to_end(qtbot, prompter, wizard_setup, tmp_path) -> None:  # type: ignore[no-untyped-def]
    needs_separate_disks()
    wizard, site = wizard_setup
    share, usb, session = site.share, site.drive, site.acquisition
    _show(qtbot, wizard)
    assert wizard.currentId() == FILES
    page = wizard.files_page
    assert len(page.model) == 3
    assert "2 files" in page.summary.text() and "1 file still being acquired" in page.summary.text()
    labels = {
        r.path.name: page.model.data(page.model.index(i, 2))
        for i, r in enumerate(page.model.rows())
    }
    assert labels == {
        "cells.tif": "Uncompressed TIFF",
        "cells-jpeg.tif": "Lossy TIFF: pixels changed",
        "growing.tif": "Still acquiring",
    }

    _next(wizard)  # the lossy export needs a word
    assert wizard.currentId() == EXPORTS
    assert [r.path.name for r in wizard.exports_page.model.rows()] == ["cells-jpeg.tif"]
    assert not wizard.button(QWizard.WizardButton.NextButton).isEnabled()
    wizard.exports_page.go_on.setChecked(True)
    _next(wizard)

    assert wizard.currentId() == DESTINATIONS
    dest_page = wizard.destinations_page
    commit = wizard.button(QWizard.WizardButton.CommitButton)
    assert not commit.isEnabled()  # nothing chosen
    dest_page.picker.set_checked(str(usb))
    assert "Not safe yet under the facility's policy" in dest_page.policy.text()
    dest_page.picker.set_checked(str(usb), False)
    dest_page.picker.set_checked(str(share))
    assert "make your data safe" in dest_page.policy.text()
    qtbot.waitUntil(commit.isEnabled, timeout=20_000)  # preflight came back fine
    assert "Lab share" in dest_page.preflight.text()
    commit.click()

    assert wizard.currentId() == COPY
    qtbot.waitUntil(lambda: wizard.state.summary is not None, timeout=30_000)
    assert wizard.state.summary.state == "completed"
    assert wizard.state.summary.verified == 2
    for name in ("cells.tif", "cells-jpeg.tif"):
        copied = next(share.rglob(name))
        assert copied.read_bytes() == (session / name).read_bytes()
    assert not list(share.rglob("growing.tif"))  # still acquiring: never copied
    _next(wizard)

    assert wizard.currentId() == RECEIPT
    html = wizard.receipt_page.html()
    assert "Copied and verified" in html and str(share) in html
    assert "BLAKE3" in html and "growing.tif" in html  # still not safe
    assert "almc-manifest.b3sum" in html
    saved = tmp_path / "receipt.html"
    prompter.save_file = str(saved)
    wizard.receipt_page.save_button.click()
    qtbot.waitUntil(lambda: bool(prompter.told), timeout=10_000)
    assert prompter.told[-1].title == "Receipt saved" and "Backup receipt" in saved.read_text()
    wizard.receipt_page.print_button.click()
    assert prompter.printed and prompter.printed[0][0] == "Backup receipt"
    wizard.button(QWizard.WizardButton.FinishButton).click()
    assert site.service.catalog.open_session(site.service.user) is None  # session ended
    qtbot.waitUntil(lambda: site.service.pending_summary().files == 1, timeout=10_000)


def test_a_full_destination_is_refused_in_preflight(qtbot, wizard_setup, tmp_path) -> None:  # type: ignore[no-untyped-def]
    wizard, _site = wizard_setup
    _show(qtbot, wizard)
    _next(wizard)
    wizard.exports_page.go_on.setChecked(True)
    _next(wizard)
    missing = tmp_path / "not-mounted" / "share"
    wizard.destinations_page.picker.add_folder(str(missing))
    page = wizard.destinations_page
    qtbot.waitUntil(lambda: str(missing) in page._state.preflight, timeout=20_000)
    assert not wizard.button(QWizard.WizardButton.CommitButton).isEnabled()
    assert "not reachable" in page.preflight.text()


def test_cancel_during_copy_is_reported(qtbot, wizard_setup) -> None:  # type: ignore[no-untyped-def]
    wizard, site = wizard_setup
    share = site.share
    _show(qtbot, wizard)
    _next(wizard)
    wizard.exports_page.go_on.setChecked(True)
    _next(wizard)
    wizard.destinations_page.picker.set_checked(str(share))
    commit = wizard.button(QWizard.WizardButton.CommitButton)
    qtbot.waitUntil(commit.isEnabled, timeout=20_000)
    commit.click()
    wizard.copy_page.cancel_button.click()
    qtbot.waitUntil(lambda: wizard.state.summary is not None, timeout=30_000)
    # the tiny job may finish before the cancel lands; either way the page says so
    assert wizard.state.summary.state in ("cancelled", "completed")
    assert wizard.copy_page.isComplete()


def test_files_page_reads_off_the_gui_thread_and_tells_a_failure(qtbot, prompter) -> None:  # type: ignore[no-untyped-def]
    import threading

    from almc_assistant.core.errors import AlmcError
    from almc_assistant.core.events import QueueSink
    from almc_assistant.qt.bridge import EventPump
    from tests.qt.helpers import FakeService

    class Unreadable(FakeService):
        threads: list[str] = []  # noqa: RUF012

        def session_files(self):  # type: ignore[no-untyped-def]
            Unreadable.threads.append(threading.current_thread().name)
            raise AlmcError(
                "database disk image is malformed",
                title="Catalog unreadable",
                next_step="Restart almc-assistant.",
            )

    pump = EventPump(QueueSink(), interval_ms=20)
    wizard = SessionWizard(
        Unreadable(), prompter, pump, make_destination=lambda p: p, would_be_safe=lambda d: ""
    )
    qtbot.addWidget(wizard)
    pump.start()
    _show(qtbot, wizard)
    page = wizard.files_page
    assert Unreadable.threads and "MainThread" not in Unreadable.threads
    assert "Catalog unreadable" in page.summary.text() and len(page.model) == 0
    assert page.isComplete()  # the user can go on: nothing listed to back up
    # an answer to an earlier request (the page was shown again meanwhile) is dropped
    from almc_assistant.qt.wizard.files_page import SessionFilesRead

    page.on_files_read(SessionFilesRead(request=page._request - 1, files=("stale",)))
    assert len(page.model) == 0
    pump.stop()
    page.wait_for_reader()
