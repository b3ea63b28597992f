"""The per-file pipeline for backends, in its smallest form: one read, every destination.

Thread contract: :func:`send_file` runs in the calling worker; backends are shared.

This is the reference driver of :mod:`almc_assistant.core.destination_backend` until the
copy engine (``core.transfer``) adopts the seam: it reads the source once, feeds every
chunk to the hashers and to one upload per backend, proves each stored copy, publishes
only proven copies under their final names and records them in each manifest. The source
is checked unchanged (:class:`FileIdentity`) from before the read to after the proofs.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from almc_assistant.core.destination_backend import (
    DestinationBackend,
    NameTaken,
    SourceDigests,
    StoredProof,
    Upload,
)
from almc_assistant.core.errors import AlmcError, describe_os_error
from almc_assistant.core.identity import FileIdentity
from almc_assistant.core.remote.digests import ReadPassDigests

CHUNK = 4 << 20


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one file at one destination (a receipt line)."""

    backend: str
    relpath: str
    proof: StoredProof | None
    published: bool
    error: AlmcError | None = None

    @property
    def verified(self) -> bool:
        return self.published and self.proof is not None and self.proof.verified


def send_file(
    source: Path, relpath: str, backends: Sequence[DestinationBackend]
) -> tuple[SourceDigests, list[Outcome]]:
    """Copy ``source`` to ``relpath`` at every backend, reading it once."""
    wanted: set[str] = set()
    for b in backends:
        wanted |= b.wanted_digests()
    hashers = ReadPassDigests(wanted)
    try:
        fd = os.open(source, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        raise describe_os_error(exc, action="read", path=source) from exc
    uploads: dict[int, Upload] = {}
    errors: dict[int, AlmcError] = {}
    try:
        before = FileIdentity.of_fd(fd)
        for i, b in enumerate(backends):
            try:
                uploads[i] = b.start_upload(relpath, before.size)
            except AlmcError as exc:
                errors[i] = exc
        buf = bytearray(CHUNK)
        view = memoryview(buf)
        with open(fd, "rb", buffering=0, closefd=False) as f:
            while n := _read(f, view, source):
                chunk = view[:n]
                hashers.update(chunk)
                for i, up in list(uploads.items()):
                    try:
                        up.write(chunk)
                    except AlmcError as exc:
                        errors[i] = exc
                        del uploads[i]
        for i, up in list(uploads.items()):
            try:
                up.finish()
            except AlmcError as exc:
                errors[i] = exc
                del uploads[i]
        digests = hashers.result()
        after = FileIdentity.of_path(source, follow_symlinks=True)
        if not after.unchanged_since(before) or digests.size != before.size:
            changed = after.change_from(before) or "its size"
            for up in uploads.values():
                up.abort()
            raise AlmcError(
                f"{source} changed while it was copied ({changed}); nothing was published.",
                title="File changed during the copy",
                next_step="Wait until the acquisition has finished, then copy again.",
                paths=(source,),
            )
        outcomes = [
            _land(b, uploads.get(i), errors.get(i), digests, relpath)
            for i, b in enumerate(backends)
        ]
    except BaseException:
        for up in uploads.values():
            with contextlib.suppress(AlmcError):
                up.abort()
        raise
    finally:
        os.close(fd)
    return digests, outcomes


def _read(f: BinaryIO, view: memoryview, source: Path) -> int:
    try:
        return f.readinto(view)  # type: ignore[attr-defined,no-any-return]
    except OSError as exc:
        raise describe_os_error(exc, action="read", path=source) from exc


def _land(
    backend: DestinationBackend,
    upload: Upload | None,
    error: AlmcError | None,
    digests: SourceDigests,
    relpath: str,
) -> Outcome:
    if upload is None:
        return Outcome(backend.label, relpath, None, False, error)
    try:
        proof = backend.prove(upload.partial, digests)
        if not proof.verified:
            upload.abort()
            return Outcome(
                backend.label,
                relpath,
                proof,
                False,
                AlmcError(
                    f"The copy of {relpath} at {backend.label} does not match the source "
                    f"({proof.words}: {proof.stored or 'nothing'} instead of {proof.expected}); "
                    "it was not published.",
                    title="Copy does not match",
                    next_step="Run the copy again; if it fails again, check the storage.",
                ),
            )
        backend.publish(upload)
    except NameTaken as exc:
        upload.abort()
        return _taken(backend, relpath, digests, exc)
    except AlmcError as exc:
        with contextlib.suppress(AlmcError):
            upload.abort()
        return Outcome(backend.label, relpath, None, False, exc)
    backend.record([(relpath, digests.blake3)])
    return Outcome(backend.label, relpath, proof, True)


def _taken(
    backend: DestinationBackend, relpath: str, digests: SourceDigests, exc: NameTaken
) -> Outcome:
    """The final name was there already: the same bytes (proven) count as this copy."""
    try:
        existing = backend.prove(relpath, digests)
    except AlmcError as err:
        return Outcome(backend.label, relpath, None, False, err)
    if existing.verified:
        backend.record([(relpath, digests.blake3)])
        return Outcome(backend.label, relpath, existing, True)
    return Outcome(backend.label, relpath, existing, False, exc)
