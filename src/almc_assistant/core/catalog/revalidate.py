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

A copy on a remote destination proven by a hash other than BLAKE3 (S3's MD5, Google
Drive's SHA-256, OneDrive's QuickXorHash: its row's ``proof``) counts only for the bytes
that proof was for: the same read computes that hash too, and the copy is confirmed only
when it equals the one the backend proved (a receipt pairing the source's BLAKE3 with a
proof of other bytes never makes the file safe).
"""

from __future__ import annotations

import io
import logging
import os
from pathlib import Path

from almc_assistant.core.catalog.records import PRESENT_STATES
from almc_assistant.core.catalog.store import Catalog
from almc_assistant.core.copies import CopyRecord, ident_of
from almc_assistant.core.destination_backend import SourceDigests
from almc_assistant.core.identity import FileIdentity
from almc_assistant.core.transfer.hashing import EXISTING, hash_open

log = logging.getLogger(__name__)
EXTRA = ("md5", "sha256", "quickxor")  # remote proofs besides BLAKE3 (remote.digests)

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
    wanted = {a for c in stale if (a := _proof_algorithm(c)) in EXTRA}
    try:
        found = _hash_if(path, rec.ident, rec.size, rec.mtime_ns, frozenset(wanted))
    except OSError as exc:
        log.warning("could not re-read %s to check its copies: %s", path, exc)
        return 0
    if found is None:
        return 0
    digest = found.blake3
    held = [c for c in stale if c.blake3 == digest and _proof_holds(c, found.others)]
    confirmed = 0
    for before in {c.source_ident for c in held}:
        paths = [c.path for c in held if c.source_ident == before]
        confirmed += catalog.confirm_copies(path, before, rec.ident, digest, paths)
    if not confirmed:
        log.info("%s changed since its last backup: its copies no longer count", path)
    return confirmed


def _proof_algorithm(copy: CopyRecord) -> str:
    return str((copy.proof or {}).get("algorithm", ""))


def _proof_holds(copy: CopyRecord, others: dict[str, str]) -> bool:
    """A remote copy proven by another hash than BLAKE3 was proven for these bytes."""
    algorithm = _proof_algorithm(copy)
    if algorithm not in EXTRA:
        return True
    expected = str((copy.proof or {}).get("expected", "")).lower()
    return bool(expected) and others.get(algorithm, "").lower() == expected


def _hash_if(
    path: Path, ident: tuple[int, int, int], size: int, mtime_ns: int, wanted: frozenset[str]
) -> SourceDigests | None:
    """BLAKE3 (and the ``wanted`` hashes) of ``path`` read from storage, if it is the file
    the catalog holds (identity, size, mtime) from before the read to after it; else None."""
    fd = os.open(path, EXISTING)
    watch = os.dup(fd)  # the read closes fd; this one tells what it was after the read
    try:
        before = FileIdentity.of_fd(fd)
        if ident_of(before) != ident or (before.size, before.mtime_ns) != (size, mtime_ns):
            os.close(fd)
            return None
        found = _read_all(fd, wanted) if wanted else _blake3_only(fd)
        after = FileIdentity.of_fd(watch)
        named = FileIdentity.of_path(path)
    finally:
        os.close(watch)
    if found is None or not (after.unchanged_since(before) and named.unchanged_since(before)):
        return None
    return found


def _blake3_only(fd: int) -> SourceDigests | None:
    digest = hash_open(fd, bytearray(BUFFER))
    return None if digest is None else SourceDigests(size=0, blake3=digest)


def _read_all(fd: int, wanted: frozenset[str]) -> SourceDigests:
    """Every digest in ``wanted`` and BLAKE3, in one read from storage (fd closed here)."""
    from almc_assistant.core.remote.digests import ReadPassDigests
    from almc_assistant.core.transfer import cache

    hashers = ReadPassDigests(wanted)
    with io.FileIO(fd, "r", closefd=True) as f:
        cache.evict(fd)
        view = memoryview(bytearray(BUFFER))
        while n := f.readinto(view):
            hashers.update(view[:n])
        cache.evict(fd)
    return hashers.result()
