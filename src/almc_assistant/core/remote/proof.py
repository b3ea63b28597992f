"""Which proof each rclone backend can give about a stored copy (REMOTE.md's table).

Thread contract: plain values and pure functions, safe anywhere.

- sftp: BLAKE3 (else SHA-256) that the server computes by running ``b3sum``
  (``sha256sum``) on its own disk, against ours from the read pass.
- s3: the ETag, which is the MD5 the server computed, for single-part objects (rclone runs
  with ``disable_checksum`` so it never reports its own MD5 stored in metadata instead),
  against our MD5; multipart objects have no such MD5: download back.
- drive: the SHA-256 Google computes, against ours.
- onedrive: the QuickXorHash Microsoft computes, against ours (:mod:`quickxor`).
- smb, webdav and the rest: nothing; the copy is downloaded back and its BLAKE3 compared.

A server-side command is first tried on a small probe file of known content when the
backend is opened: a server whose hash is missing or wrong for the probe is not asked
again, and every copy there is downloaded back instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from almc_assistant.core.destination_backend import ProofKind


@dataclass(frozen=True, slots=True)
class ServerHash:
    algorithm: str  # rclone's hash name: "blake3", "sha256", "md5", "quickxor"
    kind: ProofKind
    option: str = ""  # sftp: the remote option naming the server command
    command: str = ""  # sftp: that command's default


SFTP_HASHES = (
    ServerHash("blake3", ProofKind.SERVER_BLAKE3, "blake3sum_command", "b3sum"),
    ServerHash("sha256", ProofKind.SERVER_SHA256, "sha256sum_command", "sha256sum"),
)

SERVER_HASHES: dict[str, tuple[ServerHash, ...]] = {
    "sftp": SFTP_HASHES,
    "s3": (ServerHash("md5", ProofKind.SERVER_MD5),),
    "drive": (ServerHash("sha256", ProofKind.SERVER_SHA256),),
    "onedrive": (ServerHash("quickxor", ProofKind.SERVER_QUICKXOR),),
}

# Options forced on a backend through rclone's connection string (name,opt=value:path).
FORCED_OPTIONS: dict[str, dict[str, str]] = {
    # Never report rclone's own MD5 from object metadata: only the server's ETag.
    "s3": {"disable_checksum": "true"},
}


def server_hashes(backend_type: str, config: dict[str, str]) -> tuple[ServerHash, ...]:
    """The server hashes worth probing for a remote of ``backend_type``, best first.

    An SFTP server command the user's config sets to ``none`` is not tried.
    """
    out = []
    for h in SERVER_HASHES.get(backend_type, ()):
        if h.option and config.get(h.option, "").strip().lower() == "none":
            continue
        out.append(h)
    return tuple(out)


def override_options(backend_type: str, config: dict[str, str]) -> dict[str, str]:
    """Connection-string options: forced ones, and the SFTP hash commands when unset."""
    opts = dict(FORCED_OPTIONS.get(backend_type, {}))
    for h in server_hashes(backend_type, config):
        if h.option and not config.get(h.option):
            opts[h.option] = h.command
    return opts
