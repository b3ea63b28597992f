"""One read of the source feeds two remotes of different kinds (SFTP and WebDAV)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from almc_assistant.core.destination_backend import ProofKind
from tests.core.remote.helpers import backend, send_file, source_file


def test_one_read_two_remotes(
    daemon, sftp_server, webdav_server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    sftp = backend(daemon, sftp_server.create_remote(daemon, "research"))
    dav = backend(daemon, webdav_server.create_remote(daemon, "dav"))
    src = source_file(tmp_path / "src", "a.nd2", 9 * 1024 * 1024 + 1)
    read: list[int] = []

    class CountingFileIO(
        io.FileIO
    ):  # the copy engine's reads of the source (core.transfer.streamed)
        def readinto(self, buffer):
            n = super().readinto(buffer)
            read.append(n or 0)
            return n

    monkeypatch.setattr(io, "FileIO", CountingFileIO)

    _, outcomes = send_file(src, "x/a.nd2", [sftp, dav])

    assert sum(read) == src.stat().st_size  # every byte read once, for both
    assert [o.verified for o in outcomes] == [True, True]
    assert [o.proof.kind for o in outcomes if o.proof] == [
        ProofKind.SERVER_BLAKE3,
        ProofKind.DOWNLOAD_BACK,
    ]
    for root in (sftp_server.data, webdav_server.data):
        assert next(root.rglob("a.nd2")).read_bytes() == src.read_bytes()


def test_one_remote_failing_does_not_stop_the_other(
    daemon, sftp_server, webdav_server, tmp_path: Path
):
    sftp = backend(daemon, sftp_server.create_remote(daemon, "research"))
    dav = backend(daemon, webdav_server.create_remote(daemon, "dav"))
    src = source_file(tmp_path / "src", "b.nd2", 12 * 1024 * 1024)
    webdav_server.kill()

    _, (ok, failed) = send_file(src, "b.nd2", [sftp, dav])

    assert ok.verified
    assert not failed.verified and failed.error is not None
    assert "dav:dest (WebDAV)" in failed.error.detail
    with pytest.raises(StopIteration):
        next(webdav_server.data.rglob("b.nd2"))
