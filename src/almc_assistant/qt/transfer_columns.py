"""Column declarations of the transfer window's two tables (files and jobs).

Thread contract: GUI thread only (icons).
"""

from __future__ import annotations

from almc_assistant.core.units import human_size
from almc_assistant.qt import humanize, icons, verdicts
from almc_assistant.qt.icons import Badge
from almc_assistant.qt.table_model import Column
from almc_assistant.qt.transfer_rows import FileRow, JobRow, JobState, RowState


def _verdict_tooltip(row: FileRow) -> str:
    lines = list(row.reasons)
    if row.next_step:
        lines.append(f"What to do: {row.next_step}")
    return "\n".join(lines)


def _status_badge(row: FileRow) -> Badge | None:
    return {
        RowState.VERIFIED: Badge.OK,
        RowState.ALREADY: Badge.OK,
        RowState.FAILED: Badge.BAD,
        RowState.CHECK_FAILED: Badge.BAD,
        RowState.COPYING: Badge.BUSY,
        RowState.QUEUED: Badge.WAITING,
    }.get(row.state)


def _icon(badge: Badge | None):  # type: ignore[no-untyped-def]
    return icons.badge_icon(badge) if badge is not None else None


FILE_COLUMNS: tuple[Column[FileRow], ...] = (
    Column("Name", lambda r: r.name, tooltip=lambda r: r.path, sort_key=lambda r: r.name.lower()),
    Column(
        "Size",
        lambda r: human_size(r.size) if r.size is not None else "",
        sort_key=lambda r: r.size or 0,
        align_right=True,
    ),
    Column(
        "Check",
        lambda r: verdicts.look(r.verdict).label if r.state is not RowState.CHECKING else "…",
        icon=lambda r: (
            _icon(verdicts.look(r.verdict).badge) if r.state is not RowState.CHECKING else None
        ),
        tooltip=_verdict_tooltip,
    ),
    Column(
        "Status",
        lambda r: r.status_text,
        icon=lambda r: _icon(_status_badge(r)),
        tooltip=lambda r: r.problem,
    ),
)


def _job_badge(row: JobRow) -> Badge | None:
    return {
        JobState.DONE: Badge.OK,
        JobState.PROBLEMS: Badge.BAD,
        JobState.REFUSED: Badge.BAD,
        JobState.CANCELLED: Badge.NOTE,
        JobState.RUNNING: Badge.BUSY,
        JobState.QUEUED: Badge.WAITING,
        JobState.PAUSED: Badge.WAITING,
    }.get(row.state)


def _what(r: JobRow) -> str:
    """What the job copies: its files once the engine has counted them (a dropped folder
    is one item of 305 files), the items given until then."""
    if r.files_total:
        return humanize.count(r.files_total, "file")
    return humanize.count(len(r.sources), "item")


JOB_COLUMNS: tuple[Column[JobRow], ...] = (
    Column(
        "Copy",
        lambda r: (
            f"#{r.key}: {_what(r)} → "
            + ", ".join(d.rsplit("/", 1)[-1] or d for d in r.destinations)
        ),
        icon=lambda r: _icon(_job_badge(r)),
        tooltip=lambda r: "\n".join(["From:", *r.sources, "To:", *r.destinations]),
    ),
    Column("Progress", lambda r: r.progress_text, progress=lambda r: r.fraction),
    Column(
        "Speed",
        lambda r: humanize.rate(r.rate) if r.state is JobState.RUNNING else "",
        align_right=True,
    ),
    Column(
        "Time left",
        lambda r: humanize.duration(r.eta) if r.state is JobState.RUNNING else "",
        align_right=True,
    ),
    Column("Result", lambda r: r.result or r.state.value),
)
