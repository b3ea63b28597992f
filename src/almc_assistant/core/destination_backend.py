"""What any destination must do for the per-file copy pipeline: the backend seam (issue 13).

Thread contract: values are frozen and safe anywhere. A :class:`DestinationBackend` is
shared by the workers of one job: its methods may be called from several worker threads
at once, each on its own file. An :class:`Upload` belongs to the one worker that started
it and is never shared.

The pipeline, for one source file and one destination, whatever the backend:

1. ``backend.wanted_digests()`` tells the single read pass which digests to compute
   besides BLAKE3 (an S3 backend wants MD5, OneDrive QuickXorHash, Google Drive SHA-256).
2. ``upload = backend.start_upload(relpath, size)`` opens a *partial* name beside the
   final one; never the final name.
3. ``upload.write(chunk)`` for every chunk of the one read of the source (the same chunk
   also feeds the local destinations and the hashers: each source byte is read once).
4. ``upload.finish()`` makes the partial durable (the server has accepted all bytes);
   ``upload.abort()`` removes what was written after any failure.
5. ``backend.prove(upload.partial, digests)`` says what the backend can prove about the stored
   bytes: a hash the server computed on its own storage, or a download back. The answer
   is a :class:`StoredProof`; ``proof.verified`` is false unless a proof matched. The
   same call on a final name settles "already there" and serves ``verify``.
6. ``backend.publish(upload)`` gives the proven partial its final name without ever
   replacing a file already there (:class:`NameTaken` if one is).
7. ``backend.record([(relpath, blake3)])`` adds the copy to the destination's manifest
   (``b3sum`` format at the destination root); ``backend.close()`` at the end of the job
   makes the manifest durable (a remote backend writes it once per job, not per file).

``stat`` and ``list`` answer "is it there, how big", for "already copied" and ``verify``.
Adding a backend means one module implementing these two protocols.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from almc_assistant.core.errors import AlmcError


class ProofKind(StrEnum):
    """How the stored bytes were checked (words the receipt uses)."""

    SERVER_BLAKE3 = "server-blake3"  # the server ran BLAKE3 over the stored file
    SERVER_SHA256 = "server-sha256"
    SERVER_MD5 = "server-md5"  # S3 single-part ETag: the MD5 the server computed
    SERVER_QUICKXOR = "server-quickxorhash"  # OneDrive's own hash of the stored file
    DOWNLOAD_BACK = "downloaded-back"  # the stored bytes downloaded and hashed here
    LOCAL_READ_BACK = "read-back"  # a local file read back from its storage
    NONE = "none"  # nothing could be checked: never verified


PROOF_WORDS: dict[ProofKind, str] = {
    ProofKind.SERVER_BLAKE3: "BLAKE3 computed by the server over the stored file",
    ProofKind.SERVER_SHA256: "SHA-256 computed by the server over the stored file",
    ProofKind.SERVER_MD5: "MD5 (single-part ETag) computed by the server over the stored object",
    ProofKind.SERVER_QUICKXOR: "QuickXorHash computed by the server over the stored file",
    ProofKind.DOWNLOAD_BACK: "downloaded back and compared (BLAKE3)",
    ProofKind.LOCAL_READ_BACK: "read back from the drive and compared (BLAKE3)",
    ProofKind.NONE: "not checked: no proof available",
}


@dataclass(frozen=True, slots=True)
class SourceDigests:
    """What our one read pass computed for one source file (lower-case hex)."""

    size: int
    blake3: str
    others: dict[str, str] = field(default_factory=dict)  # "md5", "sha256", "quickxor"

    def get(self, algorithm: str) -> str:
        return self.blake3 if algorithm == "blake3" else self.others.get(algorithm, "")


@dataclass(frozen=True, slots=True)
class StoredProof:
    """What a backend proved about one stored copy."""

    kind: ProofKind
    algorithm: str  # "blake3", "sha256", "md5", "quickxor", or "" for none
    expected: str  # ours, from the read pass
    stored: str  # what the server (or the download) gave
    reason: str = ""  # why this proof (or why none)

    @property
    def verified(self) -> bool:
        return (
            self.kind is not ProofKind.NONE
            and bool(self.expected)
            and (self.expected.lower() == self.stored.lower())
        )

    @property
    def words(self) -> str:
        return PROOF_WORDS[self.kind]

    def as_dict(self) -> dict[str, object]:
        """The receipt's entry for this proof."""
        return {
            "proof": self.kind.value,
            "proof_words": self.words,
            "algorithm": self.algorithm,
            "expected": self.expected,
            "stored": self.stored,
            "verified": self.verified,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class Entry:
    """A file or folder at a destination, relative to its root (``/`` separators)."""

    relpath: str
    size: int
    is_dir: bool = False
    modified: str = ""  # RFC 3339 as the backend reports it


class NameTaken(AlmcError):
    """The final name already holds a file: nothing was replaced."""

    title = "Name already taken"


class Untrusted(AlmcError):
    """The destination is not the one the person trusted (an SFTP server showing another
    host key than the one pinned, or one never confirmed): a hard stop. The job sends
    nothing more there, not even its records; every file still to go fails with this
    error's own words (never retried, never called a lost connection)."""

    title = "Destination not trusted"


class Upload(Protocol):
    """One partial being written. Owned by one worker."""

    relpath: str  # the final name it is meant for
    partial: str  # the partial name it is written under
    size: int  # the bytes announced at the start

    def write(self, chunk: bytes | memoryview) -> None: ...

    def finish(self) -> None: ...

    def abort(self) -> None: ...


class DestinationBackend(Protocol):
    """A destination root reached through one backend. Shared by a job's workers."""

    label: str  # for messages: "research:lab/me (SFTP)"
    root: str  # the destination as the user writes it: "research:lab/me"

    def wanted_digests(self) -> frozenset[str]: ...

    def start_upload(self, relpath: str, size: int) -> Upload: ...

    def prove(self, name: str, digests: SourceDigests) -> StoredProof: ...

    def publish(self, upload: Upload) -> None: ...

    def stat(self, relpath: str) -> Entry | None: ...

    def list(self, relfolder: str = "", *, recursive: bool = False) -> list[Entry]: ...

    def record(self, entries: Iterable[tuple[str, str]]) -> None: ...

    def read_manifest(self) -> dict[str, str]: ...

    def close(self) -> None: ...
