"""Faults against real servers: killed mid-upload, wrong credentials, a full remote disk,
a final name taken at publish, an unknown remote. Each is a clear message naming the
destination, nothing wrong is published, and a rerun finishes."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import pytest

from almc_assistant.core.destination_backend import NameTaken
from almc_assistant.core.errors import ConfigError
from almc_assistant.core.remote.faults import RemoteError
from almc_assistant.core.remote.rclone_backend import RcloneBackend
from almc_assistant.core.remote.spec import parse_remote
from tests.core.remote.helpers import backend, send_file, source_file
from tests.core.remote.servers import SshServer
from tests.portable import IS_ROOT


def test_server_killed_mid_upload_then_rerun(daemon, sftp_server: SshServer, tmp_path):
    dest = backend(daemon, sftp_server.create_remote(daemon, "research"))
    size = 64 * 1024 * 1024
    upload = dest.start_upload("big.nd2", size)
    chunk = os.urandom(1024 * 1024)
    with pytest.raises(RemoteError) as caught:
        for i in range(64):
            if i == 8:
                sftp_server.kill()
            upload.write(chunk)
        upload.finish()
    err = caught.value
    assert "research:" in err.detail and err.next_step
    assert not (sftp_server.data / "dest" / "big.nd2").exists()

    sftp_server.start()  # the server is back: a rerun finishes
    src = source_file(tmp_path / "src", "big.nd2", 2 * 1024 * 1024)
    _, [outcome] = send_file(src, "big.nd2", [backend(daemon, str(dest.spec))])
    assert outcome.verified, outcome.error
    assert (sftp_server.data / "dest" / "big.nd2").read_bytes() == src.read_bytes()


def test_wrong_key_is_a_sign_in_refusal(daemon, sftp_server: SshServer, tmp_path):
    other = tmp_path / "otherkey"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    spec = sftp_server.create_remote(daemon, "wrongkey", key_file=str(other))
    with pytest.raises(RemoteError) as caught:
        backend(daemon, spec)
    assert "refused the sign-in" in caught.value.detail
    assert "wrongkey:" in caught.value.detail
    assert caught.value.final
    assert "sign in again" in caught.value.next_step


@pytest.mark.parametrize("server", ["s3_server", "webdav_server"])
def test_wrong_password_is_a_sign_in_refusal(request, daemon, server: str) -> None:
    srv = request.getfixturevalue(server)
    spec = srv.create_remote(daemon, "bad", password="not-the-password")
    with pytest.raises(RemoteError) as caught:
        backend(daemon, spec)
    assert "refused the sign-in" in caught.value.detail, caught.value.detail


@pytest.mark.root
def test_remote_disk_full(daemon, sftp_server: SshServer, tmp_path):
    if not IS_ROOT:
        pytest.skip("needs root to mount a small tmpfs as the server's disk")
    folder = sftp_server.data / "dest"
    folder.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "almc-full", str(folder)], check=True)
    try:
        dest = backend(daemon, sftp_server.create_remote(daemon, "research"))
        upload = dest.start_upload("big.nd2", 5 * 1024 * 1024)
        with pytest.raises(RemoteError) as caught:  # the engine's own test: test_engine_faults
            for _ in range(5):
                upload.write(os.urandom(1024 * 1024))
            upload.finish()
        upload.abort()
        assert "full" in caught.value.detail, caught.value.detail
        assert "nothing was published" in caught.value.next_step
        assert not (folder / "big.nd2").exists()
        assert not [p.name for p in folder.iterdir() if "almc-partial" in p.name]
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def test_name_taken_at_publish_is_never_replaced(daemon, sftp_server: SshServer, tmp_path):
    dest = backend(daemon, sftp_server.create_remote(daemon, "research"))
    data = os.urandom(10_000)
    upload = dest.start_upload("a.nd2", len(data))
    upload.write(data)
    upload.finish()
    final = sftp_server.data / "dest" / "a.nd2"
    final.write_bytes(b"someone else's file")  # appears between upload and publish
    with pytest.raises(NameTaken):
        dest.publish(upload)
    upload.abort()
    assert final.read_bytes() == b"someone else's file"
    assert sorted(p.name for p in final.parent.iterdir()) == ["a.nd2"]


def test_same_file_already_there_counts_other_file_is_kept(daemon, sftp_server, tmp_path):
    dest = backend(daemon, sftp_server.create_remote(daemon, "research"))
    src = source_file(tmp_path / "src", "a.nd2", 20_000)
    folder = sftp_server.data / "dest"
    folder.mkdir(exist_ok=True)
    (folder / "a.nd2").write_bytes(src.read_bytes())
    (folder / "b.nd2").write_bytes(b"different")
    other = source_file(tmp_path / "src", "b.nd2", 20_000)

    _, [same] = send_file(src, "a.nd2", [dest])
    _, [differs] = send_file(other, "b.nd2", [dest])

    assert same.verified  # proven by the server's hash of the file already there
    assert not differs.verified and differs.error is not None
    assert "already exists" in differs.error.detail and "not overwritten" in differs.error.detail
    assert (folder / "b.nd2").read_bytes() == b"different"


def test_unknown_remote_and_malformed_specs(daemon) -> None:
    with pytest.raises(RemoteError) as caught:
        RcloneBackend(daemon, parse_remote(f"nosuch{uuid.uuid4().hex[:6]}:lab"))
    assert caught.value.title == "Unknown remote" and caught.value.final
    for bad in ("no-colon", ":path", "bad/name:x", "r:../up", "r:a/../../b"):
        with pytest.raises(ConfigError) as err:
            parse_remote(bad)
        assert err.value.next_step, bad


def test_partial_upload_of_dead_daemon_is_an_error(daemon, sftp_server, tmp_path: Path):
    dest = backend(daemon, sftp_server.create_remote(daemon, "research"))
    upload = dest.start_upload("c.nd2", 3 * 1024 * 1024)
    upload.write(os.urandom(1024 * 1024))
    daemon.stop()
    with pytest.raises(RemoteError):
        for _ in range(2):
            upload.write(os.urandom(1024 * 1024))
        upload.finish()
    assert not (sftp_server.data / "dest" / "c.nd2").exists()


def test_stale_partials_of_a_killed_run_are_removed(daemon, sftp_server: SshServer, tmp_path):
    folder = sftp_server.data / "dest" / "day1"
    folder.mkdir(parents=True)
    old = folder / ".a.nd2.0badc0de.almc-partial"
    fresh = folder / ".b.nd2.0badf00d.almc-partial"  # maybe another upload running now
    for p in (old, fresh):
        p.write_bytes(b"half a file")
    two_days_ago = old.stat().st_mtime - 2 * 86400
    os.utime(old, (two_days_ago, two_days_ago))
    dest = backend(daemon, sftp_server.create_remote(daemon, "research"))
    src = source_file(tmp_path / "src", "c.nd2", 1000)

    _, [outcome] = send_file(src, "day1/c.nd2", [dest])

    assert outcome.verified
    assert not old.exists() and fresh.exists()
