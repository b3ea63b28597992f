"""What "safe" means, and when retention makes a file a cleanup candidate.

Thread contract: immutable values and pure functions, safe anywhere.

A file is **safe** when it has the verified copies the facility's policy asks for: by
default one on backed-up institutional storage, or two on independent destinations.
Copies count per destination (two copies on one drive are one copy). A copy in a
cloud-sync folder is "pending upload" and counts only when the facility says so
(``count_cloud_sync``), because the app cannot see whether the client has uploaded it.

**Retention**: a file becomes a cleanup candidate ``max_age_days`` after its age
reference (never older than it is: see ``catalog.age_reference``), or at once when its
acquisition disk is fuller than ``disk_full_percent``. Users are warned ``warn_days``
before the date.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath

from almc_assistant.core.catalog import CopyRecord
from almc_assistant.core.config import PolicySettings, RetentionSettings
from almc_assistant.core.destinations import Destination, DestinationKind, guess_kind

DAY = 86_400.0


@dataclass(frozen=True, slots=True)
class CopyStanding:
    """How one copy counts under the policy."""

    copy: CopyRecord
    destination: Destination
    counts: bool
    pending_upload: bool


class Policy:
    """Decides safety from a file's verified copies and the known destinations."""

    def __init__(self, settings: PolicySettings, destinations: Sequence[Destination]) -> None:
        self.settings = settings
        # Longest path first, so a destination inside another one is matched first.
        self._destinations = sorted(destinations, key=lambda d: len(str(d.path)), reverse=True)

    @property
    def key(self) -> str:
        """Changes whenever a decision could change (stored by the catalog)."""
        places = sorted(f"{d.path}|{d.kind}" for d in self._destinations)
        words = [repr(self.settings), *places]
        return hashlib.sha256("\n".join(words).encode()).hexdigest()[:16]

    def destination_of(self, root: PurePath) -> Destination:
        """The configured destination a copy root belongs to, or an ad-hoc one."""
        for d in self._destinations:
            if root == d.path or d.path in root.parents:
                return d
        return Destination(name=root.name or str(root), path=root, kind=guess_kind(root))

    def standing(self, copy: CopyRecord) -> CopyStanding:
        dest = self.destination_of(copy.destination_root)
        pending = dest.kind is DestinationKind.CLOUD_SYNC
        counts = not pending or self.settings.count_cloud_sync
        return CopyStanding(copy, dest, counts, pending)

    def is_safe(self, copies: Sequence[CopyRecord]) -> bool:
        return not self.missing(copies)

    def missing(self, copies: Sequence[CopyRecord]) -> str:
        """Why these copies are not enough, in plain words ("" when they are)."""
        counting = [s for s in map(self.standing, copies) if s.counts]
        places = {s.destination.path: s.destination for s in counting}
        backed_up = sum(1 for d in places.values() if d.backed_up)
        if backed_up >= self.settings.backed_up_copies:
            return ""
        if len(places) >= self.settings.independent_copies:
            return ""
        need = (
            f"needs {_copies(self.settings.backed_up_copies)} on backed-up institutional "
            f"storage or {_copies(self.settings.independent_copies)} on independent "
            "destinations"
        )
        pending = sum(1 for s in map(self.standing, copies) if s.pending_upload and not s.counts)
        have = f"has {_copies(len(places))}" + (
            f" (and {pending} pending upload in a cloud-sync folder)" if pending else ""
        )
        return f"{need}; {have}"

    def would_be_safe(self, destinations: Sequence[Destination]) -> str:
        """For a copy plan: why copying to these would not make data safe ("" if it would)."""
        fake = [
            CopyRecord(
                destination_root=Path(d.path),
                path=Path(d.path),
                size=0,
                mtime_ns=0,
                blake3="",
                verified_at=0.0,
            )
            for d in destinations
        ]
        return self.missing(fake)

    def requirement(self) -> str:
        """What the policy asks for, in plain words (for plans and receipts)."""
        s = self.settings
        return (
            f"{_copies(s.backed_up_copies)} on backed-up institutional storage or "
            f"{_copies(s.independent_copies)} on independent destinations"
        )


def _copies(n: int) -> str:
    return f"{n} verified cop{'y' if n == 1 else 'ies'}"


@dataclass(frozen=True, slots=True)
class Retention:
    """When files become cleanup candidates."""

    settings: RetentionSettings

    def age_date(self, born: float) -> float:
        """When a file with this age reference becomes a candidate by age."""
        return born + self.settings.max_age_days * DAY

    def candidate_date(self, born: float, *, disk_full: bool, now: float) -> float:
        date = self.age_date(born)
        return min(date, now) if disk_full else date

    def warn_date(self, candidate_date: float) -> float:
        return candidate_date - self.settings.warn_days * DAY

    def disk_full(self, used_percent: float) -> bool:
        return used_percent >= self.settings.disk_full_percent

    def born_before(self, now: float) -> float:
        """Files whose age reference is before this are candidates by age now."""
        return now - self.settings.max_age_days * DAY
