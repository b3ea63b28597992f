"""A remote destination during a job: a :class:`DestinationBackend` as the engine sees it.

Thread contract: one :class:`RemoteDestination` per remote root per job, shared by the
workers (its bookkeeping is guarded by a lock; the backend is shared by design). A
:class:`RemoteStream` belongs to the worker copying one file.

The engine drives a remote target through the same per-file pipeline as a local one
(:mod:`copier`): the one read of the source feeds the remote upload on a writer thread
exactly as it feeds a local partial; where a local partial is flushed, evicted and read
back, a remote one is finished and *proven* (``backend.prove``: a hash the server
computed over the stored bytes, or a download back); where a local partial is renamed
without replacing, a remote one is published without replacing. Whatever proved a copy
is kept with it (:class:`StoredProof`) and written into the receipt. A copy nothing
proved is never verified: it is removed and the file fails.

``root`` is the remote spec as a path (``research:lab/me``): the name events, receipts
and the catalog give the destination, and every copy there is named below it with ``/``
on every system (:func:`~almc_assistant.core.remotepaths.remote_path`). Nothing is ever
opened through it locally.
"""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path, PurePath, PurePosixPath

from almc_assistant.core.destination_backend import (
    DestinationBackend,
    Entry,
    NameTaken,
    SourceDigests,
    StoredProof,
    Untrusted,
    Upload,
)
from almc_assistant.core.errors import AlmcError
from almc_assistant.core.fslimits import FileSystemInfo
from almc_assistant.core.remotepaths import remote_path
from almc_assistant.core.transfer.destination import DestinationLedger
from almc_assistant.core.transfer.faults import CopyError, VerificationMismatch
from almc_assistant.core.transfer.naming import MANIFEST_NAME, conflict_name
from almc_assistant.core.transfer.scan import FileTask
from almc_assistant.core.transfer.writer import StreamWriter

REMOTE_FS = "rclone remote"
# Small files to remotes: uploads in flight per worker (each waits on the server for a
# while: its proof, its publish); their proofs go to the server together (bulkhash).
UPLOAD_THREADS = 2


class RemoteManifest:
    """The remote's manifest as the engine's landing code sees it: looked up from the
    copy read at the start of the job, recorded through the backend (written at close)."""

    def __init__(self, backend: DestinationBackend, spec: str) -> None:
        self._backend = backend
        self._entries = backend.read_manifest()
        self._lock = threading.Lock()
        self.path = remote_path(spec, MANIFEST_NAME)

    def lookup(self, relpath: str) -> str | None:
        with self._lock:
            return self._entries.get(relpath)

    def record(self, relpath: str, digest: str) -> None:
        with self._lock:
            self._entries[relpath] = digest
        self._backend.record([(relpath, digest)])

    def close(self) -> None:
        self._backend.close()


class RemoteDestination(DestinationLedger):
    """One remote root during a job (the counterpart of :class:`destination.JobDestination`)."""

    remote = True

    def __init__(self, backend: DestinationBackend, spec: str) -> None:
        super().__init__()
        self.backend = backend
        self.spec = spec
        self.root: PurePosixPath = remote_path(spec)
        self.label = backend.label
        self.fs = FileSystemInfo(type=REMOTE_FS)
        self.device = -1
        self.manifest = RemoteManifest(backend, spec)
        self._listed: dict[str, dict[str, Entry]] = {}  # folder -> name -> entry (planning)
        self._probe_lock = threading.Lock()
        self.unreachable = False  # a probe found it not answering: dead for this job

    # -- the bookkeeping the worker and the job share with local destinations
    def is_alive(self) -> bool:
        """False once the remote stopped answering (:meth:`error`): nothing more is sent
        there in this job, not even its records."""
        return not self.unreachable

    def check_alive(self, source: Path) -> None:
        return None

    def backend_write(self, relpath: str, data: bytes) -> str:
        """Store one of our own records (a receipt) at ``relpath``; its leaf name."""
        write = getattr(self.backend, "write_file", None)
        if write is None:
            raise AlmcError(f"{self.label} cannot keep receipts.", title="No receipt written")
        write(relpath, data)
        return relpath.rpartition("/")[2]

    # -- errors
    def error(self, exc: AlmcError | OSError, *, action: str, source: Path) -> CopyError:
        """A :class:`CopyError` for one file from the backend's error (its message already
        names the destination and the next step).

        A lost connection may be a glitch (retried) or the server gone: the remote is
        asked once (:meth:`_answers`, one probe at a time); if it does not answer, it is
        marked dead for the rest of the job with one message, and this file and every
        later one fail at once instead of each spending its retries on it. A server not
        trusted (:class:`Untrusted`: its host key changed) is the hard stop at once, in
        its own words, found by this file or by the probe."""
        if isinstance(exc, Untrusted):
            self._refuse(exc)
        if (dead := self.dead) is None and _connection_lost(exc) and not self._answers():
            dead = self.dead
        if dead is not None and self.unreachable:
            return CopyError(
                self.not_copied(source, dead),
                title=dead.title,
                next_step=dead.next_step,
                paths=(source,),
                destination_dead=True,
            )
        if isinstance(exc, OSError):
            detail = f"Could not {action} at {self.label}: {exc}."
            return CopyError(
                detail,
                title=f"Could not {action}",
                next_step="Check the network and the remote, then copy again.",
                paths=(source,),
                retryable=True,
            )
        final = bool(getattr(exc, "final", False))
        return CopyError(
            f"{source} was not copied: {exc.detail}",
            title=exc.title,
            next_step=exc.next_step,
            paths=(source,),
            retryable=not final,
            destination_dead=final and "full" in exc.detail,
        )

    def _answers(self) -> bool:
        """Whether the remote still answers a probe (a stat); if not it is marked dead."""
        reachable = getattr(self.backend, "reachable", None)
        if reachable is None:
            return True
        with self._probe_lock:
            if self.unreachable:
                return False
            problem: AlmcError | None = reachable()
            if problem is None:
                return True
            if isinstance(problem, Untrusted):  # it answers, as another server
                self._refuse(problem, locked=True)
                return False
            self.unreachable = True
            self.mark_dead(
                CopyError(
                    f"{self.label} stopped answering ({problem.detail}). Nothing more is "
                    "sent there in this job; the copies already proven there are kept.",
                    title=f"Destination stopped answering: {self.label}",
                    next_step="Check the network and that the server is up, then run the "
                    "copy again: copies already proven are kept, the rest are redone.",
                    destination_dead=True,
                )
            )
            return False

    def not_copied(self, source: Path, dead: CopyError) -> str:
        """``<source> was not copied to <label>: <why>`` (the label once)."""
        where = "" if dead.detail.startswith(self.label) else f" to {self.label}"
        return f"{source} was not copied{where}: {dead.detail}"

    def _refuse(self, problem: Untrusted, *, locked: bool = False) -> None:
        """Nothing more is sent to a server not trusted in this job: its own words for
        every file still to go."""
        with contextlib.nullcontext() if locked else self._probe_lock:
            self.unreachable = True
            self.mark_dead(
                CopyError(
                    problem.detail,
                    title=problem.title,
                    next_step=problem.next_step,
                    destination_dead=True,
                )
            )

    def lookup(self, relpath: str) -> Entry | None:
        """What is at ``relpath`` as planning sees it: from one listing of its folder per
        job (thousands of files: one call, not a stat each). A file that appears after
        the listing is still never replaced: publishing checks the name again."""
        folder, _, name = relpath.rpartition("/")
        with self._lock:
            listed = self._listed.get(folder)
        if listed is None:
            try:
                entries = self.backend.list(folder)
            except AlmcError as exc:
                if "directory not found" not in exc.detail:
                    raise
                entries = []
            listed = {e.relpath.rpartition("/")[2]: e for e in entries}
            with self._lock:
                self._listed[folder] = listed
        return listed.get(name)

    # -- the per-file steps
    def start(self, relpath: str, size: int, *, threaded: bool, window: int) -> RemoteStream:
        if self.unreachable and (dead := self.dead) is not None:  # queued before: not sent
            raise dead
        return RemoteStream(self, self.backend.start_upload(relpath, size), threaded, window)

    def prove(self, name: str, digests: SourceDigests) -> StoredProof:
        return self.backend.prove(name, digests)

    def settle(self, relpath: str, digests: SourceDigests) -> StoredProof | None:
        """The proof that the file already at ``relpath`` holds the source's bytes, or
        ``None`` when it holds others."""
        proof = self.backend.prove(relpath, digests)
        if not proof.verified:
            return None
        self.manifest.record(relpath, digests.blake3)
        return proof


class RemoteStream:
    """One upload of one file: written on its own thread from the single read."""

    def __init__(
        self, dest: RemoteDestination, upload: Upload, threaded: bool, window: int
    ) -> None:
        self.dest = dest
        self.upload = upload
        self.published = False
        self.writer = StreamWriter(
            upload.write,
            lambda _n: None,
            window,
            threaded=threaded,
            name=f"almc-upload {upload.relpath}",
        )

    def finish(self) -> None:
        self.writer.close()
        if self.writer.error is not None:
            raise self.writer.error
        self.upload.finish()

    def publish(self) -> bool:
        """Give the proven partial its final name; ``False`` when the name is taken."""
        try:
            self.dest.backend.publish(self.upload)
        except NameTaken:
            return False
        self.published = True
        return True

    def discard(self) -> None:
        """Stop writing and remove the partial unless it was published (never raises)."""
        with contextlib.suppress(BaseException):
            self.writer.close()
        if not self.published:
            with contextlib.suppress(AlmcError, OSError):
                self.upload.abort()


def _connection_lost(exc: AlmcError | OSError) -> bool:
    """A fault that may mean the server is gone (rather than one refusal or one file)."""
    if isinstance(exc, OSError):
        return True
    return not getattr(exc, "final", True) and "connection" in exc.detail


def proof_words(proof: StoredProof) -> str:
    """How a remote copy was proven, for the receipt's ``read_back`` and the events."""
    return f"{proof.words} ({proof.reason})" if proof.reason else proof.words


def remote_mismatch(source: Path, dest: RemoteDestination, proof: StoredProof) -> CopyError:
    return VerificationMismatch(
        f"The copy of {source} at {dest.label} does not match the source "
        f"({proof.words}: {proof.stored[:16] or 'nothing'}… instead of "
        f"{proof.expected[:16]}…{'; ' + proof.reason if proof.reason else ''}). "
        "The bad copy was removed; no final file was created.",
        next_step="Copy again; if it fails again, ask the remote's administrator to check "
        "the storage (or its hash command).",
        paths=(source,),
        retryable=True,
    )


def plan_remote(
    task: FileTask, dest: RemoteDestination, policy: str, refused: frozenset[PurePath]
) -> tuple[str, bool] | str | CopyError:
    """Where ``task`` goes at ``dest``: ``(relpath, adopt)``; a reason to skip; or an
    error. A same-size file there is a candidate to adopt (proven later, never trusted);
    another file is a conflict (``keep-both``: the next free "almc copy N" name)."""
    if dead := dest.dead:
        return CopyError(
            dest.not_copied(task.source, dead),
            title=dead.title,
            next_step=dead.next_step,
            paths=(task.source,),
        )
    relpath = task.relpath
    try:
        entry = dest.lookup(relpath)
        final = dest.root / relpath
        if entry is None:
            return relpath, False
        if final not in refused and not entry.is_dir and entry.size == task.size:
            return relpath, True
        if policy == "skip":
            return f"a different file already exists at {final}"
        if policy == "fail":
            return CopyError(
                f"A different file already exists at {final}; it was not overwritten and "
                f"{task.source} was not copied.",
                title=f"{final.name} already exists",
                next_step="Move or rename the existing file, or copy with --on-conflict keep-both.",
                paths=(task.source,),
            )
        n = 2
        while True:
            candidate = conflict_name(final, n)
            n += 1
            if candidate in refused:
                continue
            rel = candidate.relative_to(dest.root).as_posix()
            entry = dest.backend.stat(rel)  # fresh: a name just refused was there
            if entry is None:
                return rel, False
            if not entry.is_dir and entry.size == task.size:
                return rel, True
    except AlmcError as exc:
        return dest.error(exc, action="look at the destination", source=task.source)
