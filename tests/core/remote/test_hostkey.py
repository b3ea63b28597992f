"""SFTP host keys against a real sshd on loopback: the key read before any sign-in and
shown as OpenSSH shows it, pinned only once confirmed, checked by rclone on every later
use; another server (a new host key) on the same host and port refused with both
fingerprints, nothing published; a remote set up before keys were checked refused until
its key is confirmed; the command line never pins a key nobody confirmed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from almc_assistant.core.events import ListSink
from almc_assistant.core.paths import AppPaths
from almc_assistant.core.remote import hostkey
from almc_assistant.core.remote.faults import RemoteError, describe, host_key_fault
from almc_assistant.core.remote.rcd import RcDaemon
from almc_assistant.core.remote.spec import PrivateRcloneConfig
from almc_assistant.core.service import Service
from almc_assistant.core.service_remotes import RemoteSetup
from almc_assistant.core.transfer import (
    CopyFailed,
    CopyHooks,
    CopyRequest,
    CopyRetried,
    CopyVerified,
    DestinationRefused,
    run_copy,
)
from almc_assistant.core.transfer.scan import FileTask
from tests.core.remote.helpers import answer, sftp_setup
from tests.core.remote.servers import SshServer, free_port
from tests.integration.test_copy_cli import SRC_DIR, make_run


@pytest.fixture
def service(setup_service: tuple[Service, ListSink]) -> tuple[Service, ListSink]:
    return setup_service


def rclone_conf() -> str:
    return PrivateRcloneConfig(AppPaths.default().config_dir).path.read_text()


def known_hosts() -> Path:
    return AppPaths.default().config_dir / hostkey.KNOWN_HOSTS


def cli(*args: str | Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """The command line with no terminal (stdin a pipe: nobody to ask)."""
    return subprocess.run(
        [sys.executable, "-m", "almc_assistant", *map(str, args)],
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(SRC_DIR)},
        timeout=180,
    )


def pinned_through_service(service, server: SshServer) -> RemoteSetup:
    s, sink = service
    setup = sftp_setup(server, confirmed=False)
    asked = answer(sink, s.set_up_remote(setup)).result
    assert asked.host_key is not None
    got = answer(sink, s.set_up_remote(replace(setup, host_key=asked.host_key.fingerprint)))
    assert got.result.ok, got.result
    return setup


def test_fingerprint_is_openssh_s_and_read_without_signing_in(sftp_server: SshServer):
    key = hostkey.fetch("127.0.0.1", sftp_server.port)
    assert key.key_type == "ssh-ed25519" and key.type_words == "ED25519"
    assert key.fingerprint == sftp_server.host_fingerprint()  # ssh-keygen -l -E sha256
    assert key.fingerprint.startswith("SHA256:") and not key.fingerprint.endswith("=")
    assert key.address == f"[127.0.0.1]:{sftp_server.port}"
    assert hostkey.host_pattern("Login.Example.EDU", 22) == "Login.Example.EDU"  # as Go
    assert hostkey.same_fingerprint(f"  {key.fingerprint}=", key.fingerprint[7:])
    assert not hostkey.same_fingerprint(key.fingerprint.lower(), key.fingerprint)
    # nothing of the user was sent: sshd saw no user name and no authentication
    log = sftp_server.log.read_text(errors="replace")
    assert "Connection closed" in log or "Disconnected" in log or "Connection reset" in log
    assert "Accepted" not in log and "Failed" not in log and "user" not in log.lower()


def test_no_server_is_a_clear_error():
    port = free_port()
    with pytest.raises(RemoteError) as caught:
        hostkey.fetch("127.0.0.1", port, timeout=5)
    assert f"127.0.0.1:{port}" in caught.value.detail
    assert "Check the server's name and port" in caught.value.next_step


def test_first_use_asks_saves_nothing_then_pins_what_was_confirmed(service, sftp_server: SshServer):
    s, sink = service
    setup = sftp_setup(sftp_server, confirmed=False)

    asked = answer(sink, s.set_up_remote(setup)).result

    assert not asked.ok and asked.host_key is not None
    check = asked.host_key
    assert check.fingerprint == sftp_server.host_fingerprint()
    assert check.key_type == "ED25519" and not check.changed
    assert check.destination == setup.spec
    assert "facility or IT" in asked.next_step
    assert "[research]" not in (
        rclone_conf() if PrivateRcloneConfig(AppPaths.default().config_dir).path.exists() else ""
    )  # nothing saved before the key is confirmed
    assert not known_hosts().exists()

    got = answer(sink, s.set_up_remote(replace(setup, host_key=check.fingerprint))).result

    assert got.ok, got
    line = known_hosts().read_text().strip()
    assert line.startswith(f"[127.0.0.1]:{sftp_server.port} ssh-ed25519 ")
    assert known_hosts().stat().st_mode & 0o777 == 0o600
    conf = rclone_conf()
    assert f"known_hosts_file = {known_hosts()}" in conf
    assert "host_key_algorithms = ssh-ed25519" in conf
    # OpenSSH reads the same file and finds the same key
    found = subprocess.run(
        ["ssh-keygen", "-F", f"[127.0.0.1]:{sftp_server.port}", "-f", str(known_hosts())],
        capture_output=True,
        text=True,
    )
    assert found.returncode == 0 and "ssh-ed25519" in found.stdout
    # later uses ask nothing: rclone checks the pinned key
    again = answer(sink, s.test_remote(setup.spec)).result
    assert again.ok and again.host_key is None
    # a second remote on the same server: its key is known, no question
    other = answer(sink, s.set_up_remote(replace(setup, name="second"))).result
    assert other.ok and other.host_key is None


def test_a_fingerprint_other_than_the_server_s_is_refused(service, sftp_server: SshServer):
    s, sink = service
    wrong = "SHA256:" + "A" * 43
    got = answer(sink, s.set_up_remote(replace(sftp_setup(sftp_server), host_key=wrong))).result
    assert not got.ok and got.title == "Server key not the one confirmed"
    assert wrong in got.detail and sftp_server.host_fingerprint() in got.detail
    assert not known_hosts().exists()


def test_an_impostor_on_the_same_host_and_port_is_refused_everywhere(
    service, sftp_server: SshServer, tmp_path: Path
):
    s, sink = service
    setup = pinned_through_service(service, sftp_server)
    old = sftp_server.host_fingerprint()
    run = make_run(tmp_path / "src")
    assert cli("copy", run, "--to", setup.spec).returncode == 0  # the real server
    dest = sftp_server.data / "dest"
    before = sorted(p.relative_to(dest) for p in dest.rglob("*"))

    sftp_server.impostor()
    new = sftp_server.host_fingerprint()
    assert new != old
    (run / "later.tif").write_bytes(os.urandom(20_000))

    # a copy: refused before anything is sent, both fingerprints named, no traceback
    proc = cli("copy", run, "--to", setup.spec)
    assert proc.returncode != 0
    err = proc.stderr
    assert setup.spec in err and "CHANGED" in err and old in err and new in err, err
    assert "facility or IT" in err and "remote trust" in err and "Traceback" not in err
    assert sorted(p.relative_to(dest) for p in dest.rglob("*")) == before  # nothing landed

    # verify and the JSON form say the same
    verify = cli("verify", setup.spec, "--json")
    assert verify.returncode != 0 and new in verify.stdout + verify.stderr
    assert "Traceback" not in verify.stderr
    copy_json = cli("copy", run, "--to", setup.spec, "--json")
    assert old in copy_json.stdout and new in copy_json.stdout
    json.loads(copy_json.stdout)

    # Settings' Test: the hard stop, with the key to re-confirm once IT says so
    tested = answer(sink, s.test_remote(setup.spec)).result
    assert not tested.ok and tested.host_key is not None and tested.host_key.changed
    assert (tested.host_key.pinned, tested.host_key.fingerprint) == (old, new)
    assert old in tested.detail and new in tested.detail

    # setting it up again does not slip the new key in either
    again = answer(sink, s.set_up_remote(setup)).result
    assert not again.ok and again.title == "Server key changed"
    assert again.host_key is not None and again.host_key.pinned == old

    # re-confirmed deliberately: pinned, the copy goes on
    trusted = answer(sink, s.trust_host_key(setup.spec, new)).result
    assert trusted.ok, trusted
    pinned = hostkey.KnownHosts(AppPaths.default().config_dir).pinned("127.0.0.1", sftp_server.port)
    assert pinned is not None and pinned.fingerprint == new
    assert len(known_hosts().read_text().splitlines()) == 1  # replaced, not added
    done = cli("copy", run, "--to", setup.spec)
    assert done.returncode == 0, done.stderr
    assert (dest / "run1/later.tif").read_bytes() == (run / "later.tif").read_bytes()


def test_a_remote_set_up_before_keys_were_checked_is_refused_until_confirmed(
    service, daemon: RcDaemon, sftp_server: SshServer, tmp_path: Path
):
    s, sink = service
    spec = sftp_server.create_unpinned_remote(daemon, "legacy")
    assert "known_hosts_file" not in rclone_conf()
    run = make_run(tmp_path / "src")

    proc = cli("copy", run, "--to", spec)

    assert proc.returncode != 0
    assert spec in proc.stderr and "not been confirmed" in proc.stderr
    assert f"remote trust {spec}" in proc.stderr and "Traceback" not in proc.stderr
    assert not (sftp_server.data / "dest").exists()  # not even connected to

    # Settings' Test: the key to confirm (first use), nothing pinned yet
    asked = answer(sink, s.test_remote(spec)).result
    assert not asked.ok and asked.host_key is not None and not asked.host_key.changed
    assert asked.host_key.fingerprint == sftp_server.host_fingerprint()
    assert not known_hosts().exists()

    # the command line without a terminal and without the flag: refused, what to run
    refused = cli("remote", "trust", spec)
    assert refused.returncode == 2
    assert sftp_server.host_fingerprint() in refused.stderr
    assert "--accept-host-key" in refused.stderr and "Traceback" not in refused.stderr
    assert not known_hosts().exists()

    trusted = cli("remote", "trust", spec, "--accept-host-key", sftp_server.host_fingerprint())
    assert trusted.returncode == 0, trusted.stderr
    assert "works" in trusted.stdout
    assert f"known_hosts_file = {known_hosts()}" in rclone_conf()
    assert cli("copy", run, "--to", spec).returncode == 0


def test_cli_add_shows_the_key_and_needs_it_accepted(sftp_server: SshServer):
    spec = f"research:{sftp_server.data}/dest"
    args = (
        "remote",
        "add",
        "sftp",
        spec,
        "--host",
        "127.0.0.1",
        "--port",
        str(sftp_server.port),
        "--user",
        sftp_server.user,
        "--key-file",
        str(sftp_server.key),
    )
    fingerprint = sftp_server.host_fingerprint()

    refused = cli(*args)

    assert refused.returncode == 2
    assert "ED25519" in refused.stderr and fingerprint in refused.stderr
    assert f"--accept-host-key {fingerprint}" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert not known_hosts().exists()
    conf = PrivateRcloneConfig(AppPaths.default().config_dir).path
    assert not conf.exists() or "[research]" not in conf.read_text()

    wrong = cli(*args, "--accept-host-key", "SHA256:" + "B" * 43)
    assert wrong.returncode == 1 and "not the one confirmed" in wrong.stderr
    assert not known_hosts().exists()

    ok = cli(*args, "--accept-host-key", fingerprint, "--json")
    assert ok.returncode == 0, ok.stderr
    doc = json.loads(ok.stdout)
    assert doc["ok"] and doc["destination"] == spec
    assert "BLAKE3" in doc["proof"]
    assert (
        hostkey.KnownHosts(AppPaths.default().config_dir).pinned("127.0.0.1", sftp_server.port)
        is not None
    )
    assert cli("remote", "test", spec).returncode == 0


def test_rclone_s_words_for_a_refused_key_are_mapped():
    for message, kind in (
        ("couldn't connect SSH: ssh: handshake failed: knownhosts: key mismatch", "changed"),
        (
            'ssh: handshake failed: ssh: no common algorithm for host key; we offered: ["x"]',
            "changed",
        ),
        ("ssh: handshake failed: knownhosts: key is unknown", "unknown"),
        ("couldn't parse known_hosts_file: open /x: no such file or directory", "unreadable"),
        ("connection refused", ""),
    ):
        assert host_key_fault(message) == kind
    err = describe("research:lab (SFTP)", "open the destination", "knownhosts: key mismatch")
    assert err.final and "impostor" in err.detail and "research:lab" in err.detail


@pytest.mark.skipif(sys.platform == "win32", reason="a POSIX terminal (pty)")
@pytest.mark.parametrize("typed", ["yes", "no"])
def test_cli_asks_at_a_terminal(sftp_server: SshServer, typed: str):
    """At a terminal the key is shown and a typed "yes" trusts it; anything else does
    not, and nothing is saved."""
    spec = f"research:{sftp_server.data}/dest"
    master, slave = os.openpty()
    try:
        where = ["--host", "127.0.0.1", "--port", str(sftp_server.port)]
        who = ["--user", sftp_server.user, "--key-file", str(sftp_server.key)]
        proc = subprocess.Popen(
            [sys.executable, "-m", "almc_assistant", "remote", "add", "sftp", spec, *where, *who],
            stdin=slave,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(SRC_DIR)},
        )
        os.close(slave)
        os.write(master, f"{typed}\n".encode())  # the terminal keeps it until asked
        out, err = proc.communicate(timeout=180)
    finally:
        os.close(master)
    assert sftp_server.host_fingerprint() in err and "Traceback" not in err
    assert "Trust this key" in out
    pinned = hostkey.KnownHosts(AppPaths.default().config_dir).pinned("127.0.0.1", sftp_server.port)
    if typed == "yes":
        assert proc.returncode == 0, err
        assert pinned is not None and pinned.fingerprint == sftp_server.host_fingerprint()
    else:
        assert proc.returncode == 2 and "not trusted" in err
        assert pinned is None


def test_a_key_change_in_the_middle_of_a_job_stops_it_at_the_next_file(
    daemon: RcDaemon, sftp_server: SshServer, tmp_path: Path
):
    """The server is replaced by one with another key (same host and port) while a job
    runs, between two files: the job stops there with the hard-stop message (both
    fingerprints, what to do), the files copied before stay proven, nothing unverified
    stands under a final name, no retry is spent on the impostor."""
    spec = sftp_server.create_remote(daemon, "research")
    folder = tmp_path / "src"
    folder.mkdir()
    srcs = []
    for i in range(12):
        srcs.append(folder / f"f{i:02d}.tif")
        srcs[-1].write_bytes(os.urandom(300_000))
    old = sftp_server.host_fingerprint()
    swapped: list[str] = []

    def before_file(task: FileTask) -> None:
        if task.source.name == "f05.tif" and not swapped:
            sftp_server.impostor()
            swapped.append(sftp_server.host_fingerprint())

    sink = ListSink()
    request = CopyRequest(  # one file after another: the swap falls between two
        sources=srcs,
        destinations=[],
        remotes=(spec,),
        workers=1,
        group_small_files=False,
        hooks=CopyHooks(before_file=before_file),
    )
    result = run_copy(request, sink)
    [new] = swapped
    assert new != old
    failed = [e for e in sink.events if isinstance(e, CopyFailed)]
    verified = [e for e in sink.events if isinstance(e, CopyVerified)]
    assert [v.copy.source.name for v in verified] == [f"f{i:02d}.tif" for i in range(5)]
    assert [e for e in sink.events if isinstance(e, CopyRetried)] == []
    assert len(failed) == 7
    assert [f.source.name for f in failed] == [f"f{i:02d}.tif" for i in range(5, 12)]
    for f in failed:
        assert f.title == "Server key changed", f
        assert "CHANGED" in f.detail and old in f.detail and new in f.detail, f.detail
        assert f.detail.count(spec) == 1 and "impostor" in f.detail  # said once, plainly
        assert "facility or IT" in f.next_step and "remote trust" in f.next_step
    [refused] = [e for e in sink.events if isinstance(e, DestinationRefused)]
    assert refused.title == "Server key changed" and new in refused.detail
    assert result.summary.verified == 5
    # Nothing reached the impostor: its storage holds what the real server proved, and
    # not one byte more (no partial, no manifest, no receipt written after the swap).
    stored = sftp_server.data / "dest"
    names = sorted(p.relative_to(stored).as_posix() for p in stored.rglob("*") if p.is_file())
    assert names == [f"f{i:02d}.tif" for i in range(5)], names
    for i in range(5):
        assert (stored / f"f{i:02d}.tif").read_bytes() == srcs[i].read_bytes()
