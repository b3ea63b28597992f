"""Checks before a single byte is copied: destinations usable, space enough, names legal.

Thread contract: runs on the job thread before the workers start.

Per destination: it exists and its drive is mounted (only the command line's ``copy --to
NEW`` creates a missing last folder, and never inside a mount-point container such as
``/media``: a missing drive must not turn into a folder on the system disk), is a
folder, can be written, and has room for every file not already verified there. Per
file and destination: the name, the path length and the size fit the destination's file
system (:mod:`almc_assistant.core.fslimits`), and no two files collide on a
case-insensitive file system. Refused files are reported with the reason; the others go.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path, PurePath

from almc_assistant.core.errors import AlmcError
from almc_assistant.core.fslimits import case_collisions, name_problems, size_problem
from almc_assistant.core.transfer.destination import JobDestination
from almc_assistant.core.transfer.mounts import is_container, not_mounted
from almc_assistant.core.transfer.scan import FileTask
from almc_assistant.core.transfer.targets import OnConflict, Target, plan_target
from almc_assistant.core.units import human_size

SPACE_MARGIN = 1 << 20  # manifest and receipt


@dataclass(slots=True)
class OpenedDestinations:
    """The destinations a job opened, those refused, and the files each cannot take."""

    destinations: list[JobDestination] = field(default_factory=list)
    refused: list[tuple[PurePath, AlmcError]] = field(default_factory=list)  # remote: posix
    # (file, destination, reason) pairs that will not be copied
    file_problems: list[tuple[FileTask, JobDestination, str]] = field(default_factory=list)


def open_destination(root: Path, *, create: bool = False) -> JobDestination:
    """The destination at ``root``, ready for copying, or an :class:`AlmcError` why not.

    A missing root is created only when ``create`` (the command line's ``copy --to NEW``)
    and its parent is an ordinary folder, not a mount-point container such as ``/media``
    (:mod:`mounts`); a root below a container whose drive is not mounted is refused."""
    unplugged = _refuse(
        root,
        "it does not exist, so it is not reachable: is the drive plugged in, the share mounted?",
        "Connect the drive or mount the share, then try again. Nothing was written.",
    )
    if (why := not_mounted(root)) is not None:
        raise _refuse(
            root,
            f"it is not reachable ({why}): is the drive plugged in, the share mounted?",
            unplugged.next_step,
        )
    if not root.exists():
        if not create or not root.parent.is_dir() or root.parent == root:
            raise unplugged
        if is_container(root.parent):
            raise unplugged
        try:
            root.mkdir()
        except OSError as exc:
            why = f"it does not exist and could not be created ({exc.strerror})"
            raise _refuse(root, why) from exc
    if not root.is_dir():
        raise _refuse(root, "it is not a folder")
    if not os.access(root, os.W_OK | os.X_OK):
        raise _refuse(root, "it cannot be written (read-only drive or no permission)")
    dest = JobDestination(root)
    if dest.fs.pending_upload and not _visible_while_open(root):
        raise _refuse(
            root,
            f"{dest.fs.pending_upload}; moreover a file written there is not visible until "
            "it is closed (rclone mount --vfs-cache-mode off), so a copy cannot be read "
            "back at all",
            "Mount it with --vfs-cache-mode writes (copies are then 'pending upload'), or "
            "copy to the remote with rclone itself.",
        )
    return dest


def _visible_while_open(root: Path) -> bool:
    """Whether a file being written at ``root`` can be opened for reading (not so on
    ``rclone mount --vfs-cache-mode off``: it appears when closed)."""
    probe = root / f".almc-probe-{secrets.token_hex(6)}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return True  # the copy will report the real error
    try:
        os.write(fd, b"probe")
        try:
            os.close(os.open(probe, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)))
        except FileNotFoundError:
            return False
        return True
    finally:
        os.close(fd)
        with contextlib.suppress(OSError):
            probe.unlink()


def _refuse(root: Path, why: str, next_step: str = "") -> AlmcError:
    return AlmcError(
        f"Cannot copy to {root}: {why}.",
        title=f"Destination not usable: {root}",
        next_step=next_step or "Check the destination and try again.",
        paths=(root,),
    )


def open_destinations(
    files: list[FileTask], roots: list[Path], policy: OnConflict, *, create: bool = False
) -> OpenedDestinations:
    out = OpenedDestinations()
    for root in roots:
        try:
            dest = open_destination(root, create=create)
        except AlmcError as err:
            out.refused.append((root, err))
            continue
        problems = _file_problems(files, dest)
        out.file_problems.extend((f, dest, why) for f, why in problems)
        refused = {id(f) for f, _ in problems}
        free = dest.free_bytes if dest.free_bytes is not None else shutil.disk_usage(root).free
        needed = sum(f.size for f in files if id(f) not in refused)
        if needed and needed + SPACE_MARGIN > free:  # an upper bound; exact only when short:
            needed = _needed(files, refused, dest, policy)  # a look-up per file (round trips)
        if needed and needed + SPACE_MARGIN > free:
            out.refused.append(
                (
                    root,
                    _refuse(
                        root,
                        f"not enough free space: this copy needs {human_size(needed)}, "
                        f"only {human_size(free)} are free",
                        "Free space there, choose another destination, or copy fewer files.",
                    ),
                )
            )
            dest.manifest.close()
            continue
        out.destinations.append(dest)
    return out


def _needed(
    files: list[FileTask], refused: set[int], dest: JobDestination, policy: OnConflict
) -> int:
    """Bytes to write to ``dest``: the files not refused and not already there."""
    needed = 0
    for f in files:
        if id(f) not in refused:
            planned = plan_target(f, dest, policy)
            if isinstance(planned, Target) and not planned.adopt:
                needed += f.size
    return needed


def _file_problems(files: list[FileTask], dest: JobDestination) -> list[tuple[FileTask, str]]:
    fs = dest.fs
    out: list[tuple[FileTask, str]] = []
    for f in files:
        reasons = name_problems(f.relpath, fs, root=dest.root)
        if (too_big := size_problem(f.size, fs)) is not None:
            reasons.append(too_big)
        if reasons:
            out.append((f, "; ".join(reasons)))
    if not fs.case_sensitive:
        by_rel = {f.relpath: f for f in files}
        for first, later in case_collisions(f.relpath for f in files):
            out.append(
                (
                    by_rel[later],
                    f"'{later}' and '{first}' would be the same file on {fs.label}, "
                    "which ignores upper/lower case",
                )
            )
    return out
