"""The session-end wizard end to end on the real service: catalog, checks, verified copy."""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QWizard
from pytestqt.qtbot import QtBot

from almc_assistant.qt.bridge import app_pump
from almc_assistant.qt.controller import AppController
from almc_assistant.qt.controller_windows import make_destination
from almc_assistant.qt.wizard.files_page import CHECK_COLUMN
from almc_assistant.qt.wizard.session_wizard import (
    COPY,
    DESTINATIONS,
    EXPORTS,
    FILES,
    RECEIPT,
    SessionWizard,
)
from tests.qt.helpers import file_record
from tests.qt.real_service import real_service


def _session_files(acq: Path) -> None:
    image = (np.arange(128 * 128, dtype=np.uint16) % 4096).reshape(128, 128)
    tifffile.imwrite(acq / "cells.tif", image)
    tifffile.imwrite(acq / "cells-jpeg.tif", image.astype(np.uint8), compression="jpeg")
    tifffile.imwrite(acq / "growing.tif", image)
    an_hour_ago = time.time() - 3600
    for name in ("cells.tif", "cells-jpeg.tif"):  # finished; growing.tif was just written
        os.utime(acq / name, (an_hour_ago, an_hour_ago))


@pytest.fixture
def make_wizard(qtbot: QtBot, prompter, tmp_path: Path):
    """``make_wizard(**real_service_options, files=...)`` -> (wizard, site): the real
    service on a site whose acquisition folder ``files(acq)`` fills, its scan done."""
    with contextlib.ExitStack() as stack:

        def make(files=_session_files, **options):
            site = stack.enter_context(real_service(tmp_path / "site", **options))
            files(site.acquisition)
            site.service.scan_once()  # what the watcher does at start-up
            controller = AppController(
                site.service,
                app_pump(site.sink),
                prompter,
                tray_available=True,
            )
            pump = controller._pump
            wizard = SessionWizard(
                site.service, prompter, pump, make_destination=controller.make_destination
            )
            qtbot.addWidget(wizard)
            pump.start()

            def stop() -> None:
                controller.shutdown()  # stops its timers, the service (its saves), the pump

            stack.callback(stop)
            return wizard, site

        yield make


@pytest.fixture
def wizard_setup(make_wizard):
    return make_wizard()


def _show(qtbot: QtBot, wizard: SessionWizard) -> None:
    """Show it as the tray does; the session's files are read by a worker, off the GUI
    thread, and arrive through the pump: *Next* waits for them."""
    wizard.show()
    assert wizard.files_page.loading and not wizard.files_page.isComplete()
    qtbot.waitUntil(lambda: not wizard.files_page.loading, timeout=20_000)


def _next(wizard: SessionWizard) -> None:
    wizard.button(QWizard.WizardButton.NextButton).click()


def _press_return(qtbot: QtBot, wizard: SessionWizard) -> None:
    """Return, as a user presses it, to whatever has the keyboard focus."""
    focused = QApplication.focusWidget()
    assert focused is not None and focused.window() is wizard
    qtbot.keyClick(focused, Qt.Key.Key_Return)


def _activate(qtbot: QtBot, wizard: SessionWizard) -> None:
    wizard.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is wizard, timeout=5_000)


def _policy_answer(qtbot: QtBot, page) -> str:
    """The policy's answer comes with the preflight, from the service's worker."""
    qtbot.waitUntil(lambda: "Checking" not in page.policy.text(), timeout=20_000)
    return str(page.policy.text())


@pytest.mark.root
def test_wizard_end_to_end(qtbot: QtBot, prompter, make_wizard, tmp_path: Path) -> None:
    wizard, site = make_wizard(separate_disks=True)  # the share and the drive: own disks
    share, usb, session = site.share, site.drive, site.acquisition
    _show(qtbot, wizard)
    _activate(qtbot, wizard)
    assert wizard.currentId() == FILES
    page = wizard.files_page
    assert len(page.model) == 3
    text = page.summary.text()
    assert "2 files" in text and "1 file still being written" in text
    assert "not in this backup" in text and "backed up once finished" not in text
    labels = {
        r.path.name: page.model.data(page.model.index_of(str(r.path), CHECK_COLUMN))
        for r in page.model.rows()
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
    answer = _policy_answer(qtbot, dest_page)
    assert "Not enough under the facility's policy" in answer
    assert "After copying: 1 copy that counts, on My drive" in answer
    assert "has 1 verified copy" not in answer  # nothing is copied yet
    dest_page.picker.set_checked(str(usb), False)
    dest_page.picker.set_checked(str(share))
    answer = _policy_answer(qtbot, dest_page)
    assert "These copies would make your data safe" in answer and "Not counted" not in answer
    qtbot.waitUntil(commit.isEnabled, timeout=20_000)  # preflight came back fine
    assert "Lab share" in dest_page.preflight.text()
    commit.setFocus()
    _press_return(qtbot, wizard)  # "Back up now"

    assert wizard.currentId() == COPY
    qtbot.waitUntil(lambda: wizard.state.summary is not None, timeout=30_000)
    assert wizard.state.summary.state == "completed"
    assert wizard.state.summary.verified == 2
    for name in ("cells.tif", "cells-jpeg.tif"):
        copied = next(share.rglob(name))
        assert copied.read_bytes() == (session / name).read_bytes()
    assert not list(share.rglob("growing.tif"))  # still acquiring: never copied
    assert not wizard.button(QWizard.WizardButton.CancelButton).isVisible()  # nothing to cancel
    _press_return(qtbot, wizard)  # it used to land on Cancel: no receipt, session open

    assert wizard.currentId() == RECEIPT
    html = wizard.receipt_page.html()
    assert "Copied and verified" in html and str(share) in html
    assert "BLAKE3" in html and "almc-manifest.b3sum" in html
    assert "Not everything from this session is safe" in html  # growing.tif
    assert "Still being written when this backup started" in html and "growing.tif" in html
    assert "Everything from this session is safe" not in html
    saved = tmp_path / "receipt.html"
    prompter.save_file = str(saved)
    wizard.receipt_page.save_button.click()
    qtbot.waitUntil(lambda: bool(prompter.told), timeout=10_000)
    assert prompter.told[-1].title == "Receipt saved" and "Backup receipt" in saved.read_text()
    wizard.receipt_page.print_button.click()
    assert prompter.printed and prompter.printed[0][0] == "Backup receipt"
    _press_return(qtbot, wizard)  # Finish
    assert not wizard.isVisible()
    assert site.service.catalog.open_session(site.service.user) is None  # session ended
    qtbot.waitUntil(lambda: site.service.pending_summary().files == 1, timeout=10_000)


def test_a_full_destination_is_refused_in_preflight(
    qtbot: QtBot, wizard_setup, tmp_path: Path
) -> None:
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


def test_cancel_during_copy_is_reported(qtbot: QtBot, wizard_setup) -> None:
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


def test_files_page_reads_off_the_gui_thread_and_tells_a_failure(
    qtbot: QtBot, prompter, tmp_path: Path
) -> None:
    import threading

    from almc_assistant.core.errors import AlmcError
    from almc_assistant.core.events import QueueSink
    from almc_assistant.qt.bridge import EventPump
    from tests.qt.helpers import FakeService

    class Unreadable(FakeService):
        threads: list[str] = []  # noqa: RUF012

        def session_files(self):
            Unreadable.threads.append(threading.current_thread().name)
            raise AlmcError(
                "database disk image is malformed",
                title="Catalog unreadable",
                next_step="Restart almc-assistant.",
            )

    pump = EventPump(QueueSink(), interval_ms=20)
    wizard = SessionWizard(Unreadable(), prompter, pump, make_destination=make_destination)
    qtbot.addWidget(wizard)
    pump.start()
    _show(qtbot, wizard)
    page = wizard.files_page
    assert Unreadable.threads and "MainThread" not in Unreadable.threads
    assert "Catalog unreadable" in page.summary.text() and len(page.model) == 0
    assert page.isComplete()  # the user can go on: nothing listed to back up
    # an answer to an earlier request (the page was shown again meanwhile) is dropped
    from almc_assistant.qt.wizard.files_page import SessionFilesRead

    stale = file_record(tmp_path / "stale.nd2")
    page.on_files_read(SessionFilesRead(request=page._request - 1, files=(stale,)))
    assert len(page.model) == 0
    pump.stop()
    page.wait_for_reader()


def _to_destinations(qtbot: QtBot, wizard: SessionWizard) -> None:
    _show(qtbot, wizard)
    _next(wizard)
    if wizard.currentId() == EXPORTS:
        wizard.exports_page.go_on.setChecked(True)
        _next(wizard)
    assert wizard.currentId() == DESTINATIONS


def _back_up(qtbot: QtBot, wizard: SessionWizard, *destinations: Path) -> None:
    for d in destinations:
        wizard.destinations_page.picker.set_checked(str(d))
    commit = wizard.button(QWizard.WizardButton.CommitButton)
    qtbot.waitUntil(commit.isEnabled, timeout=20_000)
    commit.click()
    qtbot.waitUntil(lambda: wizard.state.summary is not None, timeout=30_000)


def test_a_copy_on_the_files_own_disk_is_not_called_safe(qtbot: QtBot, wizard_setup) -> None:
    """Issue 9: "✓ These copies make your data safe" beside "a copy there is not a
    backup". The share here is a folder on the acquisition folder's disk."""
    wizard, site = wizard_setup
    _to_destinations(qtbot, wizard)
    page = wizard.destinations_page
    page.picker.set_checked(str(site.share))
    answer = _policy_answer(qtbot, page)
    assert "✓" not in answer and "would make your data safe" not in answer
    assert "Not counted: Lab share: on the same disk as your files" in answer
    assert "After copying: no copy that counts" in answer
    assert "not a backup" in page.preflight.text()
    # the destination's guidance too (it said "One verified copy here makes your data
    # safe" for institutional storage, whatever disk it was on)
    picker = page.picker
    for i in range(picker.list.count()):
        if picker.list.item(i).data(Qt.ItemDataRole.UserRole + 10).name == "Lab share":
            picker.list.setCurrentRow(i)
            tooltip = picker.list.item(i).toolTip()
    for text in (picker.guidance.text(), tooltip):
        assert "makes your data safe" not in text
        assert "would not count for these files: on the same disk as your files" in text


def _two_plates(acq: Path, second: Path | None = None) -> None:
    """Opera Phenix-like exports: the same tile names in every plate."""
    for root, plate, marker in ((acq, "plate1", b"1"), (second or acq, "plate3", b"3")):
        images = root / "alice" / (plate if second is None else "plate1") / "Images"
        images.mkdir(parents=True)
        for tile in ("r01c01f01p01-ch1.tiff", "r01c01f02p01-ch1.tiff"):
            (images / tile).write_bytes(marker * 1000 + tile.encode())
        (images / "Index.idx.xml").write_bytes(b"<plate id='" + marker + b"'/>")
        an_hour_ago = time.time() - 3600
        for f in images.iterdir():
            os.utime(f, (an_hour_ago, an_hour_ago))


def test_two_plates_with_the_same_tile_names_keep_their_folders(qtbot: QtBot, make_wizard) -> None:
    """Issue 9: the wizard flattened every file into the destination root; two plates'
    tiles refused the whole job ("Refused: 0 verified")."""
    wizard, site = make_wizard(files=_two_plates)
    _to_destinations(qtbot, wizard)
    _activate(qtbot, wizard)
    _back_up(qtbot, wizard, site.share)
    assert wizard.state.summary.state == "completed", wizard.state.failed
    sources = sorted(site.acquisition.rglob("*.*"))
    assert len(sources) == 6
    for f in sources:
        assert (site.share / f.relative_to(site.acquisition)).read_bytes() == f.read_bytes()
    assert not [p for p in site.share.rglob("*") if "almc copy" in p.name]
    _press_return(qtbot, wizard)  # issue 9: it landed on Cancel (no receipt, no session end)
    assert wizard.currentId() == RECEIPT
    _press_return(qtbot, wizard)  # Finish
    assert not wizard.isVisible()
    assert site.service.catalog.open_session(site.service.user) is None


def test_two_acquisition_folders_with_the_same_path_keep_their_folders(
    qtbot: QtBot, make_wizard, tmp_path: Path
) -> None:
    """Two acquisition folders hold the same relative path: the engine refused the whole
    job ("Sources would overwrite each other"). Each lands under its folder's name."""
    second = tmp_path / "site" / "acquisition-2"
    wizard, site = make_wizard(files=lambda acq: _two_plates(acq, second), second_acquisition=True)
    _to_destinations(qtbot, wizard)
    _back_up(qtbot, wizard, site.share)
    assert wizard.state.summary.state == "completed", wizard.state.failed
    for root in (site.acquisition, second):
        for f in root.rglob("*.*"):
            copy = site.share / root.name / f.relative_to(root)
            assert copy.read_bytes() == f.read_bytes()


def test_a_refused_copy_says_why_and_nothing_is_called_safe(
    qtbot: QtBot, make_wizard, tmp_path: Path
) -> None:
    """Issue 9: "Refused: 0 verified" with no reason, and a receipt saying "✓ Everything
    from this session is safe". The share goes away (unmounted) after the preflight: the
    engine refuses the job, and never creates the folder again."""
    second = tmp_path / "site" / "acquisition-2"
    wizard, site = make_wizard(files=lambda acq: _two_plates(acq, second), second_acquisition=True)
    _to_destinations(qtbot, wizard)
    wizard.destinations_page.picker.set_checked(str(site.share))
    commit = wizard.button(QWizard.WizardButton.CommitButton)
    qtbot.waitUntil(commit.isEnabled, timeout=20_000)
    shutil.rmtree(site.share)  # unplugged between the check and the copy
    commit.click()
    qtbot.waitUntil(lambda: wizard.state.summary is not None, timeout=30_000)
    assert wizard.state.summary.state == "refused"
    assert not site.share.exists()  # not re-created on the system disk
    copy = wizard.copy_page
    assert "nothing was copied" in copy.counts.text()
    problems = [copy.failures.item(i).text() for i in range(copy.failures.count())]
    assert any("Destination not usable" in p for p in problems), problems
    assert "not reachable" in "".join(problems)
    _next(wizard)
    html = wizard.receipt_page.html()
    assert "Everything from this session is safe" not in html
    assert "Nothing from this session was backed up" in html
    assert "The copy was refused: Destination not usable" in html
    assert str(second / "alice" / "plate1" / "Images" / "r01c01f01p01-ch1.tiff") in html
    assert "6 files without a verified copy" in html and "Nothing was copied" in html
    assert "Nothing was backed up" in wizard.receipt_page.subTitle()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this OS")
def test_a_partial_copy_lists_what_is_not_safe_and_what_was_renamed(
    qtbot: QtBot, wizard_setup
) -> None:
    wizard, site = wizard_setup
    taken = site.share / "cells.tif"  # a different file has the name at the destination
    taken.write_bytes(b"someone else's cells")
    _to_destinations(qtbot, wizard)
    jpeg = site.acquisition / "cells-jpeg.tif"  # replaced by a named pipe before the copy
    jpeg.unlink()
    os.mkfifo(jpeg)
    _back_up(qtbot, wizard, site.share)
    assert wizard.state.summary.state == "completed with problems"
    _next(wizard)
    html = wizard.receipt_page.html()
    assert "Not everything from this session is safe" in html
    assert "Some of your data is not safe yet" in wizard.receipt_page.subTitle()
    assert "cells-jpeg.tif: not copied: it is a named pipe (FIFO)" in html
    assert "1 file without a verified copy on every destination chosen: cells-jpeg.tif" in html
    assert "Stored under another name" in html
    assert f"{site.acquisition / 'cells.tif'} → {site.share / 'cells (almc copy 2).tif'}" in html
    assert taken.read_bytes() == b"someone else's cells"  # never overwritten
    text = wizard.receipt_page.browser.toPlainText()  # what was verified where
    assert f"Lab share, {site.share}: 1 file (" in text and "copied, read back and matched" in text
    assert "growing.tif" in html


def test_page_one_adds_a_file_once_acquisition_has_finished(qtbot: QtBot, make_wizard) -> None:
    """Issue 9: "backed up once finished" was untrue and the page never refreshed. The
    real watcher reports growing.tif finished; the page shows it through the pump."""
    wizard, site = make_wizard(quiet_seconds=0.5)
    _show(qtbot, wizard)
    growing = site.acquisition / "growing.tif"
    assert "1 file still being written" in wizard.files_page.summary.text()
    site.service.start_watching()
    row = lambda: wizard.files_page.model.row_of(str(growing))  # noqa: E731
    qtbot.waitUntil(lambda: str(row().state) == "complete", timeout=30_000)
    qtbot.waitUntil(lambda: row().verdict is not None, timeout=30_000)
    assert "still being written" not in wizard.files_page.summary.text()
    assert "3 files" in wizard.files_page.summary.text()
    assert growing in wizard.state.sources()


def test_two_plates_across_two_sessions_each_keep_their_folder(
    qtbot: QtBot, prompter, make_wizard
) -> None:
    """Issue 9: across sessions, plate 3's tiles became "... (almc copy 2).tiff" in plate
    1's place and plate 3's index pointed at plate 1's images."""
    wizard, site = make_wizard(files=lambda acq: None)
    acq, share = site.acquisition, site.share
    _two_plates(acq)  # plate 1 and plate 3, written ...
    plate3 = acq / "alice" / "plate3"
    moved = acq.parent / "later-plate3"
    plate3.rename(moved)  # ... but plate 3 only in the next session
    site.service.scan_once()
    _to_destinations(qtbot, wizard)
    _back_up(qtbot, wizard, share)
    assert wizard.state.summary.state == "completed"
    _next(wizard)
    wizard.button(QWizard.WizardButton.FinishButton).click()  # the session ends

    moved.rename(plate3)
    site.service.scan_once()  # the next session's files
    wizard.disconnect_pump()
    second = SessionWizard(site.service, prompter, wizard._pump, make_destination=make_destination)
    qtbot.addWidget(second)
    _to_destinations(qtbot, second)
    assert {r.path.parent.parent.name for r in second.state.files} == {"plate3"}
    _back_up(qtbot, second, share)
    summary = second.state.summary
    assert summary is not None and summary.state == "completed", second.state.failed
    for f in sorted(acq.rglob("*.*")):
        assert (share / f.relative_to(acq)).read_bytes() == f.read_bytes()
    assert not [p for p in share.rglob("*") if "almc copy" in p.name]
    assert sorted(p.name for p in (share / "alice" / "plate1" / "Images").iterdir()) == sorted(
        p.name for p in (acq / "alice" / "plate1" / "Images").iterdir()
    )
