"""A server whose hash is missing or wrong is never believed: copies are downloaded back.
Against the real sshd, with the server's hash command replaced by a script of our own."""

from __future__ import annotations

from pathlib import Path

from almc_assistant.core.destination_backend import ProofKind, SourceDigests
from tests.core.remote.helpers import backend, send_file, source_file
from tests.core.remote.servers import SshServer


def _script(folder: Path, name: str, body: str) -> Path:
    path = folder / name
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)
    return path


def test_a_server_lying_about_blake3_is_caught(daemon, sftp_server: SshServer, tmp_path):
    liar = _script(tmp_path, "b3sum-liar", 'echo "' + "ab" * 32 + '  $1"')
    spec = sftp_server.create_remote(
        daemon, "liar", blake3sum_command=str(liar), sha256sum_command="none"
    )
    dest = backend(daemon, spec)
    assert dest.server_hash is None
    assert "wrong blake3" in dest.probe_note

    src = source_file(tmp_path / "src", "x.nd2", 100_000)
    _, [outcome] = send_file(src, "x.nd2", [dest])

    assert outcome.verified, outcome.error
    assert outcome.proof is not None and outcome.proof.kind is ProofKind.DOWNLOAD_BACK
    assert "wrong blake3" in outcome.proof.reason


def test_no_server_hash_means_download_back(daemon, sftp_server: SshServer, tmp_path):
    silent = _script(tmp_path, "b3sum-silent", "exit 0")
    spec = sftp_server.create_remote(
        daemon, "silent", blake3sum_command=str(silent), sha256sum_command="none"
    )
    dest = backend(daemon, spec)
    assert dest.server_hash is None
    src = source_file(tmp_path / "src", "y.nd2", 50_000)

    _, [outcome] = send_file(src, "y.nd2", [dest])

    assert outcome.verified
    assert outcome.proof is not None and outcome.proof.kind is ProofKind.DOWNLOAD_BACK


def test_a_copy_that_differs_is_not_published(daemon, sftp_server: SshServer, tmp_path):
    """The stored bytes are changed on the server between upload and proof: the proof
    fails, the final name is never created, and the partial is removed."""
    dest = backend(daemon, sftp_server.create_remote(daemon, "research"))
    src = source_file(tmp_path / "src", "z.nd2", 70_000)
    upload = dest.start_upload("z.nd2", 70_000)
    upload.write(src.read_bytes())
    upload.finish()
    stored = sftp_server.data / "dest" / upload.partial
    data = bytearray(stored.read_bytes())
    data[1234] ^= 0xFF
    stored.write_bytes(bytes(data))
    from almc_assistant.core.remote.digests import ReadPassDigests

    hashers = ReadPassDigests()
    hashers.update(src.read_bytes())
    proof = dest.prove(upload.partial, hashers.result())

    assert proof.kind is ProofKind.SERVER_BLAKE3 and not proof.verified
    upload.abort()
    assert not (sftp_server.data / "dest" / "z.nd2").exists()
    assert not stored.exists()


def test_no_proof_is_never_verified() -> None:
    from almc_assistant.core.destination_backend import StoredProof

    digests = SourceDigests(size=1, blake3="aa")
    none = StoredProof(ProofKind.NONE, "", digests.blake3, digests.blake3, "no hash")
    empty = StoredProof(ProofKind.SERVER_MD5, "md5", "", "", "")
    assert not none.verified and not empty.verified
    assert none.as_dict()["proof_words"] == "not checked: no proof available"
