"""Events the copy engine publishes, and the immutable progress snapshot.

Thread contract: plain frozen values; published from job and worker threads to any
:class:`~almc_assistant.core.events.EventSink`. Consumers must not assume an order between
events of different files; for one file, ``CopyVerified``/``CopySkipped``/``CopyFailed``
come once per destination. ``JobFinished`` is always the last event of a job.
Destination paths are :class:`PurePath`: a local :class:`Path`, or on a remote a
``PurePosixPath`` (``/`` on every system: :mod:`~almc_assistant.core.remotepaths`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path, PurePath

from almc_assistant.core.copies import CopyRecord
from almc_assistant.core.events import Event

READ_BACK_EVICTED = "evicted from cache and re-read"
READ_BACK_CACHED = "re-read; cache eviction not available on this platform"
# Windows: read back through a handle opened with FILE_FLAG_NO_BUFFERING (unbuffered.py)
READ_BACK_UNBUFFERED = "read back from the storage, bypassing the cache"
# Linux tmpfs / ramfs: no storage under the page cache, so the re-read reads the copy
# itself (nothing to evict); a copy there is lost at shutdown (the plan says so)
READ_BACK_IN_MEMORY = "re-read from memory, the storage of this file system (tmpfs)"
READ_BACK_FROM_STORAGE = frozenset({READ_BACK_EVICTED, READ_BACK_UNBUFFERED, READ_BACK_IN_MEMORY})
# ``CopySkipped.reason`` when the destination already holds a verified copy (any other
# reason means the file was left alone: not a copy of it)
ALREADY_VERIFIED = "already verified at this destination"
READ_BACK_CACHE_ONLY = "re-read through a caching mount: proves its local cache only"


@dataclass(frozen=True, slots=True, kw_only=True)
class FileProgress:
    """One file being copied right now."""

    source: Path
    bytes_done: int
    size: int


@dataclass(frozen=True, slots=True, kw_only=True)
class JobSnapshot:
    """Progress of a whole job at one instant. ``eta_seconds`` is ``None`` until known."""

    job_id: str
    state: str  # "scanning", "running", "paused", "cancelling", "finished"
    bytes_done: int
    bytes_total: int
    files_done: int
    files_total: int
    rate_bytes_per_s: float
    eta_seconds: float | None
    current: tuple[FileProgress, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class JobStarted(Event):
    job_id: str
    total_files: int
    total_bytes: int
    destinations: tuple[PurePath, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class JobProgressed(Event):
    snapshot: JobSnapshot


@dataclass(frozen=True, slots=True, kw_only=True)
class CopyVerified(Event):
    """A copy was written, read back from storage, matched, and got its final name.

    ``copy.read_back`` is READ_BACK_EVICTED, READ_BACK_UNBUFFERED or READ_BACK_CACHED, or
    for a remote copy the words of what its backend proved (``copy.proof``);
    ``copy.source_ident`` the source's identity as listed for the copy."""

    job_id: str
    copy: CopyRecord


@dataclass(frozen=True, slots=True, kw_only=True)
class CopyPendingUpload(Event):
    """A copy was written and read back, but through a caching mount (``rclone mount``, a
    cloud drive): the read-back proved a local cache, not the remote storage. It waits
    for upload; it is **not** verified and never counts as safe. ``reason`` says why."""

    job_id: str
    source: Path
    destination_root: PurePath
    destination: PurePath
    size: int
    mtime_ns: int
    blake3: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CopySkipped(Event):
    """Nothing to do for this destination (already verified, or skipped by policy)."""

    job_id: str
    source: Path
    destination: PurePath
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CopyFailed(Event):
    """A file could not be copied to one destination. ``destination`` may be unknown."""

    job_id: str
    source: Path
    destination_root: PurePath
    title: str
    detail: str
    next_step: str
    retryable: bool
    destination: PurePath | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CopyRetried(Event):
    """A copy to one destination failed in a way worth another try, and is tried again."""

    job_id: str
    source: Path
    destination_root: PurePath
    attempt: int  # the attempt about to start (2, 3, ...)
    title: str
    detail: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceSkipped(Event):
    """Something in a source tree that is not copied (symlink, FIFO, device, socket)."""

    job_id: str
    source: Path
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DestinationRefused(Event):
    """A whole destination was refused before copying (missing, full, read-only)."""

    job_id: str
    destination_root: PurePath
    title: str
    detail: str
    next_step: str


@dataclass(frozen=True, slots=True, kw_only=True)
class JobSummary:
    job_id: str
    # "completed", "completed with problems", "pending upload", "cancelled", "refused"
    state: str
    files_total: int
    bytes_total: int
    verified: int  # (file, destination) pairs verified in this job
    skipped: int  # pairs already verified before
    failed: int  # pairs that failed
    sources_skipped: int  # symlinks and special files in the sources
    bytes_copied: int
    seconds: float
    receipts: tuple[PurePath, ...] = ()
    manifests: tuple[PurePath, ...] = ()
    # Why a "refused" or "failed" job stopped (the error :class:`JobResult` carries), so
    # that whoever only sees the events can say why too; "" otherwise.
    error_title: str = ""
    error_detail: str = ""
    error_next_step: str = ""
    pending_upload: int = 0  # pairs only written to a caching mount (not verified)
    workers: int = 0  # files copied at once (chosen by the job unless the user set it)

    @property
    def ok(self) -> bool:
        return self.state == "completed"


@dataclass(frozen=True, slots=True, kw_only=True)
class JobFinished(Event):
    job_id: str
    summary: JobSummary


@dataclass(frozen=True, slots=True, kw_only=True)
class EntryChecked(Event):
    """``verify``: one manifest entry (or extra file) checked against the storage."""

    destination_root: PurePath
    relative_path: str
    outcome: str  # "match", "differs", "missing", "extra", "error"
    expected: str | None = None
    actual: str | None = None
    detail: str = ""
    size: int = field(default=0)
