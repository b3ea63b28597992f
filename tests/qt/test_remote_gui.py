"""Remote destinations in the GUI, on the real service, against a real SFTP server
(OpenSSH with b3sum, on loopback) and a real WebDAV server (rclone serve webdav):

- Settings adds an SFTP destination with a key: "Test connection" runs in the service's
  worker and first shows the server's key type and SHA-256 fingerprint (as
  ``ssh-keygen -l`` prints it) to confirm; once trusted, the answer names the destination
  and its proof; a remote set up before keys were checked shows its key at Test, and a
  server whose key changed is refused with both fingerprints until re-confirmed; Save
  writes ``name:folder`` to the user's TOML and no secret; a wrong WebDAV password gives
  a clear answer and stays out of the TOML; every field is reachable with Tab and has a
  label buddy.
- The transfer window copies real files to the SFTP destination with progress, and
  the receipt there and the server's bytes are checked.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from PySide6.QtCore import Qt, QUrl
from PySide6.QtWidgets import QCheckBox, QComboBox, QLabel, QLineEdit, QPushButton, QWidget
from pytestqt.qtbot import QtBot

from almc_assistant.core.config import Config, WatchSettings
from almc_assistant.core.destinations import Destination, DestinationKind, guess_kind
from almc_assistant.core.events import QueueSink
from almc_assistant.core.paths import AppPaths
from almc_assistant.core.service import Service
from almc_assistant.core.transfer.naming import RECEIPTS_DIR
from almc_assistant.qt.bridge import EventPump, app_pump
from almc_assistant.qt.settings_dialog import SettingsDialog
from almc_assistant.qt.settings_remote import RemoteDialog
from almc_assistant.qt.transfer_rows import FINISHED_JOB_STATES, JobState
from almc_assistant.qt.transfer_window import TransferWindow
from tests.core.remote.servers import RcloneServer, SshServer


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[Service, EventPump]]:
    acquisition = tmp_path / "acquisition"
    acquisition.mkdir()
    config = Config(
        facility_name="Light Microscopy Core",
        watch=WatchSettings(folders=(acquisition,), quiet_seconds=30),
    )
    service = Service(AppPaths.default(), sink := QueueSink(), config=config)
    pump = app_pump(sink)
    pump.start()
    yield service, pump
    pump.stop()
    service.stop()


def _remote_events(pump: EventPump, settings: SettingsDialog) -> None:
    from almc_assistant.core.service_remotes import RemoteTested, SignInOpened

    pump.subscribe(RemoteTested, settings.destinations.on_remote_event)
    pump.subscribe(SignInOpened, settings.destinations.on_remote_event)


def _open_remote_dialog(settings: SettingsDialog) -> RemoteDialog:
    settings.destinations.remote_button.click()
    dialog = settings.destinations.remote_dialog
    assert dialog is not None
    return dialog


def test_settings_adds_and_tests_an_sftp_destination(
    qtbot: QtBot, prompter, site, sftp_server: SshServer
) -> None:
    service, pump = site
    settings = SettingsDialog(service, prompter, lambda: service.config)
    qtbot.addWidget(settings)
    _remote_events(pump, settings)
    settings.show()
    dialog = _open_remote_dialog(settings)
    dialog.backend.setCurrentIndex(dialog.backend.findData("sftp"))
    assert dialog.kind.currentData() == DestinationKind.RESEARCH
    assert "keep another copy" in dialog.guidance.text()
    assert "never makes your data safe" in dialog.guidance.text()
    qtbot.keyClicks(dialog.name, "research")
    qtbot.keyClicks(dialog.folder, f"{sftp_server.data}/dest")
    qtbot.keyClicks(dialog.host, "127.0.0.1")
    qtbot.keyClicks(dialog.port, str(sftp_server.port))
    qtbot.keyClicks(dialog.user, sftp_server.user)
    qtbot.keyClicks(dialog.key_file, str(sftp_server.key))
    assert not dialog.add_button.isEnabled()

    dialog.test_button.click()

    qtbot.waitUntil(dialog.trust_button.isVisible, timeout=60_000)
    fingerprint = sftp_server.host_fingerprint()
    shown = dialog.answer.text()
    assert "Confirm the identity of" in shown and f"127.0.0.1]:{sftp_server.port}" in shown
    assert "ED25519" in shown and fingerprint in shown
    assert "facility or IT" in shown
    assert not dialog.add_button.isEnabled()
    conf = AppPaths.default().config_dir / "rclone.conf"
    assert not conf.exists() or "[research]" not in conf.read_text()  # nothing saved yet
    dialog.trust_button.click()

    qtbot.waitUntil(lambda: "works" in dialog.answer.text(), timeout=60_000)
    assert not dialog.trust_button.isVisible()
    known = (AppPaths.default().config_dir / "known_hosts").read_text()
    assert f"[127.0.0.1]:{sftp_server.port} ssh-ed25519" in known
    spec = f"research:{sftp_server.data}/dest"
    assert spec in dialog.answer.text()
    assert "BLAKE3 computed by the server" in dialog.answer.text()
    assert "not encrypted" in dialog.secrets_note.text()  # no keyring on this machine
    assert dialog.add_button.isEnabled()
    dialog.add_button.click()
    assert [d.remote for d in settings.destinations.user_remotes()] == [spec]

    # Test again from the table, through the service
    settings.destinations.view.selectRow(0)
    settings.destinations.test_button.click()
    qtbot.waitUntil(lambda: "✔" in settings.destinations.result.text(), timeout=60_000)

    settings.save()
    toml = AppPaths.default().user_config.read_text()
    assert f'remote = "{spec}"' in toml
    assert str(sftp_server.key) not in toml
    assert [d.remote for d in service.config.remote_destinations] == [spec]


def test_wrong_webdav_password_is_a_clear_answer_and_kept_nowhere(
    qtbot: QtBot, prompter, site, webdav_server: RcloneServer
) -> None:
    service, pump = site
    settings = SettingsDialog(service, prompter, lambda: service.config)
    qtbot.addWidget(settings)
    _remote_events(pump, settings)
    dialog = _open_remote_dialog(settings)
    dialog.backend.setCurrentIndex(dialog.backend.findData("webdav"))
    wrong = "not-the-Passw0rd-91c"
    qtbot.keyClicks(dialog.name, "dav")
    qtbot.keyClicks(dialog.folder, "lab")
    qtbot.keyClicks(dialog.url, f"http://127.0.0.1:{webdav_server.port}")
    qtbot.keyClicks(dialog.user, webdav_server.user)
    qtbot.keyClicks(dialog.secret, wrong)

    dialog.test_button.click()

    qtbot.waitUntil(lambda: "✖" in dialog.answer.text(), timeout=60_000)
    assert "dav:lab" in dialog.answer.text()
    assert "refused the sign-in" in dialog.answer.text()
    assert wrong not in dialog.answer.text()
    assert not dialog.add_button.isEnabled()
    settings.save()
    assert wrong not in AppPaths.default().user_config.read_text()


def test_every_field_of_each_kind_is_reachable_with_tab_and_labelled(
    qtbot: QtBot, prompter, site
) -> None:
    service, _pump = site
    dialog = RemoteDialog(service, prompter)
    qtbot.addWidget(dialog)
    dialog.show()
    for backend in ("sftp", "smb", "s3", "webdav", "drive", "onedrive"):
        dialog.backend.setCurrentIndex(dialog.backend.findData(backend))
        inputs = [
            w
            for w in dialog.findChildren(QWidget)
            if isinstance(w, QLineEdit | QComboBox | QPushButton | QCheckBox) and w.isVisible()
        ]
        dialog.backend.setFocus()
        seen = set()
        for _ in range(60):
            seen.add(dialog.focusWidget())
            dialog.focusNextChild()
        missing = [w for w in inputs if w not in seen and w.isEnabled()]
        assert not missing, (backend, [w.objectName() or type(w).__name__ for w in missing])
        buddies = {
            label.buddy() for label in dialog.findChildren(QLabel) if label.buddy() is not None
        }
        unlabelled = [w for w in inputs if isinstance(w, QLineEdit | QComboBox)]
        unlabelled = [w for w in unlabelled if w not in buddies]
        assert not unlabelled, backend
        said = dialog.guidance.text().lower()
        assert said, backend
        for advice in ("keep another", "deleted when you leave", "single copy"):
            assert said.count(advice) <= 1, (backend, advice, said)  # said once
        shown = [
            w.text()
            for w in dialog.findChildren(QWidget)
            if isinstance(w, QLabel | QPushButton | QCheckBox) and w.isVisible()
        ]
        keys = [t[t.index("&") + 1].lower() for t in shown if "&" in t]
        assert len(keys) == len(set(keys)), (backend, shown)  # each Alt+letter goes somewhere
    dialog.backend.setCurrentIndex(dialog.backend.findData("drive"))
    assert dialog.test_button.text() == "&Sign in…"
    dialog.managed.setChecked(True)
    assert dialog.guidance.text().count("deleted when you leave") == 1
    assert "SHA-256" in dialog.guidance.text()


@contextlib.contextmanager
def _transfer_window(
    qtbot: QtBot, prompter, acquisition: Path, spec: str
) -> Iterator[TransferWindow]:
    remote = Destination(
        "Research storage", Path("dest"), DestinationKind.RESEARCH, "facility", remote=spec
    )
    config = Config(
        watch=WatchSettings(folders=(acquisition,), quiet_seconds=30),
        facility_remotes=(remote,),
    )
    sink = QueueSink()
    service = Service(AppPaths.default(), sink, config=config)
    pump = app_pump(sink)
    window = TransferWindow(service, prompter, lambda p: Destination(p.name, p, guess_kind(p)))
    window.connect_pump(pump)
    qtbot.addWidget(window)
    window.show()
    pump.start()
    try:
        window.add_paths([str(acquisition)])
        qtbot.waitUntil(lambda: len(window.files) > 0, timeout=20_000)
        window.picker.set_checked(spec)
        qtbot.waitUntil(window.copy_button.isEnabled, timeout=20_000)
        yield window
    finally:
        pump.stop()
        service.stop()


def test_transfer_window_copies_to_an_sftp_destination(
    qtbot: QtBot, prompter, tmp_path: Path, sftp_server: SshServer, sftp_remote: str
) -> None:
    acquisition = tmp_path / "acquisition"
    (acquisition / "plate1").mkdir(parents=True)
    files = {"plate1/a.bin": 300_000, "plate1/b.bin": 70_000, "c.bin": 1}
    for rel, size in files.items():
        (acquisition / rel).write_bytes(bytes(range(256)) * (size // 256) + b"x" * (size % 256))
    with _transfer_window(qtbot, prompter, acquisition, sftp_remote) as window:
        qtbot.waitUntil(lambda: len(window.files) == 3, timeout=20_000)
        assert "Research storage" in window.picker.list.item(0).text()
        window.copy_button.click()
        qtbot.waitUntil(lambda: window.jobs.rows()[0].state is JobState.DONE, timeout=120_000)
        job = window.jobs.rows()[0]
        assert (job.verified, job.failed) == (3, 0)
    dest = sftp_server.data / "dest"
    for rel in files:
        assert (dest / "acquisition" / rel).read_bytes() == (acquisition / rel).read_bytes()
    receipts = list((dest / RECEIPTS_DIR).glob("*.json"))
    assert receipts, sorted(p.name for p in dest.rglob("*"))
    text = receipts[0].read_text()
    assert "server-blake3" in text, text[:400]
    json.loads(text)


def test_transfer_window_pauses_and_cancels_a_remote_copy(
    qtbot: QtBot, prompter, tmp_path: Path, sftp_server: SshServer, sftp_remote: str
) -> None:
    acquisition = tmp_path / "acquisition"
    acquisition.mkdir()
    sources = []
    for i in range(40):
        path = acquisition / f"t{i:02d}.bin"
        path.write_bytes(os.urandom(2 * 1024 * 1024))
        sources.append(path)
    with _transfer_window(qtbot, prompter, acquisition, sftp_remote) as window:
        qtbot.waitUntil(lambda: len(window.files) == 40, timeout=20_000)
        window.copy_button.click()
        qtbot.waitUntil(lambda: bool(window.jobs.rows()), timeout=20_000)
        window.job_view.selectRow(0)
        window.pause_button.click()  # as soon as it exists: long before 80 MiB are sent
        qtbot.waitUntil(lambda: window.jobs.rows()[0].state is JobState.PAUSED, timeout=20_000)
        assert window.pause_button.text() == "&Resume"
        window.cancel_button.click()
        qtbot.waitUntil(
            lambda: window.jobs.rows()[0].state in (JobState.CANCELLED, JobState.DONE),
            timeout=60_000,
        )
        job = window.jobs.rows()[0]
    assert job.state is JobState.CANCELLED, job
    assert job.verified < 40
    dest = sftp_server.data / "dest" / "acquisition"
    finals = [p for p in dest.glob("*.bin")] if dest.exists() else []
    assert len(finals) == job.verified
    for copy in finals:  # a final name holds verified bytes only
        assert copy.read_bytes() == (acquisition / copy.name).read_bytes()


def test_adding_an_sftp_destination_with_the_keyboard_only(
    qtbot: QtBot, prompter, site, sftp_server: SshServer
) -> None:
    """Tab goes down the form in the order it is shown; Space presses the buttons."""
    service, pump = site
    settings = SettingsDialog(service, prompter, lambda: service.config)
    qtbot.addWidget(settings)
    _remote_events(pump, settings)
    settings.show()
    settings.destinations.remote_button.setFocus()
    qtbot.keyClick(settings.destinations.remote_button, Qt.Key.Key_Space)
    dialog = settings.destinations.remote_dialog
    assert dialog is not None
    qtbot.waitExposed(dialog)
    dialog.activateWindow()
    dialog.backend.setFocus()

    def focused() -> QWidget:
        widget = dialog.focusWidget()
        assert widget is not None
        return widget

    def tab() -> None:
        qtbot.keyClick(focused(), Qt.Key.Key_Tab)

    assert focused() is dialog.backend  # SFTP is the first kind
    for text, field in (
        ("research", dialog.name),
        (f"{sftp_server.data}/dest", dialog.folder),
        ("127.0.0.1", dialog.host),
        (str(sftp_server.port), dialog.port),
        (sftp_server.user, dialog.user),
        ("", dialog.secret),
        (str(sftp_server.key), dialog.key_file),
    ):
        tab()
        assert focused() is field, (field, focused())
        qtbot.keyClicks(field, text)
    tab()
    assert focused() is dialog.browse_key
    tab()
    assert focused() is dialog.kind
    while focused() is not dialog.test_button:
        tab()
    qtbot.keyClick(dialog.test_button, Qt.Key.Key_Space)
    qtbot.waitUntil(dialog.trust_button.isVisible, timeout=60_000)
    while focused() is not dialog.trust_button:
        tab()
    qtbot.keyClick(dialog.trust_button, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: "works" in dialog.answer.text(), timeout=60_000)
    while focused() is not dialog.add_button:
        tab()
    qtbot.keyClick(dialog.add_button, Qt.Key.Key_Space)
    assert [d.remote for d in settings.destinations.user_remotes()] == [
        f"research:{sftp_server.data}/dest"
    ]


def test_google_drive_sign_in_opens_the_browser_and_closing_cancels_it(
    qtbot: QtBot, prompter, tmp_path: Path
) -> None:
    """Up to the browser hand-off (no Google account is reachable here): the page opened
    is Google's, with the facility's app and our free loopback port; closing the window
    ends the sign-in and frees the port."""
    client = "1234-facility.apps.googleusercontent.com"
    config = Config(sign_in_clients=(("drive", client, ""),))
    sink = QueueSink()
    service = Service(AppPaths.default(), sink, config=config)
    pump = app_pump(sink)
    pump.start()
    try:
        settings = SettingsDialog(service, prompter, lambda: service.config)
        qtbot.addWidget(settings)
        _remote_events(pump, settings)
        dialog = _open_remote_dialog(settings)
        opened: list[str] = []

        def browser(url: QUrl | str) -> bool:  # no browser here: note what it would open
            opened.append(url.toString() if isinstance(url, QUrl) else url)
            return True

        dialog.open_url = browser
        dialog.backend.setCurrentIndex(dialog.backend.findData("drive"))
        qtbot.keyClicks(dialog.name, "mydrive")
        qtbot.keyClicks(dialog.folder, "Microscopy")
        dialog.test_button.click()
        qtbot.waitUntil(lambda: bool(opened), timeout=30_000)
        url = urlsplit(opened[0])
        query = parse_qs(url.query)
        assert url.hostname == "accounts.google.com" and query["client_id"] == [client]
        port = urlsplit(query["redirect_uri"][0]).port
        assert port not in (None, 53682)
        assert "Finish signing in to mydrive:Microscopy in your browser" in dialog.answer.text()
        dialog.reject()
        with socket.socket() as s:
            qtbot.waitUntil(lambda: s.connect_ex(("127.0.0.1", port)) != 0, timeout=10_000)
    finally:
        pump.stop()
        service.stop()


def test_a_remote_name_in_use_is_not_set_up_again(qtbot: QtBot, prompter, site) -> None:
    """Setting up "research" a second time would point the first destination (and the
    copies recorded there) at another server: refused before anything is written."""
    service, _pump = site
    first = Destination(
        "research (SFTP)", Path("lab"), DestinationKind.RESEARCH, remote="research:lab"
    )
    settings = SettingsDialog(service, prompter, lambda: service.config)
    qtbot.addWidget(settings)
    settings.destinations.set_destinations([first])
    dialog = _open_remote_dialog(settings)
    dialog.backend.setCurrentIndex(dialog.backend.findData("webdav"))
    qtbot.keyClicks(dialog.name, "research")
    qtbot.keyClicks(dialog.url, "http://127.0.0.1:9")
    dialog.test_button.click()
    assert "used by another destination" in dialog.answer.text()
    assert dialog.test_button.isEnabled() and not dialog.add_button.isEnabled()
    conf = AppPaths.default().config_dir / "rclone.conf"
    assert not conf.exists() or "research" not in conf.read_text()


def _settings_with(qtbot: QtBot, prompter, site, spec: str) -> SettingsDialog:
    service, pump = site
    settings = SettingsDialog(service, prompter, lambda: service.config)
    qtbot.addWidget(settings)
    _remote_events(pump, settings)
    settings.destinations.set_destinations(
        [Destination("research (SFTP)", Path("dest"), DestinationKind.RESEARCH, remote=spec)]
    )
    settings.show()
    settings.destinations.view.selectRow(0)
    return settings


def test_a_changed_server_key_is_shown_and_trusted_only_when_confirmed(
    qtbot: QtBot, prompter, site, sftp_server: SshServer, sftp_remote: str
) -> None:
    """The server behind a pinned remote replaced (a new host key on the same host and
    port): Test names both fingerprints; "Trust the new key…" asks once more."""
    from almc_assistant.qt.host_key_prompt import TRUST_NEW_KEY

    old = sftp_server.host_fingerprint()
    sftp_server.impostor()
    new = sftp_server.host_fingerprint()
    settings = _settings_with(qtbot, prompter, site, sftp_remote)
    tab = settings.destinations

    tab.test_button.click()

    qtbot.waitUntil(tab.trust_button.isVisible, timeout=60_000)
    shown = tab.result.text()
    assert "Server key changed" in shown and old in shown and new in shown
    assert "impostor" in shown
    assert tab.trust_button.text() == "Trust the &new key…"
    prompter.answers[TRUST_NEW_KEY] = "cancel"
    tab.trust_button.click()
    assert [q.key for q in prompter.asked] == [TRUST_NEW_KEY]
    assert new in prompter.asked[0].text
    assert tab.trust_button.isVisible() and "✔" not in tab.result.text()

    prompter.answers[TRUST_NEW_KEY] = "trust"
    tab.trust_button.click()
    qtbot.waitUntil(lambda: "✔" in tab.result.text(), timeout=60_000)
    assert not tab.trust_button.isVisible()
    known = (AppPaths.default().config_dir / "known_hosts").read_text()
    assert new.removeprefix("SHA256:") not in known  # the file holds keys, not fingerprints
    assert f"[127.0.0.1]:{sftp_server.port} ssh-ed25519" in known


def test_a_remote_set_up_before_keys_were_checked_asks_at_test(
    qtbot: QtBot, prompter, site, sftp_server: SshServer, daemon
) -> None:
    spec = sftp_server.create_unpinned_remote(daemon, "research")
    settings = _settings_with(qtbot, prompter, site, spec)
    tab = settings.destinations

    tab.test_button.click()

    qtbot.waitUntil(tab.trust_button.isVisible, timeout=60_000)
    assert sftp_server.host_fingerprint() in tab.result.text()
    assert "Confirm the identity" in tab.result.text()
    assert tab.trust_button.text() == "Trust this key and c&onnect"
    tab.trust_button.click()
    qtbot.waitUntil(lambda: "✔" in tab.result.text(), timeout=60_000)
    assert prompter.asked == []  # a first use needs no second question


def test_transfer_window_says_the_server_key_changed_and_copies_nothing(
    qtbot: QtBot, prompter, tmp_path: Path, sftp_server: SshServer, sftp_remote: str
) -> None:
    acquisition = tmp_path / "acquisition"
    acquisition.mkdir()
    (acquisition / "a.bin").write_bytes(os.urandom(50_000))
    old = sftp_server.host_fingerprint()
    sftp_server.impostor()
    new = sftp_server.host_fingerprint()
    with _transfer_window(qtbot, prompter, acquisition, sftp_remote) as window:
        window.copy_button.click()
        qtbot.waitUntil(lambda: bool(prompter.told), timeout=120_000)
        qtbot.waitUntil(lambda: window.jobs.rows()[0].state in FINISHED_JOB_STATES, timeout=120_000)
        assert window.jobs.rows()[0].verified == 0
    [told] = prompter.told
    said = f"{told.title} {told.text} {told.detail}"
    assert sftp_remote in said and old in said and new in said, said
    assert "CHANGED" in said and "facility or IT" in said and "Traceback" not in said
    assert not (sftp_server.data / "dest").exists()  # nothing sent, nothing published
