"""SFTP against a real OpenSSH server on loopback, proof by the server's own b3sum."""

from __future__ import annotations

import subprocess
from pathlib import Path

import blake3

from almc_assistant.core.destination_backend import ProofKind
from tests.core.remote.helpers import backend, send_file, source_file
from tests.core.remote.servers import SshServer


def test_copy_proven_by_server_blake3(daemon, sftp_server: SshServer, tmp_path: Path) -> None:
    spec = sftp_server.create_remote(daemon, "research")
    dest = backend(daemon, spec)
    assert dest.server_hash is not None and dest.server_hash.algorithm == "blake3"
    src = source_file(tmp_path / "src", "img 1.nd2", 3 * 1024 * 1024 + 17)

    digests, [outcome] = send_file(src, "day1/img 1.nd2", [dest])
    dest.close()

    assert outcome.verified, outcome.error
    assert outcome.proof is not None and outcome.proof.kind is ProofKind.SERVER_BLAKE3
    stored = sftp_server.data / "dest" / "day1" / "img 1.nd2"
    assert stored.read_bytes() == src.read_bytes()
    assert digests.blake3 == blake3.blake3(src.read_bytes()).hexdigest()
    # no partial left behind, and the manifest at the root checks with the real b3sum
    assert sorted(p.name for p in stored.parent.iterdir()) == ["img 1.nd2"]
    check = subprocess.run(
        ["b3sum", "--check", "almc-manifest.b3sum"],
        cwd=sftp_server.data / "dest",
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0 and "day1/img 1.nd2: OK" in check.stdout
    assert dest.read_manifest() == {"day1/img 1.nd2": digests.blake3}
