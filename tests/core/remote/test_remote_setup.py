"""Setting up a remote destination of each kind through the service, as Settings does,
against real servers on loopback: saved in the private rclone.conf, tested like a copy
would open it, the answer (``RemoteTested``) naming the destination and its proof; and
the secret nowhere else (not our TOML, the log, an error message or a repr)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend

from almc_assistant.core.config import UserSettings
from almc_assistant.core.destinations import Destination, DestinationKind
from almc_assistant.core.events import ListSink
from almc_assistant.core.paths import AppPaths
from almc_assistant.core.remote import vault
from almc_assistant.core.remote.spec import PrivateRcloneConfig
from almc_assistant.core.service import Service
from almc_assistant.core.service_remotes import RemoteSetup, RemoteTested, SignInOpened
from tests.core.remote.helpers import answer, sftp_setup
from tests.core.remote.servers import RcloneServer, SambaServer, SshServer


class MemoryKeyring(KeyringBackend):
    """An OS keyring stand-in (none runs on the test machines): keyring's own API."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.saved: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.saved.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.saved[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.saved.pop((service, username), None)


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    before = keyring.get_keyring()
    ring = MemoryKeyring()
    keyring.set_keyring(ring)
    yield ring
    keyring.set_keyring(before)


@pytest.fixture
def service(setup_service: tuple[Service, ListSink]) -> tuple[Service, ListSink]:
    return setup_service


def test_sftp_with_a_key_set_up_and_tested(service, sftp_server: SshServer) -> None:
    s, sink = service
    setup = sftp_setup(sftp_server)
    # the server's key first, nothing saved (test_hostkey.py has the whole exchange)
    asked = answer(sink, s.set_up_remote(replace(setup, host_key="")))
    assert not asked.result.ok and asked.result.host_key is not None
    assert asked.result.host_key.fingerprint == setup.host_key
    setup_request = s.set_up_remote(setup)
    got = answer(sink, setup_request)
    assert got.result.ok, got.result
    assert got.result.destination == setup.spec
    assert "BLAKE3 computed by the server" in got.result.proof
    assert got.store is not None and not got.store.encrypted  # no keyring on this machine
    assert got.store.words == vault.FILE_WORDS
    assert "[research]" in PrivateRcloneConfig(AppPaths.default().config_dir).path.read_text()

    # testing it again later goes through the same opening as a copy
    again = answer(sink, s.test_remote(setup.spec))
    assert again.result.ok and again.result.destination == setup.spec


def test_s3_keys_and_endpoint(service, s3_server: RcloneServer) -> None:
    s, sink = service
    (s3_server.data / "bucket").mkdir()
    setup = RemoteSetup(
        "s3",
        "paid-s3",
        folder="bucket/lab",
        url=f"http://127.0.0.1:{s3_server.port}",
        access_key=s3_server.user,
        secret=s3_server.password,
    )
    got = answer(sink, s.set_up_remote(setup))
    assert got.result.ok, got.result
    assert "MD5" in got.result.proof
    # no keyring here: rclone keeps an S3 secret key as it is, in the 0600 file only
    assert got.store is not None and not got.store.encrypted
    assert "not encrypted" in got.store.words
    assert PrivateRcloneConfig(AppPaths.default().config_dir).mode() == 0o600


def test_wrong_password_is_a_clear_answer_and_the_password_is_nowhere(
    service, webdav_server: RcloneServer, tmp_path: Path
) -> None:
    s, sink = service
    wrong = "Wr0ng-" + "pass-7f3e9a"
    log_file = tmp_path / "app.log"
    handler = logging.FileHandler(log_file)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)  # everything the app and rclone's helper would log
    try:
        setup = RemoteSetup(
            "webdav",
            "dav",
            folder="lab",
            url=f"http://127.0.0.1:{webdav_server.port}",
            user=webdav_server.user,
            secret=wrong,
        )
        got = answer(sink, s.set_up_remote(setup))
        # the user keeps it in their settings (as Settings saves it)
        spec_dest = Destination("DAV", Path("lab"), DestinationKind.OTHER, remote=setup.spec)
        toml = s.save_user_config(replace(UserSettings(), remotes=(spec_dest,)))
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        handler.close()

    assert not got.result.ok
    assert got.result.destination == "dav:lab"
    assert "dav:lab" in got.result.title
    assert "refused the sign-in" in got.result.detail
    assert "password" in got.result.next_step
    assert wrong not in repr(setup) and wrong not in str(got)
    assert wrong not in toml.read_text() and "dav:lab" in toml.read_text()
    assert log_file.stat().st_size > 0 and wrong not in log_file.read_text()


def test_missing_fields_are_named_before_any_network(service) -> None:
    s, sink = service
    got = answer(sink, s.set_up_remote(RemoteSetup("sftp", "research", host="h", user="me")))
    assert not got.result.ok
    assert "key file or a password" in got.result.detail


def test_with_a_keyring_the_config_is_encrypted_and_copies_still_work(
    service, sftp_server: SshServer, memory_keyring: MemoryKeyring, tmp_path: Path
) -> None:
    s, sink = service
    setup = sftp_setup(sftp_server)
    got = answer(sink, s.set_up_remote(setup))
    assert got.result.ok, got.result
    assert got.store is not None and got.store.encrypted
    conf = PrivateRcloneConfig(AppPaths.default().config_dir)
    text = conf.path.read_text()
    assert "RCLONE_ENCRYPT_V0:" in text and "[research]" not in text
    assert str(sftp_server.key) not in text
    assert conf.mode() == 0o600
    [password] = memory_keyring.saved.values()
    assert password not in text

    # a copy job opens the encrypted config through its own helper
    src = tmp_path / "a.nd2"
    src.write_bytes(b"n" * 50_000)
    result = s.start_copy([src], [setup.spec], record=False).wait(120)
    assert result is not None and result.summary.verified == 1, result
    assert (sftp_server.data / "dest" / "a.nd2").read_bytes() == src.read_bytes()


def test_an_encrypted_config_without_its_keyring_is_a_clear_error(
    service, sftp_server: SshServer, memory_keyring: MemoryKeyring
) -> None:
    s, sink = service
    assert answer(sink, s.set_up_remote(sftp_setup(sftp_server))).result.ok
    memory_keyring.saved.clear()  # the keyring was reset

    got = answer(sink, s.test_remote("research:x"))

    assert not got.result.ok
    assert "keyring does not give their password" in got.result.detail
    assert "set the remotes up again" in got.result.next_step


def wait_for(sink: ListSink, kind: type, request: int) -> object:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = [
            e for e in sink.events if isinstance(e, kind) and getattr(e, "request_id", 0) == request
        ]
        if found:
            return found[0]
        time.sleep(0.02)
    raise AssertionError(f"no {kind.__name__} for request {request}")


def test_sign_in_with_the_facilitys_app_up_to_the_browser_then_cancelled() -> None:
    paths = AppPaths.default()
    paths.facility_config.parent.mkdir(parents=True, exist_ok=True)
    paths.facility_config.write_text(
        '[sign_in]\ndrive_client_id = "1234-facility.apps.googleusercontent.com"\n'
    )
    sink = ListSink()
    s = Service(paths, sink)
    try:
        request = s.sign_in("drive", "mydrive", "lab")
        opened = wait_for(sink, SignInOpened, request)
        assert isinstance(opened, SignInOpened)
        assert opened.destination == "mydrive:lab" and opened.port != 53682
        assert "client_id=1234-facility.apps.googleusercontent.com" in opened.url
        s.cancel_sign_in(request)
        done = wait_for(sink, RemoteTested, request)
        assert isinstance(done, RemoteTested)
        assert not done.result.ok and "cancelled" in done.result.detail
        assert done.result.destination == "mydrive:lab"
    finally:
        s.stop()


def test_sign_in_without_the_facilitys_app_says_whom_to_ask(service) -> None:
    s, sink = service
    got = answer(sink, s.sign_in("onedrive", "od"))
    assert not got.result.ok
    assert "client id" in got.result.next_step


def test_smb_with_credentials(service, smb_server: SambaServer) -> None:
    s, sink = service
    setup = RemoteSetup(
        "smb",
        "labshare",
        folder="almc/alice",
        host="127.0.0.1",
        port=str(smb_server.port),
        user=smb_server.user,
        secret=smb_server.password,
    )
    got = answer(sink, s.set_up_remote(setup))
    assert got.result.ok, got.result
    assert "downloaded back" in got.result.proof
    assert (
        smb_server.password
        not in PrivateRcloneConfig(AppPaths.default().config_dir).path.read_text()
    )

    refused = answer(sink, s.set_up_remote(replace(setup, secret="wrong-" + smb_server.password)))
    assert not refused.result.ok and "labshare:almc/alice" in refused.result.title


def test_set_up_and_test_through_the_engine_process(sftp_server: SshServer) -> None:
    """The tray app's engine runs in a child process: the set-up and its answer cross the
    pipe (the secret-free ``RemoteSetup`` there, ``RemoteTested`` back)."""
    from almc_assistant.core.config import Config
    from almc_assistant.core.events import QueueSink
    from almc_assistant.core.service_process import EngineProcess

    sink = QueueSink()
    engine = EngineProcess(AppPaths.default(), sink, config=Config())
    try:
        setup = sftp_setup(sftp_server, name="research2")
        request = engine.set_up_remote(setup)
        got = None
        while got is None:
            event = sink.get(timeout=120)
            assert event is not None, "no RemoteTested came from the engine"
            if isinstance(event, RemoteTested) and event.request_id == request:
                got = event
        assert got.result.ok, got.result
        assert "BLAKE3 computed by the server" in got.result.proof
        again = engine.test_remote(setup.spec)
        while True:
            event = sink.get(timeout=120)
            assert event is not None, "no answer to test_remote"
            if isinstance(event, RemoteTested) and event.request_id == again:
                assert event.result.ok and event.result.destination == setup.spec
                break
    finally:
        engine.stop()


def test_a_sign_in_waiting_for_the_browser_holds_no_service_worker() -> None:
    """The browser may take minutes: meanwhile status is answered and both service
    workers are free. A second sign-in replaces the one waiting (one at a time); the
    service's stop ends the waiting one and its thread."""
    from almc_assistant.core.service_events import StatusQueried

    paths = AppPaths.default()
    paths.facility_config.parent.mkdir(parents=True, exist_ok=True)
    paths.facility_config.write_text('[sign_in]\ndrive_client_id = "1234-facility"\n')
    sink = ListSink()
    s = Service(paths, sink)
    try:
        first = s.sign_in("drive", "mydrive", "lab")
        wait_for(sink, SignInOpened, first)

        s.request_status(report=True)
        status = wait_for(sink, StatusQueried, 0)
        assert isinstance(status, StatusQueried) and status.report is not None
        both = threading.Barrier(2, timeout=60)  # two tasks that meet: both workers free
        meet = [s._runtime.submit("meet", both.wait) for _ in range(2)]
        assert sorted(f.result(60) for f in meet) == [0, 1]

        second = s.sign_in("drive", "mydrive", "lab")  # the first tab was abandoned
        replaced = wait_for(sink, RemoteTested, first)
        assert isinstance(replaced, RemoteTested) and "cancelled" in replaced.result.detail
        wait_for(sink, SignInOpened, second)
        assert not [
            e for e in sink.events if isinstance(e, RemoteTested) and e.request_id == second
        ]
    finally:
        s.stop()
    done = wait_for(sink, RemoteTested, second)
    assert isinstance(done, RemoteTested) and "cancelled" in done.result.detail
    assert not [t for t in threading.enumerate() if t.name == "almc-sign-in"]
    late = s.sign_in("drive", "mydrive", "lab")  # after stop: refused, not started
    stopped = wait_for(sink, RemoteTested, late)
    assert isinstance(stopped, RemoteTested) and "shutting down" in stopped.result.detail


def test_an_inline_sign_in_waits_in_place_until_cancelled() -> None:
    """A service run inline (the command line) runs the sign-in on the caller's thread:
    it waits for the browser (its port open) until it is cancelled."""
    import socket

    paths = AppPaths.default()
    paths.facility_config.parent.mkdir(parents=True, exist_ok=True)
    paths.facility_config.write_text('[sign_in]\nonedrive_client_id = "5678-facility"\n')
    sink = ListSink()
    s = Service(paths, sink, inline=True)
    caller = threading.Thread(target=s.sign_in, args=("onedrive", "od"))
    try:
        caller.start()
        opened = wait_for(sink, SignInOpened, 1)
        assert isinstance(opened, SignInOpened)
        with socket.create_connection(("127.0.0.1", opened.port), timeout=10):
            pass  # waiting for the browser: its port answers
        s.cancel_sign_in(opened.request_id)
        caller.join(60)
        assert not caller.is_alive()
        done = wait_for(sink, RemoteTested, opened.request_id)
        assert isinstance(done, RemoteTested) and "cancelled" in done.result.detail
    finally:
        s.stop()
