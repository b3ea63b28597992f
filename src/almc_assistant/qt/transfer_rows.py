"""Row snapshots of the transfer window and how core events change them.

Thread contract: pure functions over frozen values, called on the GUI thread by the
windows that show them. A file row follows one file from its check to its copies; a job
row follows one copy job from the queue to its result.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from pathlib import PurePath

from almc_assistant.core.transfer.events import JobSnapshot, JobSummary
from almc_assistant.core.units import human_size
from almc_assistant.qt import humanize


class RowState(enum.Enum):
    """Where a file listed in the transfer window stands (not the catalog's FileState)."""

    CHECKING = "Checking…"
    CHECKED = "Ready"
    QUEUED = "Waiting to copy"
    COPYING = "Copying…"
    PAUSED = "Paused"  # its job is paused: nothing is being copied
    VERIFIED = "Copied and verified"
    ALREADY = "Already backed up"
    FAILED = "Failed"
    CHECK_FAILED = "Could not check"


# A file's states while its job runs: being copied, or waiting for the job to resume.
IN_JOB = (RowState.COPYING, RowState.PAUSED)


@dataclass(frozen=True, slots=True)
class FileRow:
    path: str
    size: int | None = None
    verdict: str | None = None
    reasons: tuple[str, ...] = ()
    next_step: str = ""
    state: RowState = RowState.CHECKING
    root: str = ""  # the dropped file or folder this file came from
    copies_done: int = 0
    copies_wanted: int = 0
    problem: str = ""  # the last failure's title and what to do
    dataset: str | None = None  # the id of the dataset it belongs to (check's answer)

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1].rsplit("\\", 1)[-1] or self.path

    @property
    def folder(self) -> str:
        return str(PurePath(self.path).parent)

    @property
    def status_text(self) -> str:
        if self.state is RowState.FAILED:
            return f"Failed: {self.problem}" if self.problem else "Failed"
        if self.state in IN_JOB and self.copies_wanted > 1:
            return f"{self.state.value} ({self.copies_done} of {self.copies_wanted} verified)"
        return str(self.state.value)


class JobState(enum.Enum):
    QUEUED = "Queued"
    STARTING = "Starting…"
    RUNNING = "Copying"
    PAUSED = "Paused"
    CANCELLING = "Cancelling…"
    DONE = "Done"
    PROBLEMS = "Done, with problems"
    CANCELLED = "Cancelled"
    REFUSED = "Refused"
    INTERRUPTED = "Interrupted"  # the engine ended under it: its copy never finished


FINISHED_JOB_STATES = {
    JobState.DONE,
    JobState.PROBLEMS,
    JobState.CANCELLED,
    JobState.REFUSED,
    JobState.INTERRUPTED,
}


@dataclass(frozen=True, slots=True)
class JobRow:
    key: int  # this window's number for the job (1, 2, ...)
    sources: tuple[str, ...]
    destinations: tuple[str, ...]
    state: JobState = JobState.QUEUED
    job_id: str | None = None  # the engine's id once started
    files_done: int = 0
    files_total: int = 0
    bytes_done: int = 0
    bytes_total: int = 0
    rate: float = 0.0
    eta: float | None = None
    verified: int = 0
    skipped: int = 0
    failed: int = 0
    result: str = ""

    @property
    def fraction(self) -> float | None:
        if self.state in (JobState.QUEUED, JobState.REFUSED):
            return None
        if self.bytes_total:
            return self.bytes_done / self.bytes_total
        if self.files_total:
            return self.files_done / self.files_total
        return 1.0 if self.state in FINISHED_JOB_STATES else 0.0

    @property
    def progress_text(self) -> str:
        if self.state is JobState.QUEUED:
            return "Queued"
        if self.bytes_total:
            return f"{human_size(self.bytes_done)} of {human_size(self.bytes_total)}"
        return f"{self.files_done} of {humanize.count(self.files_total, 'file')}"

    @property
    def running(self) -> bool:
        return self.state in (JobState.STARTING, JobState.RUNNING, JobState.PAUSED)


def job_progressed(row: JobRow, snapshot: JobSnapshot) -> JobRow:
    """Apply a ``JobSnapshot`` (bytes/files done and total, rate, ETA, state)."""
    state = {
        "paused": JobState.PAUSED,
        "cancelling": JobState.CANCELLING,
    }.get(snapshot.state, JobState.RUNNING)
    if row.state in FINISHED_JOB_STATES:
        return row
    return replace(
        row,
        state=state,
        files_done=snapshot.files_done,
        files_total=snapshot.files_total,
        bytes_done=snapshot.bytes_done,
        bytes_total=snapshot.bytes_total,
        rate=snapshot.rate_bytes_per_s,
        eta=snapshot.eta_seconds,
    )


_SUMMARY_STATES = {
    "completed": JobState.DONE,
    "completed with problems": JobState.PROBLEMS,
    "cancelled": JobState.CANCELLED,
    "refused": JobState.REFUSED,
}


def job_finished(row: JobRow, summary: JobSummary) -> JobRow:
    """Apply a ``JobSummary`` (state, counts, seconds)."""
    state = _SUMMARY_STATES.get(summary.state, JobState.PROBLEMS)
    parts = []
    if summary.verified:
        parts.append(f"{humanize.count(summary.verified, 'copy', 'copies')} verified")
    if summary.skipped:
        parts.append(f"{summary.skipped} already there")
    if summary.failed:
        parts.append(f"{summary.failed} failed")
    if state is JobState.CANCELLED:
        parts.insert(0, "Cancelled")
    if why := summary.error_title:  # refused or stopped: say why
        parts.insert(0, f"{why}: nothing more was copied")
    return replace(
        row,
        state=state,
        verified=summary.verified,
        skipped=summary.skipped,
        failed=summary.failed,
        files_done=summary.files_total if state is JobState.DONE else row.files_done,
        files_total=summary.files_total,
        bytes_total=summary.bytes_total,
        bytes_done=summary.bytes_total if state is JobState.DONE else row.bytes_done,
        eta=None,
        result=", ".join(parts) or state.value,
    )
