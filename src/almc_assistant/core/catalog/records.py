"""Plain values the catalog stores and returns: files, verified copies, sessions.

Thread contract: immutable values, safe anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path


class FileState(StrEnum):
    """Where a file stands on the workstation."""

    ACQUIRING = "acquiring"  # still growing or held open: never flagged, never copied
    COMPLETE = "complete"  # quiet and openable
    LOST = "lost"  # deleted from the workstation without a verified copy
    GONE = "gone"  # deleted after it had a verified copy (nothing lost)
    CLEANED = "cleaned"  # deleted by an audited cleanup
    DISMISSED = "dismissed"  # lost, and the owner has taken note (no longer reported)


PRESENT_STATES = (FileState.ACQUIRING, FileState.COMPLETE)


@dataclass(frozen=True, slots=True)
class CopyRecord:
    """One verified copy of a file (recorded from the copy engine's ``CopyVerified``)."""

    destination_root: Path
    path: Path
    size: int
    mtime_ns: int  # the source's mtime when it was copied
    blake3: str
    verified_at: float


@dataclass(frozen=True, slots=True)
class FileRecord:
    """One file the catalog knows, with its verified copies."""

    id: int
    path: Path
    size: int
    mtime_ns: int
    owner: str
    first_seen: float
    born: float  # the moment its age counts from (see catalog.store.age_reference)
    session_id: int | None
    state: FileState
    verdict: str | None
    verdict_reasons: tuple[str, ...]
    safe: bool
    copies: tuple[CopyRecord, ...] = ()

    def current_copies(self) -> tuple[CopyRecord, ...]:
        """Copies made of the file as it is now (same size and mtime as the source)."""
        return tuple(c for c in self.copies if c.size == self.size and c.mtime_ns == self.mtime_ns)


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """A user's work at the workstation: from its start until they ended it."""

    id: int
    owner: str
    started_at: float
    ended_at: float | None


@dataclass(frozen=True, slots=True)
class SessionTotals:
    """A user's unsafe files in one session (one query, for status and reminders)."""

    session_id: int | None
    started_at: float | None
    ended_at: float | None
    files: int
    bytes: int
    oldest_first_seen: float
