"""The session-end wizard and the reminder's "Back up now" copy to a remote destination
(a real OpenSSH server with b3sum on loopback) through the real service, with the same
progress, receipt and records as a local copy; the receipt says how each remote copy was
proven, never "read back" for a copy that was not."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QWizard
from pytestqt.qtbot import QtBot

from almc_assistant.core.destinations import Destination, DestinationKind, guess_kind
from almc_assistant.qt.bridge import app_pump
from almc_assistant.qt.controller import AppController
from almc_assistant.qt.transfer_rows import JobState, RowState
from almc_assistant.qt.transfer_window import TransferWindow
from almc_assistant.qt.wizard.session_wizard import SessionWizard
from tests.core.remote.servers import SshServer
from tests.qt.real_service import real_service
from tests.qt.test_reminder_window import rig
from tests.qt.test_session_wizard import _session_files, _to_destinations


@pytest.fixture
def research(sftp_remote: str) -> Destination:
    """The facility's research storage over SFTP."""
    return Destination(
        "Research storage", Path("dest"), DestinationKind.RESEARCH, "facility", remote=sftp_remote
    )


def test_wizard_backs_up_to_research_storage_over_sftp(
    qtbot: QtBot, prompter, tmp_path: Path, sftp_server: SshServer, research: Destination
) -> None:
    with contextlib.ExitStack() as stack:
        site = stack.enter_context(real_service(tmp_path / "site", remotes=(research,)))
        _session_files(site.acquisition)
        site.service.scan_once()
        controller = AppController(site.service, app_pump(site.sink), prompter, tray_available=True)
        stack.callback(controller.shutdown)
        wizard = SessionWizard(
            site.service, prompter, controller._pump, make_destination=controller.make_destination
        )
        qtbot.addWidget(wizard)
        controller._pump.start()
        _to_destinations(qtbot, wizard)
        page = wizard.destinations_page
        assert research.remote in [getattr(d, "remote", "") for d in site.service.destinations()]
        page.picker.set_checked(research.remote)
        commit = wizard.button(QWizard.WizardButton.CommitButton)
        qtbot.waitUntil(commit.isEnabled, timeout=20_000)
        assert "reached, tested and proven" in page.preflight.text()
        assert "keep another copy" in page.policy.text() or "Not enough" in page.policy.text()
        commit.click()
        qtbot.waitUntil(lambda: wizard.state.summary is not None, timeout=60_000)
        summary = wizard.state.summary
        assert summary is not None and summary.state == "completed"
        assert summary.verified == 2
        wizard.button(QWizard.WizardButton.NextButton).click()
        html = wizard.receipt_page.html()
        dest = sftp_server.data / "dest"
        for name in ("cells.tif", "cells-jpeg.tif"):
            [copy] = dest.rglob(name)
            assert copy.read_bytes() == (site.acquisition / name).read_bytes()
        assert research.remote in html
        assert "uploaded and proven (BLAKE3 computed by the server over the stored file)" in html
        assert "How remote copies were verified" in html
        assert "evicted from the cache" not in html  # no local copy in this backup
        assert "Everything from this session is safe" not in html  # one research copy
        record = site.service.catalog.file(site.acquisition / "cells.tif")
        assert record is not None
        [copy_record] = record.copies
        assert str(copy_record.destination_root) == research.remote, copy_record


@pytest.mark.root
def test_reminder_back_up_now_includes_the_remote(
    qtbot: QtBot, prompter, tmp_path: Path, sftp_server: SshServer, research: Destination
) -> None:
    with rig(tmp_path, prompter, separate_disks=True, remotes=(research,)) as r:
        r.pump.start()
        r.guard.refresh()
        r.guard.session_end_cancelled()
        qtbot.waitUntil(lambda: r.controller.window("reminder") is not None, timeout=5000)
        window = r.window()
        qtbot.waitUntil(lambda: "Research storage" in window.target.text(), timeout=20_000)
        window.backup_button.click()
        qtbot.waitUntil(lambda: r.site.service.pending_summary().files == 0, timeout=120_000)
        dest = sftp_server.data / "dest"
        for source in r.files:
            [copy] = dest.rglob(source.name)
            assert copy.read_bytes() == source.read_bytes()
            record = r.site.service.catalog.file(source)
            assert record is not None
            roots = sorted(str(c.destination_root) for c in record.copies)
            assert research.remote in roots and len(roots) == 3, roots


def test_a_paused_remote_copy_says_paused_and_copying_again_once_resumed(
    qtbot: QtBot, prompter, tmp_path: Path, sftp_server: SshServer, research: Destination
) -> None:
    """Paused from the tray (the job's handle, as ``controller_copies.set_paused``): the
    transfer window's file rows say "Paused", not "Copying…", and nothing is copied;
    resumed from the window: "Copying…", then every copy verified on the server."""
    folder = tmp_path / "run"
    folder.mkdir()
    for i in range(6):
        (folder / f"f{i}.raw").write_bytes(os.urandom(1 << 20))
    with contextlib.ExitStack() as stack:
        site = stack.enter_context(real_service(tmp_path / "site", remotes=(research,)))
        pump = app_pump(site.sink)
        window = TransferWindow(
            site.service, prompter, lambda p: Destination(p.name, p, guess_kind(p))
        )
        window.connect_pump(pump)
        qtbot.addWidget(window)
        window.show()
        pump.start()
        stack.callback(pump.stop)
        window.add_paths([str(folder)])
        qtbot.waitUntil(
            lambda: (
                len(window.files) == 6
                and all(r.state is RowState.CHECKED for r in window.files.rows())
            ),
            timeout=60_000,
        )
        window.picker.set_checked(research.remote)
        handles: list[Any] = []
        window.copies.copy_started.connect(handles.append)
        window.copy_button.click()
        [handle] = handles
        handle.pause()  # the tray's "Pause": the window hears of it from the engine

        def rows() -> list[Any]:
            return window.file_list.current_rows()

        qtbot.waitUntil(lambda: window.jobs.rows()[0].state is JobState.PAUSED, timeout=20_000)
        qtbot.waitUntil(lambda: all(r.state is RowState.PAUSED for r in rows()), timeout=5000)
        qtbot.wait(1500)  # the engine goes on to where it waits: nothing copied meanwhile
        assert [r.status_text for r in rows()] == ["Paused"] * 6
        assert window.jobs.rows()[0].state is JobState.PAUSED
        assert window.pause_button.text() == "&Resume"
        assert not list((sftp_server.data / "dest").rglob("*.raw"))

        window.pause_button.click()  # "Resume"
        assert all(r.state in (RowState.COPYING, RowState.VERIFIED) for r in rows()), rows()
        qtbot.waitUntil(lambda: window.jobs.rows()[0].state is JobState.DONE, timeout=120_000)
        assert [r.status_text for r in rows()] == ["Copied and verified"] * 6
        for source in folder.iterdir():
            [copy] = (sftp_server.data / "dest").rglob(source.name)
            assert copy.read_bytes() == source.read_bytes()
