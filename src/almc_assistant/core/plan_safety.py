"""What a planned copy would count for under the facility's policy, said as a plan.

Thread contract: :func:`plan_safety` does I/O (it stats the files and the destinations to
know which disks they are on): call it from a worker. ``Service.preflight`` does, and
publishes the answer with the preflight results (``PreflightFinished.safety``).

The decision is the policy's (:meth:`Policy.would_be_safe` and :meth:`Policy.standing`):
this module does not count copies itself. It leaves out of the question the destinations
on the same disk as the files (a copy there is not a backup: one disk failure loses
both) and all but one of the destinations on one disk (they count once, as the README
says), and words the answer as a plan: before anything is copied nothing "has" a copy.
When the policy learns to count copies per device itself (issue 9), the same-disk filter
here can go and the policy be asked with the sources.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from almc_assistant.core.copies import CopyRecord
from almc_assistant.core.destinations import Destination
from almc_assistant.core.policy import Policy, remote_device
from almc_assistant.core.preflight import existing_ancestor


@dataclass(frozen=True, slots=True)
class PlanSafety:
    """Whether copies to the chosen destinations, once verified, would make the files
    safe; which of them would count and why the others would not."""

    safe: bool
    requirement: str  # what the policy asks for, in plain words
    counted: tuple[str, ...] = ()  # destination names whose copies would count
    not_counted: tuple[str, ...] = ()  # "<name>: why not", in plain words

    def after_copying(self) -> str:
        """``after copying: 1 copy that counts, on My drive`` (no claim of a copy yet)."""
        n = len(self.counted)
        if not n:
            return "after copying: no copy that counts"
        copies = "1 copy that counts" if n == 1 else f"{n} copies that count"
        return f"after copying: {copies}, on {', '.join(self.counted)}"


def _devices(files: Sequence[Path]) -> set[int]:
    devices: set[int] = set()
    for f in files:
        try:
            devices.add(f.stat().st_dev)
        except OSError:
            continue
    return devices


def _device(destination: Destination) -> int | None:
    if destination.remote:  # never a folder here (its path is the folder on the remote)
        return remote_device(destination.remote)
    where = existing_ancestor(Path(destination.path))
    try:
        return None if where is None else where.stat().st_dev
    except OSError:
        return None


def plan_safety(
    policy: Policy, files: Sequence[Path], destinations: Sequence[Destination]
) -> PlanSafety:
    """Ask ``policy`` what copies of ``files`` to ``destinations`` would count for."""
    sources = _devices(files)
    counted: list[Destination] = []
    not_counted: list[str] = []
    disks: dict[int, Destination] = {}  # device -> the destination counted on it
    for d in destinations:
        device = _device(d)
        if device in sources:
            not_counted.append(
                f"{d.name}: on the same disk as your files, so a copy there is not a backup"
            )
            continue
        if device is not None and device in disks:
            not_counted.append(
                f"{d.name}: on the same disk as {disks[device].name}; copies on one disk count once"
            )
            continue
        planned = CopyRecord(
            source=Path(d.path),
            destination_root=d.root,
            path=d.root,
            size=0,
            mtime_ns=0,
            blake3="",
            verified_at=0.0,
        )
        standing = policy.standing(planned)
        if not standing.counts:
            not_counted.append(
                f"{d.name}: a cloud-sync folder; copies there stay 'pending upload' until the "
                "sync client has uploaded them, and the facility does not count them before"
            )
            continue
        if device is not None:
            disks[device] = d
        counted.append(d)
    return PlanSafety(
        safe=bool(counted) and not policy.would_be_safe(counted),
        requirement=policy.requirement(),
        counted=tuple(d.name for d in counted),
        not_counted=tuple(not_counted),
    )
