"""Remote copies at cleanup time: proven again through their backend, or not counted.

Thread contract: one :class:`RemoteCopies` per cleanup run, used by the thread applying
it (``cleanup.apply``). The service's runs open remotes on the service's one rclone
daemon (``open_backend``); without one it opens its own rclone session lazily (the first
remote copy met) and :meth:`RemoteCopies.close` stops it.

A copy on a remote destination (``research:lab/me``) counts for a deletion only when,
right before it, all of this holds:

- the destination is one the facility or the file's owner configured
  (``EvidenceRules.trusted_remotes``), reached with the sign-in of the user running
  cleanup (their private rclone config);
- the remote answers now (a remote that cannot be reached is named, and its copies do not
  count this time);
- the stored file is there with the source's size, and its backend proves the stored
  bytes equal the source's as just read from storage (``DestinationBackend.prove``: the
  server's own BLAKE3 or SHA-256 over SFTP, Google Drive's SHA-256, OneDrive's
  QuickXorHash, the MD5 of a single-part S3 object, or a download back and our BLAKE3;
  a server that lied about a probe file is never asked, its copies are downloaded back).

Right before the unlink the stored file is looked up again (:meth:`RemoteCopies.changed`):
a remote that stopped answering, or whose copy went, changed size or was modified since it
was proven, cancels the deletion.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from almc_assistant.core.copies import CopyRecord
from almc_assistant.core.destination_backend import DestinationBackend, SourceDigests
from almc_assistant.core.errors import AlmcError
from almc_assistant.core.handles import Refused
from almc_assistant.core.policy import remote_device

OpenBackend = Callable[[str], DestinationBackend]
# The source's digests for these algorithms (besides BLAKE3), read from the open source.
DigestsOf = Callable[[frozenset[str]], SourceDigests]


class RemoteNotACopy(Refused):
    """The remote answered and its file is not a copy of the source (missing, another
    size, other bytes proven): its catalog row may be forgotten."""


@dataclass(frozen=True, slots=True)
class ProvenRemote:
    """A remote copy proven at cleanup time."""

    record: CopyRecord
    spec: str  # the configured destination it was found in
    relpath: str  # below ``spec``
    device: int  # the remote's pseudo device (``policy.remote_device``)
    proof: str  # ``ProofKind`` value
    words: str  # the proof in plain words
    modified: str = ""  # the stored file's modification time, as the backend said it

    @property
    def shown(self) -> str:
        return f"{self.spec.rstrip('/')}/{self.relpath}"


def is_remote(copy: CopyRecord) -> bool:
    """Whether ``copy`` lies on a remote destination (its root is ``name:path``)."""
    return remote_device(copy.destination_root.as_posix()) is not None


def located(copy: CopyRecord, trusted: tuple[str, ...]) -> tuple[str, str] | None:
    """The trusted remote destination ``copy`` lies in and its path below it."""
    text = copy.path.as_posix()
    for spec in sorted(trusted, key=len, reverse=True):
        base = spec if spec.endswith((":", "/")) else spec + "/"
        if text.startswith(base):
            rel = text[len(base) :].lstrip("/")
            if rel and ".." not in rel.split("/"):
                return spec, rel
    return None


class RemoteCopies:
    """The remote copies of one cleanup run (see the module docstring)."""

    def __init__(self, open_backend: OpenBackend | None = None, config: Path | None = None):
        """``open_backend``: how a destination is opened (default: one rclone session on
        the user's private rclone config, or ``config``)."""
        self._open_backend = open_backend
        self._config = config
        self._session: object | None = None
        self._backends: dict[str, DestinationBackend | AlmcError] = {}

    def _backend(self, spec: str) -> DestinationBackend:
        found = self._backends.get(spec)
        if found is None:
            try:
                found = self._open(spec)
            except AlmcError as exc:
                found = exc
            self._backends[spec] = found
        if isinstance(found, AlmcError):
            raise Refused(
                f"{spec} cannot be reached at cleanup time ({found.detail.rstrip('.')}): "
                "its copies are not counted this time"
            )
        return found

    def _open(self, spec: str) -> DestinationBackend:
        if self._open_backend is not None:
            return self._open_backend(spec)
        from almc_assistant.core.remote.session import RemoteSession

        if self._session is None:
            self._session = RemoteSession(self._config)
        assert isinstance(self._session, RemoteSession)
        return self._session.open(spec)

    def prove(
        self, copy: CopyRecord, spec: str, relpath: str, digests_of: DigestsOf
    ) -> ProvenRemote:
        """``copy`` proven now (:class:`Refused` or :class:`RemoteNotACopy` saying why not)."""
        backend = self._backend(spec)
        where = f"{spec.rstrip('/')}/{relpath}"
        try:
            entry = backend.stat(relpath)
            if entry is None or entry.is_dir:
                raise RemoteNotACopy(f"{where} is no longer there")
            if entry.size != copy.size:
                raise RemoteNotACopy(
                    f"{where} holds {entry.size} bytes, the source {copy.size}: not a copy"
                )
            proof = backend.prove(relpath, digests_of(backend.wanted_digests()))
        except AlmcError as exc:
            self._backends[spec] = exc
            raise Refused(
                f"{spec} cannot prove its copy at cleanup time ({exc.detail.rstrip('.')}): "
                "not counted this time"
            ) from exc
        if not proof.verified:
            if proof.stored:
                raise RemoteNotACopy(
                    f"{where} does not hold the source's bytes now ({proof.words}: "
                    f"{proof.stored}, expected {proof.expected})"
                )
            raise Refused(f"{spec} could not prove its copy now ({proof.reason or proof.words})")
        device = remote_device(spec)
        assert device is not None
        return ProvenRemote(
            copy, spec, relpath, device, proof.kind.value, proof.words, entry.modified
        )

    def changed(self, proven: ProvenRemote) -> str:
        """Why the proven copy is no longer there as proven ("" when it is)."""
        try:
            backend = self._backend(proven.spec)
            entry = backend.stat(proven.relpath)
        except (Refused, AlmcError) as exc:
            return f"{proven.spec} no longer answers ({getattr(exc, 'detail', exc)})"
        if entry is None or entry.is_dir:
            return "it is gone"
        if entry.size != proven.record.size:
            return f"it now holds {entry.size} bytes"
        if entry.modified != proven.modified:
            return f"it was modified ({proven.modified or '?'} then, {entry.modified or '?'} now)"
        return ""

    def close(self) -> None:
        from almc_assistant.core.remote.session import RemoteSession

        session, self._session = self._session, None
        if isinstance(session, RemoteSession):
            session.stop()
        self._backends = {}
