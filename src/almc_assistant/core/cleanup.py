"""Cleanup: which files retention allows to delete, and deleting only the safe ones.

Thread contract: :func:`plan_cleanup` reads the catalog (any thread). :func:`apply_cleanup`
does heavy I/O (re-reading copies to hash them) and deletes files: run it in a worker or
the CLI, never on the GUI thread; one cleanup at a time.

Deletion is only ever done from evidence. Right before deleting a file,
:func:`apply_cleanup` re-checks that the source is unchanged (size and mtime as
recorded), that every copy the policy counts is still present with the same size, and,
for all files or a configured sample, that each such copy still has the recorded BLAKE3
(read from the copy's storage with the ``blake3`` package). Copies that fail are
forgotten by the catalog; a file whose remaining copies no longer satisfy the policy is
kept. Every deletion is written to the audit log (one JSON line) *before* the file is
removed, so no deletion goes unrecorded. :func:`keep_whole_datasets` keeps the members
of a multi-file dataset (an Opera Phenix export, an OIF with its folder) unless all of
the dataset is safe: part of a dataset alone is of no use to anyone.
"""

from __future__ import annotations

import json
import logging
import os
import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from almc_assistant.core.catalog import Catalog, CopyRecord, FileRecord, FileState
from almc_assistant.core.config import CleanupSettings
from almc_assistant.core.errors import AlmcError, describe_os_error
from almc_assistant.core.policy import Policy, Retention
from almc_assistant.core.status import VolumeUsage, full_roots
from almc_assistant.core.units import plural

log = logging.getLogger(__name__)


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


def _is_safe(catalog: Catalog, path: Path) -> bool:
    rec = catalog.file(path)
    return rec is not None and rec.safe and rec.state is FileState.COMPLETE


def _judge(rec: FileRecord, date: float, policy: Policy) -> CleanupItem:
    if rec.state is FileState.ACQUIRING:
        return CleanupItem(rec, Action.KEEP, "still being acquired", date)
    missing = policy.missing(rec.current_copies())
    if missing:
        return CleanupItem(rec, Action.KEEP, f"not safe: {missing}", date)
    return CleanupItem(rec, Action.DELETE, "has the verified copies the policy asks for", date)


Hasher = Callable[[Path], str]


def blake3_of(path: Path) -> str:
    """BLAKE3 of a file, read from its storage (memory-mapped, multithreaded)."""
    import blake3

    hasher = blake3.blake3(max_threads=blake3.blake3.AUTO)
    hasher.update_mmap(path)
    return hasher.hexdigest()


def apply_cleanup(
    plan: CleanupPlan,
    catalog: Catalog,
    *,
    policy: Policy,
    settings: CleanupSettings,
    audit_log: Path,
    user: str,
    hasher: Hasher = blake3_of,
    rng: random.Random | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> CleanupResult:
    """Delete the plan's safe files after re-checking the evidence of each one."""
    chooser = rng or random.Random()
    outcomes: list[CleanupOutcome] = [
        CleanupOutcome(i.file.path, i.file.size, False, i.reason, i.file.owner) for i in plan.keep
    ]
    for item in plan.delete:
        if should_stop():
            outcomes.append(_kept(item.file, "cleanup was stopped before this file"))
            continue
        deep = settings.verify_hash == "all" or chooser.random() < settings.sample_fraction
        outcomes.append(_delete_one(item.file.path, catalog, policy, deep, hasher, audit_log, user))
    return CleanupResult(tuple(outcomes), audit_log)


def _kept(rec: FileRecord, reason: str) -> CleanupOutcome:
    return CleanupOutcome(rec.path, rec.size, False, reason, rec.owner)


def _delete_one(
    path: Path,
    catalog: Catalog,
    policy: Policy,
    deep: bool,
    hasher: Hasher,
    audit_log: Path,
    user: str,
) -> CleanupOutcome:
    rec = catalog.file(path)  # the evidence as it is now, not as planned
    if rec is None or rec.state is not FileState.COMPLETE:
        return CleanupOutcome(path, 0, False, "no longer in the catalog as complete", "")
    try:
        st = path.stat()
    except OSError as exc:
        return _kept(rec, f"cannot check the file: {exc.strerror}")
    if (st.st_size, st.st_mtime_ns) != (rec.size, rec.mtime_ns):
        return _kept(rec, "the file changed since it was copied")
    good: list[CopyRecord] = []
    failures: list[str] = []
    for standing in map(policy.standing, rec.current_copies()):
        if not standing.counts:
            continue
        problem = _recheck(standing.copy, deep, hasher)
        if problem:
            failures.append(f"{standing.copy.path}: {problem}")
            catalog.forget_copy(standing.copy.path)
        else:
            good.append(standing.copy)
    missing = policy.missing(good)
    if missing:
        detail = "; ".join(failures) if failures else missing
        return _kept(rec, f"evidence no longer holds ({detail})")
    entry = {
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "by": user,
        "owner": rec.owner,
        "path": str(path),
        "size": rec.size,
        "mtime_ns": rec.mtime_ns,
        "blake3": good[0].blake3,
        "hash_rechecked": deep,
        "copies": [{"path": str(c.path), "verified_at": c.verified_at} for c in good],
    }
    try:
        _audit(audit_log, {"action": "delete", **entry})
    except OSError as exc:
        err = describe_os_error(exc, action="write the audit log", path=audit_log)
        raise AlmcError(
            f"{err.detail} Nothing more is deleted until it can be written.",
            title="Cleanup stopped",
            next_step=err.next_step,
            paths=(audit_log,),
        ) from exc
    try:
        path.unlink()
    except OSError as exc:
        _audit(audit_log, {"action": "delete-failed", "error": str(exc), **entry})
        return _kept(rec, f"could not delete it: {exc.strerror}")
    catalog.record_cleaned(path)
    how = "size and BLAKE3" if deep else "size"
    return CleanupOutcome(
        path,
        rec.size,
        True,
        f"{len(good)} verified cop{'y' if len(good) == 1 else 'ies'} re-checked ({how})",
        rec.owner,
    )


def _recheck(copy: CopyRecord, deep: bool, hasher: Hasher) -> str:
    try:
        size = copy.path.stat().st_size
    except FileNotFoundError:
        return "the copy is missing"
    except OSError as exc:
        return f"cannot reach the copy ({exc.strerror})"
    if size != copy.size:
        return f"the copy has {size} bytes, {copy.size} were copied"
    if deep:
        try:
            digest = hasher(copy.path)
        except OSError as exc:
            return f"cannot read the copy ({exc.strerror})"
        if digest != copy.blake3:
            return "the copy's contents differ from what was verified (BLAKE3)"
    return ""


def _audit(audit_log: Path, entry: dict[str, object]) -> None:
    audit_log.parent.mkdir(parents=True, exist_ok=True)
    with open(audit_log, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry, ensure_ascii=False) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
