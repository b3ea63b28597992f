"""The service's cleanup part: what retention makes deletable, and deleting it safely.

Thread contract: any thread; every method blocks (it reads catalogs, stats files, and
:meth:`CleanupPart.apply` re-hashes copies and deletes): the command line calls them, or
a worker. Root with a facility shared state folder also plans from every other user's
catalog, as hints (:mod:`almc_assistant.core.staff_view`); each file's evidence is
re-checked against the catalog it was planned from right before it is deleted.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from almc_assistant.core.catalog import Catalog
from almc_assistant.core.cleanup import (
    Action,
    CleanupItem,
    CleanupOutcome,
    CleanupPlan,
    CleanupResult,
    apply_cleanup,
    keep_unchecked_damage,
    keep_whole_datasets,
    plan_cleanup,
)
from almc_assistant.core.cleanup.remote import RemoteCopies
from almc_assistant.core.errors import UsageError
from almc_assistant.core.evidence import EvidenceRules, Owner
from almc_assistant.core.policy import Policy
from almc_assistant.core.privatefs import is_root, is_staff, is_superuser
from almc_assistant.core.service_runtime import Runtime
from almc_assistant.core.staff_view import StaffView
from almc_assistant.core.status import measure_volumes

if TYPE_CHECKING:
    from almc_assistant.core.inspect import PartialDataset
    from almc_assistant.core.remote.session import RemoteSession


class CleanupSource(NamedTuple):
    """One catalog cleanup plans from, and what its evidence may be trusted for."""

    catalog: Catalog
    policy: Policy  # decides safety for this catalog's files
    owner_uid: int | None  # the user whose private catalog it is; None: the caller's own
    owner_roots: tuple[Path, ...]  # destinations that user configured themselves


class CleanupPart:
    """Cleanup plans and their application; staff's view of other users' catalogs."""

    def __init__(
        self,
        runtime: Runtime,
        user: str,
        *,
        verdict_of: Callable[[Path], tuple[str, tuple[str, ...]]],
        partial_datasets: Callable[[Sequence[Path | str]], list[PartialDataset]],
        remote_session: Callable[[], RemoteSession] | None = None,
    ) -> None:
        """``remote_session``: the service's one rclone daemon, on which cleanup proves
        remote copies again (without it, each cleanup starts and stops its own)."""
        self._rt = runtime
        self._remote_session = remote_session
        self._user = user
        self._verdict_of = verdict_of
        self._partial_datasets = partial_datasets
        self._staff: StaffView | None = None  # other users' catalogs (root's cleanup)
        self._planned: dict[Path, Catalog] = {}  # which catalog each planned file came from

    def _keep_datasets(self, plan: CleanupPlan, catalog: Catalog) -> CleanupPlan:
        """A file never checked is checked first (damaged, unreadable or empty: kept), and
        a file of a multi-file dataset is kept unless the whole dataset is safe; run when
        planning and again right before applying (copies may have changed)."""
        plan = keep_unchecked_damage(plan, catalog, self._verdict_of)
        return keep_whole_datasets(plan, catalog, self._partial_datasets)

    def staff_view(self) -> StaffView | None:
        """Root, with a shared state folder: every other user's catalog, as hints."""
        config = self._rt.settings.config
        if config.shared_state_dir is None or not is_root():
            return None
        with self._rt.lock:
            if self._staff is None:
                self._staff = StaffView(config, skip_uid=os.geteuid()).open()
            return self._staff

    def other_users_catalog(self, user: str) -> tuple[Catalog, Policy]:
        """Another user's catalog and policy (staff only), for their status."""
        config = self._rt.settings.config
        if not is_staff(config.staff_group):
            raise UsageError(
                f"Only staff may see another user's files; you are {self._user}, not {user}.",
                next_step="Run 'almc-assistant status' for your own files, or ask staff.",
            )
        staff = self.staff_view() if is_root() else None
        hints = staff.for_user(user) if staff is not None else None
        if hints is None:
            where = config.shared_state_dir
            raise UsageError(
                f"No catalog of {user} could be read"
                + (
                    f" under {where}."
                    if where
                    else ": the facility keeps no shared state "
                    "folder (shared_state_dir), so each user's catalog is in their home."
                ),
                next_step="Run this as root on a workstation whose facility configuration "
                "sets shared_state_dir; problems reading it are listed by 'cleanup'.",
            )
        return hints.catalog, hints.policy

    def _sources(self) -> list[CleanupSource]:
        """This user's own catalog, then (root) every other user's, as hints."""
        own = tuple(Path(d.path) for d in self._rt.settings.config.user.destinations)
        sources = [CleanupSource(self._rt.catalog, self._rt.settings.policy, None, own)]
        staff = self.staff_view()
        if staff is not None:
            sources += [
                CleanupSource(
                    u.catalog,
                    u.policy,
                    u.folder.uid,
                    tuple(Path(d.path) for d in u.owner_destinations),
                )
                for u in staff.users
            ]
        return sources

    def plan(self) -> CleanupPlan:
        """What retention makes candidates, in this user's catalog and, for root with a
        shared state folder, in every user's (each user's rows about their own files)."""
        rt = self._rt
        rt.recorder.flush()
        volumes = measure_volumes(rt.settings.config.acquisition_folders)
        items: list[CleanupItem] = []
        self._planned = {}
        for catalog, policy, _, _ in self._sources():
            plan = plan_cleanup(
                catalog,
                policy=policy,
                retention=rt.settings.retention,
                volumes=volumes,
                now=rt.clock(),
            )
            for item in self._keep_datasets(plan, catalog).items:
                if item.file.path not in self._planned:
                    self._planned[item.file.path] = catalog
                    items.append(item)
        # As each plan is ordered: deletions first, then kept files, oldest first in each.
        items.sort(key=lambda i: (i.action is Action.KEEP, i.candidate_date, str(i.file.path)))
        return CleanupPlan(created_at=rt.clock(), items=tuple(items))

    def problems(self) -> list[str]:
        """Users' catalogs staff's cleanup could not read (each costs only that user)."""
        staff = self.staff_view()
        return list(staff.problems) if staff is not None else []

    def apply(self, plan: CleanupPlan) -> CleanupResult:
        """Delete the plan's safe files after re-checking their copies, each against the
        catalog it was planned from."""
        rt = self._rt
        rt.recorder.flush()
        outcomes: list[CleanupOutcome] = []
        remotes = self._remote_copies()
        for source in self._sources():
            catalog = source.catalog
            mine = [i for i in plan.items if self._planned.get(i.file.path, rt.catalog) is catalog]
            if not mine:
                continue
            part = self._keep_datasets(CleanupPlan(plan.created_at, tuple(mine)), catalog)
            result = apply_cleanup(
                part,
                catalog,
                policy=source.policy,
                rules=self._evidence_rules(source),
                acquisition_roots=rt.settings.config.acquisition_folders,
                audit_log=rt.paths.audit_log,
                user=self._user,
                clock=rt.clock,
                remotes=remotes,
            )
            outcomes.extend(result.outcomes)
        return CleanupResult(tuple(outcomes), rt.paths.audit_log)

    def _remote_copies(self) -> RemoteCopies | None:
        """How this run proves remote copies: on the service's rclone daemon (opened the
        first time a remote copy is met), or ``None``: apply_cleanup's own session."""
        session_of = self._remote_session
        if session_of is None:
            return None
        return RemoteCopies(open_backend=lambda spec: session_of().open(spec))

    def _evidence_rules(self, source: CleanupSource) -> EvidenceRules:
        """What cleanup may believe of one catalog: a user's private catalog speaks only
        for that user's files (root's own is staff's: it speaks for anyone's); copies
        count in the facility's destinations and in those the file's owner configured."""
        me = _me()
        owner: Owner = source.owner_uid if source.owner_uid is not None else me
        staffs = source.owner_uid is None and is_superuser()
        roots = source.owner_roots
        config = self._rt.settings.config
        # Remote copies are proven with this user's own sign-in (their rclone config):
        # only for their own catalog, never for another user's (staff cannot sign in
        # as them, and a remote of the same name in staff's config is staff's account).
        mine = source.owner_uid is None
        facility_remotes = tuple(d.remote for d in config.facility_remotes) if mine else ()
        own_remotes = tuple(d.remote for d in config.user.remotes or ()) if mine else ()
        return EvidenceRules(
            catalog_owner_uid=None if staffs else owner,
            facility_destinations=tuple(Path(d.path) for d in config.facility_destinations),
            owner_destinations=lambda uid: roots if uid == owner else (),
            facility_remotes=facility_remotes,
            owner_remotes=lambda uid: own_remotes if uid == owner else (),
        )

    def close(self) -> None:
        with self._rt.lock:
            staff, self._staff = self._staff, None
        if staff is not None:
            staff.close()


def _me() -> Owner:
    """Who runs this cleanup, as the evidence rules name owners: the uid, or on Windows
    the user's SID (``st_uid`` says nothing there)."""
    if sys.platform == "win32":  # pragma: no cover - Windows only (the Windows lane runs it)
        from almc_assistant.core import winacl

        return winacl.user_sid()
    return os.geteuid()
