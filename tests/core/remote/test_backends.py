"""Every backend against its real server on loopback: the proof each one gives, and
files above S3's single-part cutoff proven by download instead of a stored MD5."""

from __future__ import annotations

from pathlib import Path

import pytest

from almc_assistant.core.destination_backend import ProofKind
from tests.core.remote.helpers import backend, send_file, source_file


@pytest.mark.parametrize(
    ("server", "proof"),
    [
        ("s3_server", ProofKind.SERVER_MD5),
        ("webdav_server", ProofKind.DOWNLOAD_BACK),
        ("smb_server", ProofKind.DOWNLOAD_BACK),
    ],
)
def test_copy_and_its_proof(request, daemon, server: str, proof: ProofKind, tmp_path: Path):
    srv = request.getfixturevalue(server)
    dest = backend(daemon, srv.create_remote(daemon, "dest"))
    src = source_file(tmp_path / "src", "a.tif", 300_000)

    digests, [outcome] = send_file(src, "run/a.tif", [dest])
    dest.close()

    assert outcome.verified, outcome.error
    assert outcome.proof is not None and outcome.proof.kind is proof
    assert outcome.proof.as_dict()["verified"] is True
    stored = next(p for p in srv.data.rglob("a.tif"))
    assert stored.read_bytes() == src.read_bytes()
    assert not [p for p in stored.parent.iterdir() if p.name != "a.tif"]
    assert dest.read_manifest() == {"run/a.tif": digests.blake3}
    if proof is ProofKind.DOWNLOAD_BACK:
        assert "downloaded back" in outcome.proof.words


def test_s3_large_upload_proven_by_the_servers_md5(daemon, s3_server, tmp_path: Path) -> None:
    """Above the streaming cutoff (8 MiB) rclone uploads in parts. ``rclone serve s3``
    answers with the MD5 of the whole stored object (it hashes its file), so that MD5 is
    the server's own and proves the copy; rclone's MD5 kept in object metadata is never
    read (``disable_checksum``), so a multipart ETag elsewhere leaves no MD5 and the copy
    is downloaded back (REMOTE.md; not reproducible with this server)."""
    dest = backend(daemon, s3_server.create_remote(daemon, "s3"))
    assert "disable_checksum=true" in dest.fs("")
    src = source_file(tmp_path / "src", "big.nd2", 9 * 1024 * 1024 + 3)

    digests, [outcome] = send_file(src, "big.nd2", [dest])

    assert outcome.verified, outcome.error
    assert outcome.proof is not None and outcome.proof.kind is ProofKind.SERVER_MD5
    assert outcome.proof.stored == digests.others["md5"]
