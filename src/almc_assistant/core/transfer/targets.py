"""Decide, per file and destination, what to do: copy, adopt, skip, or refuse.

Thread contract: pure decisions on the current state of the destination; called from
workers right before a file is copied (so the state is fresh).

- No file at the final name: copy there.
- The final name reaches the source itself (same device and inode: a copy onto itself,
  through an alias): refused, nothing is written.
- A regular file of the source's size (listed in the manifest or not): candidate to
  **adopt**; it is read back from storage and kept when its BLAKE3 matches the
  source's (counted "already verified" when the manifest listed those bytes), otherwise
  handled as a conflict. A manifest line, a size and an mtime are never proof alone.
- A different file (or a link, a folder, a FIFO): ``keep-both`` copies to
  ``name (almc copy N).ext`` (adopting an identical one found there on the next run),
  ``skip`` leaves it, ``fail`` reports it. Nothing is ever overwritten.
"""

from __future__ import annotations

import enum
import os
import stat
from dataclasses import dataclass
from pathlib import Path, PurePath

from almc_assistant.core.identity import FileIdentity
from almc_assistant.core.transfer.destination import JobDestination
from almc_assistant.core.transfer.faults import CopyError
from almc_assistant.core.transfer.naming import conflict_name
from almc_assistant.core.transfer.remote_dest import RemoteDestination, plan_remote
from almc_assistant.core.transfer.scan import FileTask


class OnConflict(enum.StrEnum):
    KEEP_BOTH = "keep-both"
    SKIP = "skip"
    FAIL = "fail"


@dataclass(frozen=True, slots=True, eq=False)  # identity: a dictionary key in hot paths
class Target:
    dest: JobDestination | RemoteDestination
    final: PurePath  # a local Path; on a remote a PurePosixPath (``remotepaths``)
    relpath: str
    adopt: bool = False  # same-size file already there: read it back instead of writing
    refused: frozenset[PurePath] = frozenset()  # names found to hold other bytes

    @property
    def remote(self) -> bool:
        """A remote destination (through its backend), not a folder here."""
        return isinstance(self.dest, RemoteDestination)


@dataclass(frozen=True, slots=True)
class NothingToDo:
    dest: JobDestination | RemoteDestination
    final: PurePath
    reason: str


def _rel(final: Path, dest: JobDestination) -> str:
    return final.relative_to(dest.root).as_posix()


def _is_source(task: FileTask, st: os.stat_result) -> bool:
    return task.identity is not None and FileIdentity.of(st).same_file(task.identity)


def onto_itself(task: FileTask, dest: JobDestination, final: Path) -> CopyError:
    return CopyError(
        f"{final} is {task.source} itself (the same file on the same device): a copy "
        "onto itself is not a copy. Nothing was written.",
        title=f"{task.source.name} would be copied onto itself",
        next_step="Choose a destination on another drive or folder than the source.",
        paths=(task.source, final),
    )


def plan_target(
    task: FileTask,
    dest: JobDestination | RemoteDestination,
    policy: OnConflict,
    *,
    refused: frozenset[PurePath] = frozenset(),
) -> Target | NothingToDo | CopyError:
    """What to do with ``task`` at ``dest``. ``refused``: names found to hold other bytes
    (when adopting or settling failed)."""
    if isinstance(dest, RemoteDestination):
        planned = plan_remote(task, dest, policy.value, refused)
        if isinstance(planned, tuple):
            rel, adopt = planned
            return Target(dest, dest.root / rel, rel, adopt=adopt, refused=refused)
        if isinstance(planned, str):
            return NothingToDo(dest, dest.root / task.relpath, planned)
        return planned
    relfolder, _, name = task.relpath.rpartition("/")
    folder = dest.folder_path(relfolder)  # one Path per folder: its hash is kept
    final = folder / name
    if dead := dest.dead:
        return CopyError(
            f"{task.source} was not copied to {dest.root}: {dead.detail}",
            title=dead.title,
            next_step=dead.next_step,
            paths=(task.source, dest.root),
        )
    listings = dest.listings  # a share: its folders are listed once (not a refused name)
    fresh = not refused or final not in refused  # (hashing a new path is not free)
    if listings is not None and fresh and listings.surely_absent(final, folder):
        return Target(dest, final, task.relpath, refused=refused)
    try:
        st = os.lstat(final)
    except OSError:  # missing; or the copy will report the real error
        return Target(dest, final, task.relpath, refused=refused)
    if _is_source(task, st):
        return onto_itself(task, dest, final)
    if fresh and _adoptable(task, st):
        return Target(dest, final, task.relpath, adopt=True, refused=refused)
    return _conflict(task, dest, final, policy, refused | {final})


def _adoptable(task: FileTask, st: os.stat_result) -> bool:
    return stat.S_ISREG(st.st_mode) and st.st_size == task.size


def _conflict(
    task: FileTask,
    dest: JobDestination,
    final: Path,
    policy: OnConflict,
    refused: frozenset[PurePath],
) -> Target | NothingToDo | CopyError:
    if policy is OnConflict.SKIP:
        return NothingToDo(dest, final, f"a different file already exists at {final}")
    if policy is OnConflict.FAIL:
        return CopyError(
            f"A different file already exists at {final}; it was not overwritten and "
            f"{task.source} was not copied.",
            title=f"{final.name} already exists",
            next_step="Move or rename the existing file, or copy with --on-conflict keep-both.",
            paths=(task.source, final),
        )
    n = 2
    while True:
        candidate = conflict_name(final, n)
        n += 1
        if candidate in refused:
            continue
        try:
            st = os.lstat(candidate)
        except OSError:
            return Target(dest, candidate, _rel(candidate, dest), refused=refused)
        if _is_source(task, st):
            return onto_itself(task, dest, candidate)
        if _adoptable(task, st):
            return Target(dest, candidate, _rel(candidate, dest), adopt=True, refused=refused)
