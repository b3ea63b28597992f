"""Decide, per file and destination, what to do: copy, adopt, skip, or refuse.

Thread contract: pure decisions on the current state of the destination; called from
workers right before a file is copied (so the state is fresh).

- No file at the final name: copy there.
- The manifest lists the path and the file there has the source's size and modification
  time: already verified, nothing to do (this is what makes a rerun fast).
- A file of the same size but unknown: candidate to **adopt**; it is read back and kept
  when its BLAKE3 matches the source's, otherwise handled as a conflict.
- A different file: ``keep-both`` copies to ``name (almc copy N).ext`` (and recognises
  that name as already verified on the next run), ``skip`` leaves it, ``fail`` reports it.
  Nothing is ever overwritten.
"""

from __future__ import annotations

import enum
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from almc_assistant.core.transfer.destination import Destination
from almc_assistant.core.transfer.events import ALREADY_VERIFIED
from almc_assistant.core.transfer.faults import CopyError
from almc_assistant.core.transfer.naming import conflict_name
from almc_assistant.core.transfer.scan import FileTask


class OnConflict(enum.StrEnum):
    KEEP_BOTH = "keep-both"
    SKIP = "skip"
    FAIL = "fail"


@dataclass(frozen=True, slots=True, eq=False)  # identity: a dictionary key in hot paths
class Target:
    dest: Destination
    final: Path
    relpath: str
    adopt: bool = False  # same-size file already there: read it back instead of writing


@dataclass(frozen=True, slots=True)
class NothingToDo:
    dest: Destination
    final: Path
    reason: str


def _rel(final: Path, dest: Destination) -> str:
    return final.relative_to(dest.root).as_posix()


def _trusted(task: FileTask, dest: Destination, final: Path, st: os.stat_result) -> bool:
    digest = dest.manifest.lookup(_rel(final, dest))
    return (
        digest is not None
        and stat.S_ISREG(st.st_mode)
        and st.st_size == task.size
        and abs(st.st_mtime_ns - task.mtime_ns) <= dest.fs.mtime_resolution_ns
    )


def plan_target(
    task: FileTask, dest: Destination, policy: OnConflict, *, refuse_final: bool = False
) -> Target | NothingToDo | CopyError:
    """What to do with ``task`` at ``dest``. ``refuse_final``: the final name is taken by
    a different file (found out when adopting failed)."""
    final = dest.root.joinpath(*task.relpath.split("/"))
    if dead := dest.dead:
        return CopyError(
            f"{task.source} was not copied to {dest.root}: {dead.detail}",
            title=dead.title,
            next_step=dead.next_step,
            paths=(task.source, dest.root),
        )
    try:
        st = os.lstat(final)
    except FileNotFoundError:
        return Target(dest, final, task.relpath)
    except OSError:
        return Target(dest, final, task.relpath)  # the copy will report the real error
    if not refuse_final:
        if _trusted(task, dest, final, st):
            return NothingToDo(dest, final, ALREADY_VERIFIED)
        if stat.S_ISREG(st.st_mode) and st.st_size == task.size:
            return Target(dest, final, task.relpath, adopt=True)
    return _conflict(task, dest, final, policy)


def _conflict(
    task: FileTask, dest: Destination, final: Path, policy: OnConflict
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
        try:
            st = os.lstat(candidate)
        except FileNotFoundError:
            return Target(dest, candidate, _rel(candidate, dest))
        except OSError:
            return Target(dest, candidate, _rel(candidate, dest))
        if _trusted(task, dest, candidate, st):
            return NothingToDo(dest, candidate, ALREADY_VERIFIED)
        n += 1
