"""Column declarations of the transfer window's two lists (files by dataset, and jobs).

Thread contract: GUI thread only (icons).
"""

from __future__ import annotations

from PySide6.QtGui import QIcon

from almc_assistant.core.units import human_size
from almc_assistant.qt import humanize, icons, verdicts
from almc_assistant.qt.dataset_rows import DatasetRow, files_text
from almc_assistant.qt.icons import Badge
from almc_assistant.qt.table_model import Column
from almc_assistant.qt.transfer_rows import FileRow, JobRow, JobState, RowState

# A row of the file list: a file, or the summary of a dataset's files.
ListRow = FileRow | DatasetRow


def _verdict_tooltip(row: ListRow) -> str:
    """The check's whole label (the column may elide it), the kind, why, what to do."""
    lines = [] if _checking(row) else [verdicts.look(row.verdict).label]
    lines += [row.kind] if isinstance(row, DatasetRow) and row.kind else []
    lines += list(row.reasons)
    if row.next_step:
        lines.append(f"What to do: {row.next_step}")
    return "\n".join(lines)


def _status_badge(row: ListRow) -> Badge | None:
    if isinstance(row, DatasetRow):
        if row.attention and "failed" in row.status_text:
            return Badge.BAD
        return Badge.BUSY if row.busy else None
    return {
        RowState.VERIFIED: Badge.OK,
        RowState.ALREADY: Badge.OK,
        RowState.FAILED: Badge.BAD,
        RowState.CHECK_FAILED: Badge.BAD,
        RowState.COPYING: Badge.BUSY,
        RowState.PAUSED: Badge.WAITING,
        RowState.QUEUED: Badge.WAITING,
    }.get(row.state)


def _icon(badge: Badge | None) -> QIcon | None:
    return icons.badge_icon(badge) if badge is not None else None


def _checking(row: ListRow) -> bool:
    """Not judged yet: a file being checked, or a dataset none of whose files is."""
    if isinstance(row, DatasetRow):
        return row.verdict is None
    return bool(row.state is RowState.CHECKING)


def _check_text(row: ListRow) -> str:
    return "…" if _checking(row) else verdicts.look(row.verdict).label


def _size_text(row: ListRow) -> str:
    return human_size(row.size) if row.size is not None else ""


def _status_tooltip(row: ListRow) -> str:
    """The whole status (the column may elide it), and a file's problem if it says more."""
    text = str(row.status_text)
    problem = "" if isinstance(row, DatasetRow) else str(row.problem)
    return text if not problem or problem in text else f"{text}\n{problem}"


FILE_COLUMNS: tuple[Column[ListRow], ...] = (
    Column("Name", lambda r: r.name, tooltip=lambda r: r.path, sort_key=lambda r: r.name.lower()),
    Column("Folder", lambda r: r.folder, tooltip=lambda r: r.folder),
    Column(
        "Files",
        files_text,
        tooltip=files_text,  # whole when a narrow view elides the column
        sort_key=lambda r: r.files if isinstance(r, DatasetRow) else 1,
        align_right=True,
    ),
    Column(
        "Size",
        _size_text,
        tooltip=_size_text,
        sort_key=lambda r: r.size or 0,
        align_right=True,
    ),
    Column(
        "Check",
        _check_text,
        icon=lambda r: None if _checking(r) else _icon(verdicts.look(r.verdict).badge),
        tooltip=_verdict_tooltip,
    ),
    Column(
        "Status",
        lambda r: r.status_text,
        icon=lambda r: _icon(_status_badge(r)),
        tooltip=_status_tooltip,
    ),
)
CHECK_COLUMN = 4
STATUS_COLUMN = 5


def _job_badge(row: JobRow) -> Badge | None:
    return {
        JobState.DONE: Badge.OK,
        JobState.PROBLEMS: Badge.BAD,
        JobState.REFUSED: Badge.BAD,
        JobState.INTERRUPTED: Badge.BAD,
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
