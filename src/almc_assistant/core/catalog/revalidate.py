"""Telling a change of attributes from a change of content: re-hash from storage.

Thread contract: blocking (it may read a whole file); call it from a worker, never from
the GUI thread or the catalog writer. The catalog it is given is used from this thread.

A file's ctime moves on ``chmod``, ``chown`` or a new hard link (a backup tool linking
it), not only on writes, and an edit with the mtime restored changes nothing else. When
the watcher reports a file whose size and mtime are those of its verified copies but
whose ctime or file number is not, those copies stop counting (the catalog compares
identities: see :meth:`FileRecord.is_current`). :func:`revalidate` then reads the file
again from storage (its cached pages dropped): if it hashes to the copies' BLAKE3 and did
not change while being read, the copies hold its bytes and count again
(:meth:`Catalog.confirm_copies`); otherwise they stay stale and the file is unsafe until
it is copied again.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from almc_assistant.core.catalog.records import PRESENT_STATES
from almc_assistant.core.catalog.store import Catalog
from almc_assistant.core.copies import ident_of
from almc_assistant.core.identity import FileIdentity
from almc_assistant.core.transfer.hashing import EXISTING, hash_open

log = logging.getLogger(__name__)

BUFFER = 1 << 20


def revalidate(catalog: Catalog, path: Path) -> int:
    """Re-hash ``path`` if it has copies made before its identity moved (same size and
    mtime), or not confirmed yet (read from a copy receipt: ``NOT_CONFIRMED``; they count
    only for the bytes they name, as a re-read from storage finds them); returns how many
    copies were confirmed to hold its bytes (0: none, or
    nothing to do). Never raises for the file: an unreadable file stays unsafe."""
    rec = catalog.file(path)
    if rec is None or rec.ident is None or rec.state not in PRESENT_STATES:
        return 0
    stale = [
        c
        for c in rec.copies
        if c.size == rec.size and c.mtime_ns == rec.mtime_ns and c.source_ident != rec.ident
    ]
    if not stale:
        return 0
    try:
        digest = _hash_if(path, rec.ident, rec.size, rec.mtime_ns)
    except OSError as exc:
        log.warning("could not re-read %s to check its copies: %s", path, exc)
        return 0
    if digest is None:
        return 0
    confirmed = 0
    for before in {c.source_ident for c in stale if c.blake3 == digest}:
        confirmed += catalog.confirm_copies(path, before, rec.ident, digest)
    if not confirmed:
        log.info("%s changed since its last backup: its copies no longer count", path)
    return confirmed


def _hash_if(path: Path, ident: tuple[int, int, int], size: int, mtime_ns: int) -> str | None:
    """BLAKE3 of ``path`` read from storage, if it is the file the catalog holds
    (identity, size, mtime) from before the read to after it; else None."""
    fd = os.open(path, EXISTING)
    watch = os.dup(fd)  # hash_open closes fd; this one tells what it was after the read
    try:
        before = FileIdentity.of_fd(fd)
        if ident_of(before) != ident or (before.size, before.mtime_ns) != (size, mtime_ns):
            os.close(fd)
            return None
        digest = hash_open(fd, bytearray(BUFFER))
        after = FileIdentity.of_fd(watch)
        named = FileIdentity.of_path(path)
    finally:
        os.close(watch)
    if not (after.unchanged_since(before) and named.unchanged_since(before)):
        return None
    return digest
