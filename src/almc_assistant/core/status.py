"""The status report: a user's unsafe files by session, cleanup dates, disk usage.

Thread contract: :func:`build_status` reads the catalog (any thread) and takes the
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
from almc_assistant.core.policy import Policy, Retention


class OverallState(StrEnum):
    ALL_SAFE = "all-safe"
    AT_RISK = "at-risk"  # files without enough verified copies
    PROBLEM = "problem"  # files lost, a disk past the cleanup threshold, or a broken setup


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
class StatusReport:
    user: str
    state: OverallState
    sessions: tuple[SessionStatus, ...]
    files: tuple[UnsafeFile, ...]
    total_files: int
    total_bytes: int
    lost: tuple[FileRecord, ...]
    volumes: tuple[VolumeUsage, ...]
    problems: tuple[str, ...]  # configuration or catalog problems, in words
    generated_at: float


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
                missing=policy.missing(rec.current_copies()),
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
    state = OverallState.ALL_SAFE
    if files:
        state = OverallState.AT_RISK
    if lost or full or problems or any(not v.reachable for v in volumes):
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
        problems=tuple(problems),
        generated_at=now,
    )


def _on(path: Path, roots: set[Path]) -> bool:
    return any(r == path or r in path.parents for r in roots)
