"""Warnings the core publishes for the GUI: cleanup approaching, disk nearly full, loss.

Thread contract: :func:`compute_warnings` is a pure function of a
:class:`~almc_assistant.core.status.StatusReport`; safe anywhere. The service publishes
the result as :class:`WarningsUpdated` whenever the catalog changes.

Warnings are summarised (one per kind and session, never one per file).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from almc_assistant.core.events import Event
from almc_assistant.core.policy import Retention
from almc_assistant.core.status import ProblemKind, StatusReport, UnsafeFile
from almc_assistant.core.units import human_date, human_size, plural

NEARLY_FULL_MARGIN = 5.0  # percentage points below the cleanup threshold


class WarningKind(StrEnum):
    CLEANUP_SOON = "cleanup-soon"  # unsafe files reach their cleanup date soon
    CLEANUP_DUE = "cleanup-due"  # unsafe files are past it: staff may delete them now
    DISK_NEARLY_FULL = "disk-nearly-full"
    DISK_FULL = "disk-full"  # past the cleanup threshold
    FOLDER_UNAVAILABLE = "folder-unavailable"
    FILES_LOST = "files-lost"  # deleted without a verified copy
    SETUP_PROBLEM = "setup-problem"  # configuration or catalog


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


@dataclass(frozen=True, slots=True)
class SafetyWarning:
    """One warning, in words, with the numbers behind it."""

    kind: WarningKind
    severity: Severity
    title: str
    detail: str
    next_step: str
    files: int = 0
    bytes: int = 0
    due: float | None = None  # the date it is about (cleanup date), epoch seconds
    paths: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class WarningsUpdated(Event):
    warnings: tuple[SafetyWarning, ...]


def compute_warnings(report: StatusReport, retention: Retention) -> list[SafetyWarning]:
    now = report.generated_at
    out: list[SafetyWarning] = []
    due = [f for f in report.files if f.candidate_date <= now]
    soon = [f for f in report.files if f.warn_date <= now < f.candidate_date]
    if due:
        out.append(
            SafetyWarning(
                WarningKind.CLEANUP_DUE,
                Severity.CRITICAL,
                f"{_amount(due)} may be deleted now",
                "These files have no safe backup and are past the facility's cleanup date: "
                "staff may delete them at any time to free the disk.",
                "Back them up now (End session and back up).",
                files=len(due),
                bytes=sum(f.size for f in due),
                due=min(f.candidate_date for f in due),
                paths=tuple(str(f.path) for f in due[:50]),
            )
        )
    if soon:
        first = min(f.candidate_date for f in soon)
        out.append(
            SafetyWarning(
                WarningKind.CLEANUP_SOON,
                Severity.WARNING,
                f"{_amount(soon)} may be deleted from {human_date(first)}",
                "These files have no safe backup yet and will become cleanup candidates on "
                "the workstation.",
                "Back them up before then.",
                files=len(soon),
                bytes=sum(f.size for f in soon),
                due=first,
                paths=tuple(str(f.path) for f in soon[:50]),
            )
        )
    threshold = retention.settings.disk_full_percent
    for v in report.volumes:
        if not v.reachable:
            out.append(
                SafetyWarning(
                    WarningKind.FOLDER_UNAVAILABLE,
                    Severity.WARNING,
                    f"{v.folder} is not available",
                    f"The acquisition folder {v.folder} cannot be reached, so new files there "
                    "are not being tracked.",
                    "Check that the disk is connected; ask staff if it persists.",
                    paths=(str(v.folder),),
                )
            )
        elif v.percent >= threshold - NEARLY_FULL_MARGIN:
            full = v.percent >= threshold
            out.append(
                SafetyWarning(
                    WarningKind.DISK_FULL if full else WarningKind.DISK_NEARLY_FULL,
                    Severity.CRITICAL if full else Severity.WARNING,
                    f"The disk of {v.folder} is {v.percent:.0f}% full",
                    f"When it passes {threshold:.0f}%, files with safe backups are cleaned up "
                    "first, and unsafe files are at risk.",
                    "Back up your files now so that nothing unsafe has to go.",
                    paths=(str(v.folder),),
                )
            )
    if report.lost:
        out.append(
            SafetyWarning(
                WarningKind.FILES_LOST,
                Severity.CRITICAL,
                f"{plural(len(report.lost), 'file')} deleted without a backup",
                "These files were deleted from the workstation before any verified copy was made.",
                "If you still have them elsewhere, nothing is lost; otherwise ask staff "
                "at once whether they can be recovered.",
                files=len(report.lost),
                bytes=sum(f.size for f in report.lost),
                paths=tuple(str(f.path) for f in report.lost[:50]),
            )
        )
    for problem in report.problems:  # the others are warned about above, with numbers
        if problem.kind is ProblemKind.SETUP:
            out.append(
                SafetyWarning(
                    WarningKind.SETUP_PROBLEM,
                    Severity.WARNING,
                    problem.title,
                    problem.detail,
                    problem.next_step,
                )
            )
    return out


def _amount(files: Sequence[UnsafeFile]) -> str:
    return f"{plural(len(files), 'file')} ({human_size(sum(f.size for f in files))})"
