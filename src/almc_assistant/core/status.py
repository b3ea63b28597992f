"""The status report: a user's unsafe files by session, cleanup dates, disk usage.

The overall state is defined here once (:class:`OverallState`, its words in
:data:`STATE_WORDS`), and every problem the report counts is a :class:`Problem` with its
cause and a next step, so the command line, ``--json``, the tray and the Status window
say the same thing.

Thread contract: :func:`build_status` reads the catalog and lists the folders of the
unsafe files to group them by dataset (any thread, not the GUI's), and takes the
volumes measured by :func:`measure_volumes` (which stats disks: fast locally, but call it
off the GUI thread). Values returned are immutable.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from almc_assistant.core.catalog import Catalog, FileRecord, FileState
from almc_assistant.core.policy import Policy, Retention, remote_device
from almc_assistant.core.setup_state import NOT_SET_UP, SetupNeeded
from almc_assistant.core.units import human_size, plural


class OverallState(StrEnum):
    ALL_SAFE = "all-safe"
    AT_RISK = "at-risk"  # files without enough verified copies
    PROBLEM = "problem"  # files lost, a disk past the cleanup threshold, or a broken setup
    NOT_SET_UP = "not-set-up"  # no acquisition folders yet: nothing watched (not a failure)


STATE_WORDS: dict[OverallState, str] = {
    OverallState.ALL_SAFE: "All files are backed up",
    OverallState.AT_RISK: "Files not backed up yet",
    OverallState.PROBLEM: "Problem",
    OverallState.NOT_SET_UP: NOT_SET_UP,
}


class ProblemKind(StrEnum):
    FILES_LOST = "files-lost"
    DISK_FULL = "disk-full"
    FOLDER_UNAVAILABLE = "folder-unavailable"
    SETUP = "setup"  # a configuration problem (or a note of the service)
    CATALOG = "catalog"  # records of the catalog that could not be read


@dataclass(frozen=True, slots=True)
class Problem:
    """Why the state is "problem": the cause in words and what to do about it."""

    kind: ProblemKind
    title: str
    detail: str
    next_step: str

    def __str__(self) -> str:
        return f"{self.title}: {self.detail} {self.next_step}".strip()


@dataclass(frozen=True, slots=True)
class VolumeUsage:
    """Disk usage of one acquisition folder's volume."""

    folder: Path
    reachable: bool
    total: int = 0
    used: int = 0
    free: int = 0

    @property
    def percent(self) -> float:
        return 100.0 * self.used / self.total if self.total else 0.0


@dataclass(frozen=True, slots=True)
class UnsafeFile:
    path: Path
    size: int
    session_id: int | None
    state: FileState
    verdict: str | None
    candidate_date: float  # when cleanup may remove it
    warn_date: float
    missing: str  # why it is not safe yet
    born: float | None = None  # its age reference (first seen or created), epoch seconds


@dataclass(frozen=True, slots=True)
class SessionStatus:
    session_id: int | None
    started_at: float | None
    ended_at: float | None
    files: int
    bytes: int
    earliest_candidate_date: float


@dataclass(frozen=True, slots=True)
class UnsafeDataset:
    """The unsafe files of one session that make up one dataset (a plate, an ND2
    series), or one loose file (``kind`` empty): the unit status lists."""

    id: str
    kind: str
    name: str
    folder: Path
    session_id: int | None
    files: tuple[Path, ...]
    bytes: int
    earliest_candidate_date: float


@dataclass(frozen=True, slots=True)
class StatusReport:
    user: str
    state: OverallState
    sessions: tuple[SessionStatus, ...]
    files: tuple[UnsafeFile, ...]
    total_files: int
    total_bytes: int
    lost: tuple[FileRecord, ...]
    volumes: tuple[VolumeUsage, ...]
    problems: tuple[Problem, ...]  # each cause of the "problem" state, with a next step
    generated_at: float
    setup: SetupNeeded | None = None  # set when the state is "not set up"
    datasets: tuple[UnsafeDataset, ...] = ()  # ``files`` by session and dataset

    @property
    def headline(self) -> str:
        """The state in the words every screen uses."""
        if self.state is OverallState.PROBLEM and self.problems:
            return self.problems[0].title
        return STATE_WORDS[self.state]


def measure_volumes(folders: Sequence[Path]) -> tuple[VolumeUsage, ...]:
    out: list[VolumeUsage] = []
    for folder in folders:
        try:
            usage = shutil.disk_usage(folder)
        except OSError:
            out.append(VolumeUsage(folder, False))
            continue
        out.append(VolumeUsage(folder, True, usage.total, usage.used, usage.free))
    return tuple(out)


def full_roots(volumes: Sequence[VolumeUsage], retention: Retention) -> set[Path]:
    return {v.folder for v in volumes if v.reachable and retention.disk_full(v.percent)}


def build_status(
    catalog: Catalog,
    user: str,
    *,
    policy: Policy,
    retention: Retention,
    volumes: Sequence[VolumeUsage],
    problems: Sequence[str],
    now: float,
    setup: SetupNeeded | None = None,
) -> StatusReport:
    full = full_roots(volumes, retention)
    files: list[UnsafeFile] = []
    for rec in catalog.unsafe_files(user):
        date = retention.candidate_date(rec.born, disk_full=_on(rec.path, full), now=now)
        files.append(
            UnsafeFile(
                path=rec.path,
                size=rec.size,
                session_id=rec.session_id,
                state=rec.state,
                verdict=rec.verdict,
                candidate_date=date,
                warn_date=retention.warn_date(date),
                missing=_why_unsafe(rec, policy),
                born=rec.born,
            )
        )
    sessions: list[SessionStatus] = []
    for totals in catalog.unsafe_totals(user):
        mine = [f.candidate_date for f in files if f.session_id == totals.session_id]
        sessions.append(
            SessionStatus(
                session_id=totals.session_id,
                started_at=totals.started_at,
                ended_at=totals.ended_at,
                files=totals.files,
                bytes=totals.bytes,
                earliest_candidate_date=min(mine, default=now),
            )
        )
    lost = tuple(catalog.lost_files(user))
    found = describe_problems(lost, volumes, full, retention, problems)
    state = OverallState.ALL_SAFE
    if files:
        state = OverallState.AT_RISK
    if setup is not None:
        state = OverallState.NOT_SET_UP
    if found:
        state = OverallState.PROBLEM
    return StatusReport(
        user=user,
        state=state,
        sessions=tuple(sessions),
        files=tuple(files),
        total_files=len(files),
        total_bytes=sum(f.size for f in files),
        lost=lost,
        volumes=tuple(volumes),
        problems=found,
        generated_at=now,
        setup=setup,
        datasets=group_by_dataset(files),
    )


def group_by_dataset(files: Sequence[UnsafeFile]) -> tuple[UnsafeDataset, ...]:
    """Unsafe files as units, per session: one per dataset, one per loose file, in the
    order of their first file (datasets found from the folders' layout: listings only)."""
    from almc_assistant.core.inspect import UnitFinder

    finder = UnitFinder()
    units: dict[tuple[int | None, str], list[UnsafeFile]] = {}
    found: dict[str, tuple[str, str, Path]] = {}
    for f in files:
        unit = finder.unit_of(f.path)
        key = unit.id if unit is not None else str(f.path)
        if unit is not None:
            found[key] = (unit.kind, unit.label, unit.folder)
        units.setdefault((f.session_id, key), []).append(f)
    out = []
    for (session, key), members in units.items():
        kind, name, folder = found.get(key, ("", members[0].path.name, members[0].path.parent))
        out.append(
            UnsafeDataset(
                id=key,
                kind=kind,
                name=name,
                folder=folder,
                session_id=session,
                files=tuple(m.path for m in members),
                bytes=sum(m.size for m in members),
                earliest_candidate_date=min(m.candidate_date for m in members),
            )
        )
    return tuple(out)


def describe_problems(
    lost: Sequence[FileRecord],
    volumes: Sequence[VolumeUsage],
    full: set[Path],
    retention: Retention,
    setup_problems: Sequence[str],
) -> tuple[Problem, ...]:
    """Every cause of the "problem" state, worst first, each with its next step."""
    out: list[Problem] = []
    if lost:
        out.append(
            Problem(
                ProblemKind.FILES_LOST,
                f"{plural(len(lost), 'file')} deleted without a backup",
                f"{plural(len(lost), 'file')} ({human_size(sum(f.size for f in lost))}) "
                "were deleted from the workstation before any verified copy was made.",
                "If you have them elsewhere, nothing is lost; otherwise ask the facility "
                "staff at once whether they can be recovered.",
            )
        )
    threshold = retention.settings.disk_full_percent
    for v in volumes:
        if not v.reachable:
            out.append(
                Problem(
                    ProblemKind.FOLDER_UNAVAILABLE,
                    f"{v.folder} is not available",
                    f"The acquisition folder {v.folder} cannot be reached, so new files "
                    "there are not tracked.",
                    "Check that its disk is connected or the share mounted; ask the "
                    "facility staff if it persists.",
                )
            )
        elif v.folder in full:
            out.append(
                Problem(
                    ProblemKind.DISK_FULL,
                    f"The disk of {v.folder} is {v.percent:.0f}% full",
                    f"It is past the facility's cleanup threshold ({threshold:g}% full): "
                    "cleanup may delete files from it now, the oldest first.",
                    "Back up your files now (End session and back up), then delete what "
                    "you no longer need from it.",
                )
            )
    out.extend(
        Problem(
            ProblemKind.SETUP,
            "Setup problem",
            text,
            "Correct the file named, or tell the facility staff; safe defaults are used meanwhile.",
        )
        for text in setup_problems
    )
    return tuple(out)


CHANGED_SINCE_BACKUP = (
    "Changed since its last backup: its copies hold the older version, so they no "
    "longer count. Back it up again."
)


NOT_REPROVEN = "The copy on {} was proven for the older version: not re-proven, not a backup."


def _why_unsafe(rec: FileRecord, policy: Policy) -> str:
    """Why a file is not safe, in plain words (a file edited after its backup first; a
    copy on a remote destination was proven for the older bytes only)."""
    if rec.changed_since_backup:
        remotes = sorted(
            {str(c.destination_root) for c in rec.copies if remote_device(c.destination_root)}
        )
        if remotes:
            return f"{CHANGED_SINCE_BACKUP} {NOT_REPROVEN.format(', '.join(remotes))}"
        return CHANGED_SINCE_BACKUP
    return policy.missing(rec.current_copies())


def _on(path: Path, roots: set[Path]) -> bool:
    return any(r == path or r in path.parents for r in roots)
