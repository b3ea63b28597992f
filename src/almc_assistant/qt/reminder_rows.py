"""What the reminder window lists and says: unsafe files grouped by folder, ages, why now.

Thread contract: pure functions and frozen values, safe anywhere (``qt/`` only because
the table's columns carry icons). Only attributes already read from the catalog are used
(the status report's ``UnsafeFile``: path, size, age reference, cleanup date): no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from almc_assistant.core.session_end.events import ReminderKind
from almc_assistant.core.session_end.texts import sign_out_word
from almc_assistant.core.status import UnsafeFile
from almc_assistant.core.units import human_size
from almc_assistant.qt import humanize, icons
from almc_assistant.qt.table_model import Column

DAY = 86400.0


def why_text(kind: ReminderKind, platform: str | None = None) -> str:
    """Why this reminder comes now, in one short sentence (the reminder's own text then
    says what is at risk and what to do, so this does not repeat it)."""
    word = sign_out_word(platform) if platform else sign_out_word()
    return {
        ReminderKind.ACQUISITION_FINISHED: "Your acquisition looks finished: no new images "
        "for a few minutes.",
        ReminderKind.IDLE: "Nobody has used this workstation for a while.",
        ReminderKind.SCHEDULED: "A scheduled reminder (change it in Settings › Reminders).",
        ReminderKind.LOCKED: "You locked the workstation or switched user.",
        ReminderKind.SESSION_END_CANCELLED: f"You tried to {word}; it was held up so that "
        "you can back up first.",
        ReminderKind.LAST_SESSION: "Whatever ended it (a logout, a shutdown or a crash), "
        "these files are still only on this computer.",
    }[kind]


@dataclass(frozen=True, slots=True)
class AtRiskGroup:
    """The unsafe files of one folder: a dataset, or a single file such as an ND2."""

    folder: Path
    label: str
    files: int
    bytes: int
    oldest: float | None  # age reference of its oldest file (epoch seconds)
    cleanup_from: float | None  # when the facility's cleanup may delete the first of them
    now: float


def group_at_risk(files: Sequence[UnsafeFile], now: float) -> list[AtRiskGroup]:
    """The status report's unsafe files, one row per folder (a lone file by its name).

    Sorted by what cleanup reaches first, then by size. Only attributes already read
    from the catalog are used: no I/O.
    """
    by_folder: dict[Path, list[UnsafeFile]] = {}
    for f in files:
        by_folder.setdefault(Path(f.path).parent, []).append(f)
    groups = []
    for folder, members in by_folder.items():
        born = [f.born for f in members if f.born is not None]
        dates = [f.candidate_date for f in members if f.candidate_date is not None]
        label = Path(members[0].path).name if len(members) == 1 else folder.name or str(folder)
        groups.append(
            AtRiskGroup(
                folder=folder,
                label=label,
                files=len(members),
                bytes=sum(f.size for f in members),
                oldest=min(born, default=None),
                cleanup_from=min(dates, default=None),
                now=now,
            )
        )
    groups.sort(key=lambda g: (g.cleanup_from if g.cleanup_from is not None else 1e20, -g.bytes))
    return groups


def age(seconds: float | None) -> str:
    """How long data has waited: ``5 min``, ``3 h``, ``26 days``; ``—`` when unknown."""
    if seconds is None:
        return "—"
    if seconds < 3600:
        return f"{max(1, round(seconds / 60))} min"
    if seconds < DAY:
        return f"{round(seconds / 3600)} h"
    return humanize.count(round(seconds / DAY), "day")


AT_RISK_COLUMNS: tuple[Column[AtRiskGroup], ...] = (
    Column(
        "Folder or dataset",
        lambda g: g.label if g.files == 1 else f"{g.label} ({humanize.count(g.files, 'file')})",
        icon=lambda g: icons.state_icon(icons.State.AT_RISK),
        tooltip=lambda g: str(g.folder),
    ),
    Column("Size", lambda g: human_size(g.bytes), sort_key=lambda g: g.bytes, align_right=True),
    Column(
        "Age",
        lambda g: age(None if g.oldest is None else g.now - g.oldest),
        sort_key=lambda g: -(g.oldest or 0.0),
    ),
    Column(
        "Cleanup may delete it",
        lambda g: humanize.cleanup_date(g.cleanup_from, g.now),
        sort_key=lambda g: g.cleanup_from or 0.0,
    ),
)
