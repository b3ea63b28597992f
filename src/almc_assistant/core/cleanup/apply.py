"""Deleting the plan's files, each only on evidence proven from the files right before.

Thread contract: heavy I/O (every source and counted copy is read back from storage) and
deletions: run it in a worker or the CLI, never on the GUI thread; one cleanup at a time.

For each file the plan would delete, :func:`apply_cleanup`, right before deleting it:

1. re-reads the catalog row (today's evidence, not the plan's) and keeps files no longer
   complete, or whose check forbids deleting them (``plan.blocking_verdict``);
2. opens the source by walking from its acquisition folder without following links
   (``cleanup.checks``), and keeps it if its size or mtime differ from the row, if it was
   written in the last ``settle_seconds`` (it may still be acquiring), or if this
   catalog may not speak for its owner (``EvidenceRules.rows_apply_to``; on Windows a
   user's own catalog speaks only for files whose owner SID is that user's);
3. hashes the source through its handle, from storage: the bytes must equal a BLAKE3
   recorded for it;
4. proves each copy the policy could count (``checks.check_copy``: trusted location, not
   writable by others, regular file on another device, same bytes as the source *now*)
   and each copy on a remote destination through its backend (``cleanup.remote``: a
   destination the facility or the owner configured, reachable now, its stored bytes
   proven equal to the source's), and asks the policy, with the devices read from the
   copies themselves (a remote: one pseudo device per remote), whether the proven copies
   are enough (one per device; never the source's own device);
5. calls ``before_unlink`` (tests drive races here), writes the audit line (synced),
   re-checks that the source's name in the folder still held open is the same unchanged
   file, that each proven copy is still there unchanged and each remote one still
   answers with its size, and only then ``unlinkat``-s it relative to that folder.

The ``[cleanup] verify_hash``/``sample_fraction`` settings no longer allow a shortcut:
every deletion re-reads every counted copy and the source.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path, PurePath
from typing import TYPE_CHECKING

from almc_assistant.core import handles
from almc_assistant.core.catalog import Catalog, FileRecord, FileState
from almc_assistant.core.cleanup import audit
from almc_assistant.core.cleanup.checks import (
    CheckedCopy,
    NotACopy,
    Opened,
    check_copy,
    open_source,
    owner_of,
    read_hash,
)
from almc_assistant.core.cleanup.plan import (
    CleanupOutcome,
    CleanupPlan,
    CleanupResult,
    blocking_verdict,
)
from almc_assistant.core.cleanup.remote import (
    ProvenRemote,
    RemoteCopies,
    RemoteNotACopy,
    is_remote,
    located,
)
from almc_assistant.core.destination_backend import SourceDigests
from almc_assistant.core.evidence import EvidenceRules, Owner, shown
from almc_assistant.core.handles import Refused
from almc_assistant.core.identity import FileIdentity
from almc_assistant.core.policy import Policy

if TYPE_CHECKING:
    from almc_assistant.core.cleanup.checks import AnyHandles

log = logging.getLogger(__name__)

UNSUPPORTED = (
    "cleanup deletes only through handles it checked (openat and unlinkat without "
    "following links), which this system does not offer: nothing is deleted here"
)


def apply_cleanup(
    plan: CleanupPlan,
    catalog: Catalog,
    *,
    policy: Policy,
    rules: EvidenceRules,
    acquisition_roots: Sequence[PurePath],
    audit_log: Path,
    user: str,
    should_stop: Callable[[], bool] = lambda: False,
    before_unlink: Callable[[Path], None] | None = None,
    settle_seconds: float = 60.0,
    clock: Callable[[], float] = time.time,
    remotes: RemoteCopies | None = None,
) -> CleanupResult:
    """Delete the plan's safe files, each after proving its evidence (module docstring).

    ``remotes``: how remote copies are proven (default: a :class:`RemoteCopies` on the
    user's own rclone config, stopped before this returns)."""
    outcomes: list[CleanupOutcome] = [
        CleanupOutcome(i.file.path, i.file.size, False, i.reason, i.file.owner) for i in plan.keep
    ]
    own = remotes is None
    remote = RemoteCopies() if remotes is None else remotes
    try:
        for item in plan.delete:
            if should_stop():
                outcomes.append(_kept(item.file, "cleanup was stopped before this file"))
            elif not handles.supported():
                outcomes.append(_kept(item.file, UNSUPPORTED))
            else:
                one = _OneFile(catalog, policy, rules, acquisition_roots, audit_log, user, remote)
                outcomes.append(one.run(item.file.path, before_unlink, clock() - settle_seconds))
    finally:
        if own:
            remote.close()
    return CleanupResult(tuple(outcomes), audit_log)


def _kept(rec: FileRecord, reason: str) -> CleanupOutcome:
    return CleanupOutcome(rec.path, rec.size, False, reason, rec.owner)


class _OneFile:
    """The decision and deletion for one file (all its handles closed at the end)."""

    def __init__(
        self,
        catalog: Catalog,
        policy: Policy,
        rules: EvidenceRules,
        roots: Sequence[PurePath],
        audit_log: Path,
        user: str,
        remotes: RemoteCopies,
    ) -> None:
        self.catalog, self.policy, self.rules = catalog, policy, rules
        self.roots, self.audit_log, self.user = roots, audit_log, user
        self.remotes = remotes

    def run(
        self, path: Path, before_unlink: Callable[[Path], None] | None, settled: float
    ) -> CleanupOutcome:
        rec = self.catalog.file(path)  # the evidence as it is now, not as planned
        if rec is None or rec.state is not FileState.COMPLETE:
            return CleanupOutcome(path, 0, False, "no longer in the catalog as complete", "")
        blocked = blocking_verdict(rec)
        if blocked:
            return _kept(rec, blocked)
        with handles.open_handles() as h:
            try:
                return self._prove_and_delete(h, rec, before_unlink, settled)
            except Refused as exc:
                return _kept(rec, f"kept: {exc}")
            except OSError as exc:
                return _kept(rec, f"kept: cannot check it ({exc.strerror or exc})")

    def _prove_and_delete(
        self,
        h: AnyHandles,
        rec: FileRecord,
        before_unlink: Callable[[Path], None] | None,
        settled: float,
    ) -> CleanupOutcome:
        src = open_source(h, rec.path, self.roots)
        ident = src.identity
        if (ident.size, ident.mtime_ns) != (rec.size, rec.mtime_ns):
            return _kept(rec, "the file changed since it was copied")
        if ident.mtime_ns / 1e9 > settled:
            return _kept(rec, "it was written to moments ago: it may still be acquiring")
        owner = owner_of(src)
        if not self.rules.rows_apply_to(owner):
            assert self.rules.catalog_owner_uid is not None
            return _kept(
                rec,
                f"the file belongs to {shown(owner)}, and this catalog speaks only for "
                f"{shown(self.rules.catalog_owner_uid)}'s files",
            )
        current = rec.current_copies()
        if not current:
            return _kept(rec, f"evidence does not hold ({self.policy.missing(current)})")
        digest = read_hash(h, src)
        if digest not in {c.blake3 for c in current}:
            return _kept(rec, "its bytes differ from those recorded when it was copied (BLAKE3)")
        good, failures = self._prove_copies(h, rec, src, digest, owner)
        far, far_failures = self._prove_remotes(h, rec, src, digest, owner)
        failures += far_failures
        devices = {c.record.path: c.opened.identity.dev for c in good}
        devices.update({r.record.path: r.device for r in far})
        missing = self.policy.missing(
            [*(c.record for c in good), *(r.record for r in far)],
            devices=devices,
            source_device=ident.dev,
        )
        if missing:
            detail = "; ".join([missing, *failures])
            return _kept(rec, f"evidence does not hold ({detail})")
        if before_unlink is not None:
            before_unlink(rec.path)
        entry = _entry(rec, src, digest, good, self.user, far)
        audit.write(self.audit_log, {"action": "delete", **entry})
        problem = _changed(h, src, good) or self._remote_changed(far)
        if problem:
            audit.write(self.audit_log, {"action": "delete-cancelled", "why": problem, **entry})
            return _kept(rec, f"kept: {problem}")
        try:
            h.unlink(src.parent_fd, src.name, src.fd)
        except OSError as exc:
            audit.write(self.audit_log, {"action": "delete-failed", "error": str(exc), **entry})
            return _kept(rec, f"could not delete it: {exc.strerror}")
        self.catalog.record_cleaned(rec.path)
        return CleanupOutcome(
            rec.path,
            rec.size,
            True,
            _deleted_because(len(good), far),
            rec.owner,
            ident.dev,
            ident.ino,
        )

    def _prove_copies(
        self, h: AnyHandles, rec: FileRecord, src: Opened, digest: str, owner: Owner
    ) -> tuple[list[CheckedCopy], list[str]]:
        good: list[CheckedCopy] = []
        failures: list[str] = []
        seen: set[int] = set()
        for copy in rec.current_copies():
            if is_remote(copy) or not self.policy.standing(copy).counts:
                continue  # remote (``_prove_remotes``), or its kind does not count
            if copy.blake3 != digest:
                failures.append(f"{copy.path}: its row records other bytes (ignored)")
                continue
            try:
                checked = check_copy(
                    h, copy, source=src, source_hash=digest, rules=self.rules, owner=owner
                )
            except NotACopy as exc:
                failures.append(f"{copy.path}: {exc}")
                self.catalog.forget_copy(copy.path)
                continue
            except Refused as exc:
                failures.append(f"{copy.path}: {exc}")
                continue
            except OSError as exc:
                failures.append(f"{copy.path}: cannot read it ({exc.strerror or exc})")
                continue
            if checked.opened.identity.dev in seen:
                continue  # one copy per device counts
            seen.add(checked.opened.identity.dev)
            good.append(checked)
        return good, failures

    def _prove_remotes(
        self, h: AnyHandles, rec: FileRecord, src: Opened, digest: str, owner: Owner
    ) -> tuple[list[ProvenRemote], list[str]]:
        """The remote copies proven now (one per remote), and why the others were not."""
        good: list[ProvenRemote] = []
        failures: list[str] = []
        trusted = self.rules.trusted_remotes(owner)
        extra: dict[frozenset[str], SourceDigests] = {}

        def digests_of(wanted: frozenset[str]) -> SourceDigests:
            if wanted not in extra:
                extra[wanted] = _source_digests(h, src, digest, wanted)
            return extra[wanted]

        for copy in rec.current_copies():
            if not is_remote(copy):
                continue
            where = copy.path.as_posix()
            if copy.blake3 != digest:
                failures.append(f"{where}: its row records other bytes (ignored)")
                continue
            found = located(copy, trusted)
            if found is None:
                failures.append(
                    f"{where}: not on a remote destination the facility or the file's owner "
                    "configured for this user's sign-in (not counted)"
                )
                continue
            spec, rel = found
            if any(r.spec == spec for r in good):
                continue  # one copy per remote counts
            try:
                good.append(self.remotes.prove(copy, spec, rel, digests_of))
            except RemoteNotACopy as exc:
                failures.append(f"{where}: {exc}")
                self.catalog.forget_copy(copy.path)
            except Refused as exc:
                failures.append(str(exc))
        return good, failures

    def _remote_changed(self, far: Sequence[ProvenRemote]) -> str:
        for r in far:
            why = self.remotes.changed(r)
            if why:
                return f"a copy changed after it was checked ({r.shown}: {why})"
        return ""


def _source_digests(
    h: AnyHandles, src: Opened, digest: str, wanted: frozenset[str]
) -> SourceDigests:
    """The open source's digests ``wanted`` besides BLAKE3 (for a server's own hash),
    from a second read of it; refused if it is not the file just hashed."""
    if not wanted - {"blake3"}:
        return SourceDigests(size=src.identity.size, blake3=digest)
    from almc_assistant.core.remote.digests import ReadPassDigests

    hashers = ReadPassDigests(wanted - {"blake3"})
    os.lseek(src.fd, 0, os.SEEK_SET)
    while chunk := os.read(src.fd, 1 << 20):
        hashers.update(chunk)
    found = hashers.result()
    change = FileIdentity.of_fd(src.fd).change_from(src.identity)
    if change or found.blake3 != digest or found.size != src.identity.size:
        raise Refused(f"it changed while it was read ({change or 'other bytes'})")
    return found


def _deleted_because(local: int, far: Sequence[ProvenRemote]) -> str:
    words = []
    if local:
        n = local
        words.append(
            f"{n} cop{'y' if n == 1 else 'ies'} on independent devices re-read from storage: "
            "same BLAKE3"
        )
    words += [f"the copy at {r.shown} proven again ({r.words})" for r in far]
    return "source re-read from storage; " + "; ".join(words)


def _changed(h: AnyHandles, src: Opened, good: Sequence[CheckedCopy]) -> str:
    """Why the checked files are no longer what was checked ("" when all still are)."""
    for what, opened in [("the file", src), *(("a copy", c.opened) for c in good)]:
        why = h.still_there(opened.parent_fd, opened.name, opened.identity)
        why = why or FileIdentity.of_fd(opened.fd).change_from(opened.identity)
        if why:
            return f"{what} changed after it was checked ({opened.shown}: {why})"
    return ""


def _entry(
    rec: FileRecord,
    src: Opened,
    digest: str,
    good: Sequence[CheckedCopy],
    user: str,
    far: Sequence[ProvenRemote] = (),
) -> dict[str, object]:
    ident = src.identity
    return {
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "by": user,
        "owner": rec.owner,
        "uid": ident.uid,
        "path": str(src.shown),
        "catalog_path": str(rec.path),
        "dev": ident.dev,
        "ino": ident.ino,
        "size": ident.size,
        "mtime_ns": ident.mtime_ns,
        "ctime_ns": ident.ctime_ns,
        "blake3": digest,
        "hash_rechecked": True,
        "copies": [
            {
                "path": str(c.opened.shown),
                "dev": c.opened.identity.dev,
                "ino": c.opened.identity.ino,
                "verified_at": c.record.verified_at,
            }
            for c in good
        ],
        "remote_copies": [
            {"path": r.shown, "proof": r.proof, "verified_at": r.record.verified_at} for r in far
        ],
    }
