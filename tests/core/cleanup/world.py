"""A real workstation for cleanup tests: each disk its own tmpfs, a real catalog.

``mount_tmpfs`` needs root (tests using it are ``@pytest.mark.root`` and skip cleanly
otherwise); every mount is unmounted when the test ends.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import blake3
import pytest

from almc_assistant.core.catalog import Catalog, FileState
from almc_assistant.core.cleanup import (
    Action,
    CleanupPlan,
    CleanupResult,
    apply_cleanup,
    plan_cleanup,
)
from almc_assistant.core.config import PolicySettings, RetentionSettings
from almc_assistant.core.copies import CopyRecord
from almc_assistant.core.destinations import Destination, DestinationKind
from almc_assistant.core.evidence import EvidenceRules
from almc_assistant.core.policy import DAY, Policy, Retention
from almc_assistant.core.status import VolumeUsage
from tests.disks import mount_tmpfs, unmount
from tests.portable import IS_ROOT

NOW = 1_800_000_000.0


@contextmanager
def tmpfs_mounts() -> Iterator[list[Path]]:
    """Yields a list; :func:`mount` appends to it; everything is unmounted at the end."""
    if not IS_ROOT:
        pytest.skip("needs root to mount tmpfs disks (each its own device)")
    mounted: list[Path] = []
    try:
        yield mounted
    finally:
        for mnt in reversed(mounted):
            unmount(mnt)


def mount(mounted: list[Path], point: Path) -> Path:
    mounted.append(mount_tmpfs(point))
    return point


def digest(data: bytes) -> str:
    return blake3.blake3(data).hexdigest()


class World:
    """Acquisition disk ``acq`` (a folder ``acq/data`` is the acquisition folder), an
    institutional destination ``bit`` and two external drives ``ext`` and ``lab``, each
    its own tmpfs; all facility destinations."""

    def __init__(self, base: Path, mounted: list[Path]) -> None:
        self.disk = mount(mounted, base / "acqdisk")
        self.acq = self.disk / "data"
        self.acq.mkdir()
        self.bit = mount(mounted, base / "bit")
        self.ext = mount(mounted, base / "ext")
        self.lab = mount(mounted, base / "lab")
        self.destinations = [
            Destination("BIT", self.bit, DestinationKind.INSTITUTIONAL, "facility"),
            Destination("USB", self.ext, DestinationKind.EXTERNAL_DRIVE, "facility"),
            Destination("LAB", self.lab, DestinationKind.EXTERNAL_DRIVE, "facility"),
        ]
        self.retention = Retention(RetentionSettings(max_age_days=30, disk_full_percent=90))
        self.now = NOW - 40 * DAY
        self.rules = EvidenceRules(None, tuple(Path(d.path) for d in self.destinations))
        self.policy = self.make_policy()
        self.catalog = Catalog(
            base / "state" / "c.sqlite3",  # its own folder: the catalog makes it private
            safety=lambda copies: self.policy.is_safe(copies),
            safety_key=self.policy.key,
            clock=lambda: self.now,
        )
        self.audit = base / "log" / "audit.log"
        self.before_unlink: Callable[[Path], None] | None = None

    def make_policy(self, **settings: object) -> Policy:
        return Policy(
            PolicySettings(**settings),  # type: ignore[arg-type]
            self.destinations,
            acquisition_roots=[self.acq],
        )

    def add_destination(self, path: Path, kind: DestinationKind) -> None:
        self.destinations.append(Destination(path.name, path, kind, "facility"))
        self.rules = EvidenceRules(None, tuple(Path(d.path) for d in self.destinations))
        self.policy = self.make_policy()

    def acquire(
        self, name: str, data: bytes | None, *, days_ago: float = 40, owner: str = "ann"
    ) -> Path:
        path = self.acq / name
        if data is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        when = NOW - days_ago * DAY
        os.utime(path, (when, when))
        self.now = when
        st = path.stat()
        self.catalog.record_seen(
            path,
            size=st.st_size,
            mtime_ns=st.st_mtime_ns,
            owner=owner,
            state=FileState.COMPLETE,
            root=self.acq,
        )
        return path

    def copy_to(self, src: Path, root: Path, name: str | None = None) -> Path:
        """A genuine copy of ``src`` under ``root``, recorded as the copy engine does."""
        dest = root / (name or src.name)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(src.read_bytes())
        self.record(src, root, dest, digest(src.read_bytes()))
        return dest

    def record(self, src: Path, root: Path, dest: Path, blake: str) -> None:
        st = src.stat()
        self.catalog.record_copy(
            CopyRecord(
                source=src,
                destination_root=root,
                path=dest,
                size=st.st_size,
                mtime_ns=st.st_mtime_ns,
                blake3=blake,
                verified_at=NOW - DAY,
            ),
            owner="ann",
        )

    def plan(self, volumes: tuple[VolumeUsage, ...] | None = None) -> CleanupPlan:
        if volumes is None:
            volumes = (VolumeUsage(self.acq, True, total=10**12, used=10**9, free=10**12),)
        return plan_cleanup(
            self.catalog, policy=self.policy, retention=self.retention, volumes=volumes, now=NOW
        )

    def forced(self) -> CleanupPlan:
        """The plan with every candidate marked for deletion: a stale plan, or one made
        from forged rows; the apply step must still refuse what is not proven."""
        items = tuple(replace(i, action=Action.DELETE) for i in self.plan().items)
        return replace(self.plan(), items=items)

    def apply(self, plan: CleanupPlan | None = None) -> CleanupResult:
        return apply_cleanup(
            plan if plan is not None else self.plan(),
            self.catalog,
            policy=self.policy,
            rules=self.rules,
            acquisition_roots=[self.acq],
            audit_log=self.audit,
            user="staff",
            before_unlink=self.before_unlink,
            clock=lambda: NOW,
        )
