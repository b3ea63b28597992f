"""Plain values the catalog stores and returns: files, verified copies, sessions.

Thread contract: immutable values, safe anywhere.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from almc_assistant.core.copies import CopyRecord, Ident


class FileState(StrEnum):
    """Where a file stands on the workstation."""

    ACQUIRING = "acquiring"  # still growing or held open: never flagged, never copied
    COMPLETE = "complete"  # quiet and openable
    LOST = "lost"  # deleted from the workstation without a verified copy
    GONE = "gone"  # deleted after it had a verified copy (nothing lost)
    CLEANED = "cleaned"  # deleted by an audited cleanup
    DISMISSED = "dismissed"  # lost, and the owner has taken note (no longer reported)


PRESENT_STATES = (FileState.ACQUIRING, FileState.COMPLETE)


def stored_ident(values: Sequence[object] | None) -> Ident | None:
    """(dev, ino, ctime_ns) read from a database row; None when not known."""
    if values is None or any(v is None for v in values):
        return None
    dev, ino, ctime = values
    return (int(dev), int(ino), int(ctime))  # type: ignore[call-overload]


def stored_proof(text: object) -> dict[str, object] | None:
    """A remote copy's proof as stored (JSON of ``StoredProof.as_dict()``); None when not
    known (a local copy, or a row written before the catalog's schema v3). Raises
    ``ValueError`` for a stored text that is not a JSON object."""
    if text is None:
        return None
    value = json.loads(str(text))
    if not isinstance(value, dict):
        raise ValueError("a copy's proof is not a JSON object")
    return value


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
    ident: Ident | None = None

    def is_current(self, copy: CopyRecord) -> bool:
        """The copy was made of the file as it is now: same size, mtime and identity
        (device, file number, ctime); an identity not known on both sides is equal only
        to another unknown one."""
        return (
            copy.size == self.size
            and copy.mtime_ns == self.mtime_ns
            and copy.source_ident == self.ident
        )

    def current_copies(self) -> tuple[CopyRecord, ...]:
        """Copies made of the file as it is now (see :meth:`is_current`)."""
        return tuple(c for c in self.copies if self.is_current(c))

    @property
    def changed_since_backup(self) -> bool:
        """It had verified copies, but none of the file as it is now: they hold older bytes."""
        return bool(self.copies) and not self.current_copies()


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
