"""Opening a remote destination: a small probe file tells whether it can be written and
which server hash (if any) is honest there.

Thread contract: called once per backend, by whoever opens it, before workers use it.

The probe holds random bytes we hash ourselves; each candidate hash the server can
compute (:data:`proof.SERVER_HASHES`) is asked for and compared. A hash that is missing
is skipped; a hash that is *wrong* means the server's hashing cannot be trusted at all,
so every copy there is downloaded back instead (and the log says why). The probe is
removed afterwards.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from almc_assistant.core.remote.digests import ReadPassDigests
from almc_assistant.core.remote.faults import RemoteError
from almc_assistant.core.remote.proof import ServerHash, server_hashes
from almc_assistant.core.remote.upload import RcUpload

if TYPE_CHECKING:
    from almc_assistant.core.remote.rclone_backend import RcloneBackend

log = logging.getLogger(__name__)

PROBE_NAME = ".almc-probe"


def choose_server_hash(
    backend: RcloneBackend, also: Callable[[ServerHash, str, str], None] | None = None
) -> tuple[ServerHash | None, str]:
    """The server hash to prove copies with, or ``None`` and why (download back then).
    ``also(hash, probe, digest)`` runs on the chosen hash while the probe is stored (the
    bulk form of the hash is checked there)."""
    candidates = server_hashes(backend.type, backend.config)
    data = os.urandom(4096)
    digests = ReadPassDigests(h.algorithm for h in candidates if h.algorithm != "blake3")
    digests.update(data)
    ours = digests.result()
    upload = RcUpload(backend, f"{PROBE_NAME}-{hashlib.sha1(data).hexdigest()[:8]}", len(data))
    try:
        upload.write(data)
        upload.finish()
        note = f"{backend.label} computes no hash of stored files: copies are downloaded back"
        for h in candidates:
            try:
                stored = backend.server_digest(upload.partial, h.algorithm)
            except RemoteError as exc:
                log.info("%s: no server %s (%s)", backend.label, h.algorithm, exc.detail)
                continue
            if not stored:
                continue
            if stored != ours.get(h.algorithm):
                note = (
                    f"{backend.label} gave a wrong {h.algorithm} for a probe file "
                    f"({stored}, expected {ours.get(h.algorithm)}): its hashes are not "
                    "trusted, copies are downloaded back"
                )
                log.warning("%s", note)
                return None, note
            if also is not None:
                also(h, upload.partial, stored)
            return h, ""
        return None, note
    finally:
        with contextlib.suppress(RemoteError):
            upload.abort()
