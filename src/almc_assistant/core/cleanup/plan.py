"""Cleanup's plan: which files retention makes candidates, and which of them may go.

Thread contract: :func:`plan_cleanup` and :func:`keep_whole_datasets` read the catalog
(any thread) and do no file I/O beyond the policy's cached device look-ups.

The plan is advice from the catalog (a hint: rows can be stale or forged); the apply step
(``cleanup.apply``) proves each deletion from the files themselves. The plan already keeps
what must never go, with the reason for staff: files still being acquired, files whose
check found them damaged, unreadable or empty (``BLOCKING_VERDICTS``: "Do not delete it
or its source"), files without the copies the policy asks for (counted per device), and
:func:`keep_whole_datasets` keeps the members of a multi-file dataset (an Opera Phenix
export, an OIF with its folder) unless all of the dataset is safe: part of a dataset
alone is of no use to anyone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from almc_assistant.core.catalog import Catalog, FileRecord, FileState
from almc_assistant.core.policy import Policy, Retention, remote_device
from almc_assistant.core.status import VolumeUsage, full_roots
from almc_assistant.core.units import plural
from almc_assistant.core.verdicts import Verdict

log = logging.getLogger(__name__)


# Verdicts (``core.inspect.Verdict`` values) that forbid deleting a file: the check
# found it damaged or incomplete (perhaps still being written), could not read it, or
# found it empty. The check's own advice for these is "Do not delete it or its source".
BLOCKING_VERDICTS: dict[str, str] = {
    Verdict.NATIVE_DAMAGED: (
        "the check found it damaged or incomplete (perhaps still being written)"
    ),
    Verdict.TIFF_DAMAGED: "the check found it damaged or incomplete",
    Verdict.UNREADABLE: "the check could not read it",
    Verdict.EMPTY: "it is empty (perhaps not written yet)",
}


class Action(StrEnum):
    DELETE = "delete"
    KEEP = "keep"


@dataclass(frozen=True, slots=True)
class CleanupItem:
    file: FileRecord
    action: Action
    reason: str
    candidate_date: float


@dataclass(frozen=True, slots=True)
class CleanupPlan:
    created_at: float
    items: tuple[CleanupItem, ...]

    @property
    def delete(self) -> tuple[CleanupItem, ...]:
        return tuple(i for i in self.items if i.action is Action.DELETE)

    @property
    def keep(self) -> tuple[CleanupItem, ...]:
        return tuple(i for i in self.items if i.action is Action.KEEP)

    @property
    def bytes_to_free(self) -> int:
        return sum(i.file.size for i in self.delete)


@dataclass(frozen=True, slots=True)
class CleanupOutcome:
    path: Path
    size: int
    deleted: bool
    reason: str  # why it was kept, or what evidence allowed the deletion
    owner: str
    dev: int | None = None  # the file deleted (device and inode, as read from its handle)
    ino: int | None = None


@dataclass(frozen=True, slots=True)
class CleanupResult:
    outcomes: tuple[CleanupOutcome, ...]
    audit_log: Path

    @property
    def deleted(self) -> tuple[CleanupOutcome, ...]:
        return tuple(o for o in self.outcomes if o.deleted)

    @property
    def kept(self) -> tuple[CleanupOutcome, ...]:
        return tuple(o for o in self.outcomes if not o.deleted)

    @property
    def bytes_freed(self) -> int:
        return sum(o.size for o in self.deleted)


def plan_cleanup(
    catalog: Catalog,
    *,
    policy: Policy,
    retention: Retention,
    volumes: Sequence[VolumeUsage],
    now: float,
) -> CleanupPlan:
    """Files retention makes candidates (by age, or on a disk past the threshold).

    Only files inside the acquisition folders (one ``VolumeUsage`` each) are ever
    candidates: a file copied from a USB stick through the app is catalogued, but
    cleaning the workstation must never reach it.
    """
    roots = [v.folder for v in volumes]
    chosen: dict[int, tuple[FileRecord, float]] = {}
    for rec in catalog.cleanup_candidates(born_before=retention.born_before(now)):
        if any(r in rec.path.parents for r in roots):
            chosen[rec.id] = (rec, retention.age_date(rec.born))
    for v in volumes:
        if v.folder not in full_roots([v], retention):
            continue
        # Free the disk down below the threshold, oldest files first, safe ones counting.
        excess = v.used - v.total * retention.settings.disk_full_percent / 100.0
        for rec in catalog.cleanup_candidates(born_before=now + 1.0, root=v.folder):
            if excess <= 0:
                break
            chosen.setdefault(rec.id, (rec, now))
            if rec.safe:
                excess -= rec.size
    items = [_judge(rec, date, policy) for rec, date in chosen.values()]
    return CleanupPlan(created_at=now, items=_ordered(items))


def _ordered(items: Iterable[CleanupItem]) -> tuple[CleanupItem, ...]:
    """Deletions first, then the kept files; oldest candidates first in each."""
    return tuple(
        sorted(items, key=lambda i: (i.action is Action.KEEP, i.candidate_date, str(i.file.path)))
    )


class DatasetPart(Protocol):
    """Files of a multi-file dataset some of which are chosen (``core.inspect``'s
    ``PartialDataset``; the service passes its finder in)."""

    @property
    def kind(self) -> str: ...
    @property
    def anchor(self) -> Path: ...
    @property
    def selected(self) -> tuple[Path, ...]: ...
    @property
    def left_out(self) -> tuple[Path, ...]: ...


PartFinder = Callable[[Sequence[Path]], Sequence[DatasetPart]]


def keep_whole_datasets(plan: CleanupPlan, catalog: Catalog, parts_of: PartFinder) -> CleanupPlan:
    """The plan, keeping each file it would delete that belongs to a multi-file dataset
    whose other files are not all safe (no verified copies, still acquiring, or unknown
    to the catalog), with the reason. A dataset whose files are all safe may go, even in
    parts (the rest becomes a candidate later).

    Safety is read from the catalog now, so an older plan is judged on today's evidence:
    a planned file that is no longer safe counts as left out (``apply_cleanup`` keeps
    it, and this keeps the rest of its dataset)."""
    if not plan.delete:
        return plan
    deleting = [i.file.path for i in plan.delete if _is_safe(catalog, i.file.path)]
    reasons: dict[Path, str] = {}
    for part in parts_of(deleting):
        unsafe = [p for p in part.left_out if not _is_safe(catalog, p)]
        if not unsafe:
            continue
        reason = (
            f"part of the {part.kind} '{part.anchor.name}' in {part.anchor.parent}, of which "
            f"{plural(len(unsafe), 'other file')} (such as {unsafe[0].name}) "
            f"{'is' if len(unsafe) == 1 else 'are'} not safe: a dataset is deleted only "
            "once all of it has the verified copies the policy asks for"
        )
        reasons.update(dict.fromkeys(part.selected, reason))
    if not reasons:
        return plan
    items = [
        replace(i, action=Action.KEEP, reason=reasons[i.file.path])
        if i.action is Action.DELETE and i.file.path in reasons
        else i
        for i in plan.items
    ]
    return replace(plan, items=_ordered(items))


ContentCheck = Callable[[Path], tuple[str, tuple[str, ...]]]


def keep_unchecked_damage(plan: CleanupPlan, catalog: Catalog, check: ContentCheck) -> CleanupPlan:
    """The plan, after checking each file it would delete that was never checked
    (``check`` returns the verdict and reasons; the service passes the file check): a
    damaged, unreadable or empty one is kept, with the reason. Verdicts are recorded."""
    items = []
    for item in plan.items:
        if item.action is Action.DELETE and item.file.verdict is None:
            verdict, reasons = check(item.file.path)
            catalog.record_verdict(item.file.path, verdict, reasons)
            rec = replace(item.file, verdict=verdict, verdict_reasons=reasons)
            why = blocking_verdict(rec)
            item = replace(item, file=rec, action=Action.KEEP, reason=why) if why else item
        items.append(item)
    return replace(plan, items=_ordered(items))


def _is_safe(catalog: Catalog, path: Path) -> bool:
    rec = catalog.file(path)
    return (
        rec is not None
        and rec.safe
        and rec.state is FileState.COMPLETE
        and not blocking_verdict(rec)
    )


def _judge(rec: FileRecord, date: float, policy: Policy) -> CleanupItem:
    if rec.state is FileState.ACQUIRING:
        return CleanupItem(rec, Action.KEEP, "still being acquired", date)
    blocked = blocking_verdict(rec)
    if blocked:
        return CleanupItem(rec, Action.KEEP, blocked, date)
    missing = policy.missing(rec.current_copies())
    notes = "".join(f"; {n}" for n in remote_notes(rec, policy))
    if missing:
        return CleanupItem(rec, Action.KEEP, f"not safe: {missing}{notes}", date)
    return CleanupItem(
        rec, Action.DELETE, f"has the verified copies the policy asks for{notes}", date
    )


def remote_notes(rec: FileRecord, policy: Policy) -> list[str]:
    """What the plan says of the file's copies on remote destinations, one per remote:
    each counts only if it is proven again when cleanup runs, and a university account
    is deleted on departure."""
    notes: dict[str, str] = {}
    for copy in rec.current_copies():
        root = copy.destination_root.as_posix()
        if remote_device(root) is None:
            continue
        dest = policy.destination_of(copy.destination_root)
        name = dest.remote or root
        note = (
            f"the copy on {name} counts only if {name} proves its stored bytes again when "
            "cleanup runs (unreachable or unproven then: not counted, and the file is kept)"
        )
        if dest.university_managed:
            note += (
                f"; {name} is a university-managed account, deleted when its owner leaves: "
                "keep another copy"
            )
        notes.setdefault(name, note)
    return list(notes.values())


def blocking_verdict(rec: FileRecord) -> str:
    """Why the file's check forbids deleting it ("" when it does not)."""
    why = BLOCKING_VERDICTS.get(rec.verdict or "")
    if not why:
        return ""
    first = rec.verdict_reasons[0] if rec.verdict_reasons else ""
    return f"{why} ({rec.verdict}{': ' + first if first else ''}); never deleted by cleanup"
