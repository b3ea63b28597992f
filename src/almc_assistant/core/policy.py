"""What "safe" means, and when retention makes a file a cleanup candidate.

Thread contract: immutable values and pure functions, safe anywhere.

A file is **safe** when it has the verified copies the facility's policy asks for: by
default one on backed-up institutional storage, or two on independent destinations.
Copies count per destination (two copies on one drive are one copy). A copy in a
cloud-sync folder is "pending upload" and counts only when the facility says so
(``count_cloud_sync``), because the app cannot see whether the client has uploaded it.

**Remote destinations** (an rclone remote, ``research:lab/me``): a copy there is recorded
only when its backend proved the stored bytes (a server hash or a download back: a copy
nothing proved never reaches the catalog), and counts once per remote, by the kind the
configuration gives it (research storage keeps one copy: a second is needed; an
unconfigured remote is "other": one independent copy, not backed up).

**Retention**: a file becomes a cleanup candidate ``max_age_days`` after its age
reference (never older than it is: see ``catalog.age_reference``), or at once when its
acquisition disk is fuller than ``disk_full_percent``. Users are warned ``warn_days``
before the date.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath

from almc_assistant.core.config import PolicySettings, RetentionSettings
from almc_assistant.core.copies import CopyRecord
from almc_assistant.core.destinations import Destination, DestinationKind, guess_kind
from almc_assistant.core.remotepaths import is_remote
from almc_assistant.core.storage import StorageKeys

DAY = 86_400.0

DeviceOf = Callable[[PurePath], int | None]


class DeviceResolver:
    """The device of a folder (``stat``, links followed), cached for ``ttl`` seconds.

    ``None`` when the folder cannot be reached: its copies are not counted as independent.
    Thread-safe."""

    def __init__(self, ttl: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._clock = clock
        self._cache: dict[PurePath, tuple[float, int | None]] = {}
        self._lock = threading.Lock()

    def __call__(self, folder: PurePath) -> int | None:
        if (remote := remote_device(folder)) is not None:
            return remote
        now = self._clock()
        with self._lock:
            hit = self._cache.get(folder)
        if hit is not None and now - hit[0] < self._ttl:
            return hit[1]
        try:
            dev: int | None = Path(folder).stat().st_dev
        except (OSError, ValueError):
            dev = None
        with self._lock:
            self._cache[folder] = (now, dev)
        return dev


@dataclass(frozen=True, slots=True)
class CopyStanding:
    """How one copy counts under the policy."""

    copy: CopyRecord
    destination: Destination
    counts: bool  # its kind counts (a cloud-sync folder only when the facility says so)
    pending_upload: bool
    device: int | None  # None: unreachable, or on an acquisition disk (not independent)
    # (the device number; copies are counted per ``Policy``'s storage key of it)


class Policy:
    """Decides safety from a file's verified copies and the known destinations."""

    def __init__(
        self,
        settings: PolicySettings,
        destinations: Sequence[Destination],
        *,
        acquisition_roots: Sequence[PurePath] = (),
        device_of: DeviceOf | None = None,
        storage_of: Callable[[int], Hashable] | None = None,
    ) -> None:
        self.settings = settings
        # Longest path first, so a destination inside another one is matched first.
        self._destinations = sorted(destinations, key=lambda d: len(str(d.path)), reverse=True)
        self._acquisition_roots = tuple(acquisition_roots)
        self._device_of: DeviceOf = device_of or DeviceResolver()
        # Device number -> the disk or server behind it (two mounts of one count once).
        self._local_storage: Callable[[int], Hashable] = storage_of or StorageKeys()

    @property
    def key(self) -> str:
        """Changes whenever a decision could change (stored by the catalog)."""
        places = sorted(f"{d.remote or d.path}|{d.kind}" for d in self._destinations)
        roots = sorted(f"acq|{r}" for r in self._acquisition_roots)
        words = [repr(self.settings), "per-device", *places, *roots]
        return hashlib.sha256("\n".join(words).encode()).hexdigest()[:16]

    def device_of(self, folder: PurePath) -> int | None:
        """The device of ``folder`` as the policy sees it now (cached); None: unreachable."""
        return self._device_of(folder)

    def acquisition_storage(self) -> set[Hashable]:
        """The disks (or servers) of the acquisition folders that can be reached now."""
        devices = (self._device_of(r) for r in self._acquisition_roots)
        return {self._storage_of(d) for d in devices if d is not None}

    def _storage_of(self, device: int) -> Hashable:
        """The disk or server behind ``device`` (a remote's pseudo device: the remote)."""
        return ("remote", device) if device < 0 else self._local_storage(device)

    def destination_of(self, root: PurePath) -> Destination:
        """The configured destination a copy root belongs to, or an ad-hoc one."""
        text = root.as_posix()  # a remote root: a PurePosixPath (core.remotepaths), its text
        for d in self._destinations:
            if d.remote:
                if text == d.remote or text.startswith(d.remote.rstrip("/") + "/"):
                    return d
            elif root == d.path or d.path in root.parents:
                return d
        return Destination(name=root.name or str(root), path=root, kind=guess_kind(root))

    def standing(
        self, copy: CopyRecord, device: int | None = None, *, source_device: int | None = None
    ) -> CopyStanding:
        """How ``copy`` counts; ``device``: its device as read from the copy itself (else
        its destination root's, from the resolver)."""
        dest = self.destination_of(copy.destination_root)
        pending = dest.kind is DestinationKind.CLOUD_SYNC
        counts = not pending or self.settings.count_cloud_sync
        dev = self._device_of(copy.destination_root) if device is None else device
        if dev is not None:
            key = self._storage_of(dev)
            same = source_device is not None and key == self._storage_of(source_device)
            if same or key in self.acquisition_storage():
                dev = None
        return CopyStanding(copy, dest, counts, pending, dev)

    def is_safe(self, copies: Sequence[CopyRecord]) -> bool:
        return not self.missing(copies)

    def missing(
        self,
        copies: Sequence[CopyRecord],
        *,
        devices: Mapping[PurePath, int] | None = None,
        source_device: int | None = None,
    ) -> str:
        """Why these copies are not enough, in plain words ("" when they are).

        Copies count once per device; copies on an acquisition disk (or on
        ``source_device``), or whose device is unknown, do not count."""
        known = devices or {}
        standings = [
            self.standing(c, known.get(c.path), source_device=source_device) for c in copies
        ]
        counting = [s for s in standings if s.counts and s.device is not None]
        places: dict[Hashable, bool] = {}
        for s in counting:
            assert s.device is not None
            key = self._storage_of(s.device)
            places[key] = places.get(key, False) or s.destination.backed_up
        backed_up = sum(1 for b in places.values() if b)
        if backed_up >= self.settings.backed_up_copies:
            return ""
        if len(places) >= self.settings.independent_copies:
            return ""
        need = (
            f"needs {_copies(self.settings.backed_up_copies)} on backed-up institutional "
            f"storage or {_copies(self.settings.independent_copies)} on independent "
            "destinations"
        )
        pending = sum(1 for s in standings if s.pending_upload and not s.counts)
        shared = sum(1 for s in standings if s.counts and s.device is None)
        have = f"has {_copies(len(places))}" + (
            f" (and {pending} pending upload in a cloud-sync folder)" if pending else ""
        )
        if len(counting) > len(places):
            have += " (copies on one device count once)"
        if shared:
            have += (
                f"; {shared} on the acquisition disk itself or on a destination that "
                "cannot be reached now (not counted)"
            )
        return f"{need}; {have}"

    def would_be_safe(self, destinations: Sequence[Destination]) -> str:
        """For a copy plan: why copying to these would not make data safe ("" if it would)."""
        fake = [
            CopyRecord(
                source=Path(d.path),
                destination_root=d.root,
                path=d.root,
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


def remote_device(root: PurePath | str) -> int | None:
    """A stable pseudo device number (negative: never a real one) for a copy root that is
    a remote (``research:lab/me``: two characters or more before the colon, which no
    absolute local path has), one per remote; ``None`` for a local folder."""
    text = str(root)
    if not is_remote(text):
        return None
    digest = hashlib.sha256(text.partition(":")[0].encode()).digest()
    return -(int.from_bytes(digest[:6], "big") + 1)


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
