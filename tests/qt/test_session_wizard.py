"""The session-end wizard end to end: real files, real check verdicts, real verified copy."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PySide6.QtWidgets import QWizard

from almc_assistant.core.catalog.records import FileRecord, FileState
from almc_assistant.core.config import PolicySettings
from almc_assistant.core.destinations import Destination, DestinationKind, guess_kind
from almc_assistant.core.events import QueueSink
from almc_assistant.core.inspect import check_paths
from almc_assistant.core.policy import Policy
from almc_assistant.qt.bridge import app_pump
from almc_assistant.qt.wizard.session_wizard import (
    COPY,
    DESTINATIONS,
    EXPORTS,
    FILES,
    RECEIPT,
    SessionWizard,
)
from tests.qt.core_adapter import CoreBackedService, PreflightDone


def _records(folder: Path, acquiring: set[str]) -> list[FileRecord]:
    """The catalog's answer for this session, with the real check's verdicts."""
    report = check_paths([folder])
    out = []
    for i, check in enumerate(sorted(report.files, key=lambda c: str(c.path)), start=1):
        st = check.path.stat()
        state = FileState.ACQUIRING if check.path.name in acquiring else FileState.COMPLETE
        out.append(
            FileRecord(
                id=i,
                path=check.path,
                size=st.st_size,
                mtime_ns=st.st_mtime_ns,
                owner="me",
                first_seen=time.time(),
                born=time.time(),
                session_id=1,
                state=state,
                verdict=str(check.verdict),
                verdict_reasons=check.reasons,
                safe=False,
            )
        )
    return out


@pytest.fixture
def session(tmp_path: Path) -> Path:
    folder = tmp_path / "acquisition"
    folder.mkdir()
    image = (np.arange(128 * 128, dtype=np.uint16) % 4096).reshape(128, 128)
    tifffile.imwrite(folder / "cells.tif", image)
    tifffile.imwrite(folder / "cells-jpeg.tif", image.astype(np.uint8), compression="jpeg")
    tifffile.imwrite(folder / "growing.tif", image)
    return folder


@pytest.fixture
def wizard_setup(qtbot, prompter, tmp_path, session):  # type: ignore[no-untyped-def]
    share = tmp_path / "institutional"
    usb = tmp_path / "usb"
    share.mkdir()
    usb.mkdir()
    destinations = [
        Destination(
            name="Lab share", path=share, kind=DestinationKind.INSTITUTIONAL, origin="facility"
        ),
        Destination(name="My drive", path=usb, kind=DestinationKind.EXTERNAL_DRIVE),
    ]
    sink = QueueSink()
    service = CoreBackedService(sink, destinations, _records(session, {"growing.tif"}))
    policy = Policy(PolicySettings(), destinations)
    pump = app_pump(sink)
    wizard = SessionWizard(
        service,
        prompter,
        pump,
        make_destination=lambda p: Destination(name=p.name, path=p, kind=guess_kind(p)),
        would_be_safe=policy.would_be_safe,
    )
    pump.subscribe(PreflightDone, lambda e: wizard.destinations_page.on_preflight(e.results))
    qtbot.addWidget(wizard)
    pump.start()
    yield wizard, service, share, usb
    pump.stop()
    service.stop()
    for thread in wizard.receipt_page.save_threads:
        thread.join(10)


def _next(wizard: SessionWizard) -> None:
    wizard.button(QWizard.WizardButton.NextButton).click()


def test_wizard_end_to_end(qtbot, prompter, wizard_setup, session, tmp_path) -> None:  # type: ignore[no-untyped-def]
    wizard, service, share, usb = wizard_setup
    wizard.show()
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
        assert (share / "cells.tif").exists()
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
    assert service.sessions_ended == 1


def test_a_full_destination_is_refused_in_preflight(qtbot, wizard_setup, tmp_path) -> None:  # type: ignore[no-untyped-def]
    wizard, _service, _share, _usb = wizard_setup
    wizard.show()
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
    wizard, _service, share, _usb = wizard_setup
    wizard.show()
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
