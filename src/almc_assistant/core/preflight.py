"""Preflight of a destination before copying: reachable, free space, file-system limits.

Thread contract: does I/O (stat, disk usage, mount table); call it from a worker or the
CLI, never from the GUI thread. ``Service.preflight`` runs it in a worker and
publishes the results as an event.

Limits checked (with the copy engine's rules, :mod:`almc_assistant.core.fslimits`):
FAT32's 4 GiB file size; names Windows file systems and OneDrive reject (characters,
reserved names, trailing space or period); names that collide on a case-insensitive file
system; path and name length (255 per component, OneDrive 400 characters and 250 GB per
file). Plus what the copy engine does not judge: reachability, free space, and the
facility's guidance on the kind of destination.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path, PurePath

from almc_assistant.core.destinations import CloudProvider, Destination, DestinationKind
from almc_assistant.core.fslimits import (
    FileSystemInfo,
    case_collisions,
    detect_filesystem,
    name_problems,
    onedrive_profile,
    size_problem,
)
from almc_assistant.core.layout import relative_destinations
from almc_assistant.core.transfer.mounts import not_mounted
from almc_assistant.core.units import human_size

_FREE_MARGIN = 1.02  # keep 2 % more than the copy needs


class Severity(StrEnum):
    ERROR = "error"  # the copy would fail or lose data: refused
    WARNING = "warning"  # the copy works but the data may not be safe


@dataclass(frozen=True, slots=True)
class PreflightIssue:
    severity: Severity
    message: str
    paths: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PreflightResult:
    """What a destination can and cannot take, before anything is copied."""

    destination: Destination
    reachable: bool
    free_bytes: int | None
    needed_bytes: int
    filesystem: str
    issues: tuple[PreflightIssue, ...]

    @property
    def ok(self) -> bool:
        return not any(i.severity is Severity.ERROR for i in self.issues)


@dataclass(frozen=True, slots=True)
class PlannedFile:
    """A file to copy: its size and the name it gets under the destination."""

    source: Path
    size: int
    relative: PurePath


def plan_files(files: Sequence[Path], roots: Sequence[Path] = ()) -> list[PlannedFile]:
    """Sizes and destination-relative names (:func:`~almc_assistant.core.layout.
    relative_destinations`: the engine copies with the same rule)."""
    out: list[PlannedFile] = []
    for f, place in zip(files, relative_destinations(files, roots), strict=True):
        rel = PurePath(place)
        try:
            size = f.stat().st_size
        except OSError:
            size = 0
        out.append(PlannedFile(f, size, rel))
    return out


def preflight(destination: Destination, files: Sequence[PlannedFile]) -> PreflightResult:
    """Check one destination for these files (I/O: call from a worker)."""
    issues: list[PreflightIssue] = []
    root = Path(destination.path)
    needed = sum(f.size for f in files)
    if destination.is_remote:  # reached, checked and probed when the copy opens it
        issues += _kind_warnings(destination, files)
        return PreflightResult(destination, True, None, needed, "remote", tuple(issues))
    existing = existing_ancestor(root)
    # A configured root that does not exist is not reachable (never created: an unplugged
    # drive's mount point would become a folder on the system disk), nor is one below a
    # mount-point container whose drive is not mounted (core.transfer.mounts).
    unmounted = not_mounted(root)
    reachable = existing is not None and existing == root and unmounted is None
    if existing is None or not reachable:
        issues.append(
            PreflightIssue(
                Severity.ERROR,
                f"{root} is not reachable{f' ({unmounted})' if unmounted else ''}: is the "
                "drive plugged in, the share mounted? (On a network share: are you on the "
                "campus network or VPN?) Nothing is written until it is.",
                (str(root),),
            )
        )
        return PreflightResult(destination, False, None, needed, "unknown", tuple(issues))
    free = _free_bytes(existing)
    if free is not None and needed * _FREE_MARGIN > free:
        issues.append(
            PreflightIssue(
                Severity.ERROR,
                f"Not enough free space on {root}: the copy needs {human_size(needed)}, "
                f"{human_size(free)} are free. Free space there or choose another destination.",
                (str(root),),
            )
        )
    fs = filesystem_of(destination, existing)
    issues += _limits(destination, root, fs, files)
    issues += _kind_warnings(destination, files)
    return PreflightResult(destination, True, free, needed, fs.label, tuple(issues))


def _limits(
    dest: Destination, root: Path, fs: FileSystemInfo, files: Sequence[PlannedFile]
) -> list[PreflightIssue]:
    """File-system limits, with the copy engine's rules (:mod:`core.fslimits`)."""
    issues: list[PreflightIssue] = []
    too_big = [(f, p) for f in files if (p := size_problem(f.size, fs))]
    if too_big:
        issues.append(
            PreflightIssue(
                Severity.ERROR,
                f"{len(too_big)} file(s) cannot be stored on {dest.name}: {too_big[0][1]}. "
                + (
                    "Use a drive formatted as exFAT or NTFS."
                    if fs.type in {"vfat", "msdos"}
                    else "Choose institutional or research storage for them."
                ),
                tuple(str(f.source) for f, _ in too_big),
            )
        )
    bad = [(f, n) for f in files if (n := name_problems(f.relative.as_posix(), fs, root=root))]
    if bad:
        issues.append(
            PreflightIssue(
                Severity.ERROR,
                f"{len(bad)} name(s) cannot be stored on {dest.name} ({fs.label}), e.g. "
                f"{bad[0][1][0]}. Rename them or use shorter folder names first.",
                tuple(str(f.source) for f, _ in bad),
            )
        )
    if not fs.case_sensitive:
        by_rel = {f.relative.as_posix(): f for f in files}
        clashes = case_collisions(by_rel)
        if clashes:
            issues.append(
                PreflightIssue(
                    Severity.ERROR,
                    f"Names that differ only in upper/lower case would overwrite each other on "
                    f"{dest.name} ({fs.label} ignores case). Rename one of each pair.",
                    tuple(str(by_rel[r].source) for pair in clashes for r in pair),
                )
            )
    return issues


def _kind_warnings(dest: Destination, files: Sequence[PlannedFile]) -> list[PreflightIssue]:
    out: list[PreflightIssue] = []
    if dest.kind is DestinationKind.CLOUD_SYNC or dest.cloud_provider is not None:
        out.append(
            PreflightIssue(
                Severity.WARNING,
                f"{dest.name} is a cloud-sync folder: the copies stay 'pending upload' until the "
                "sync client has uploaded them. Leave the computer on and signed in.",
            )
        )
    if dest.university_managed:
        out.append(
            PreflightIssue(
                Severity.WARNING,
                f"{dest.name} belongs to a university-managed account, which is deleted when you "
                "leave: keep another copy elsewhere.",
            )
        )
    if dest.kind in (DestinationKind.EXTERNAL_DRIVE, DestinationKind.RESEARCH):
        out.append(PreflightIssue(Severity.WARNING, f"{dest.name}: {dest.info.guidance}"))
    same = sorted(
        {
            str(f.source)
            for f in files
            if not dest.is_remote and _same_device(f.source, Path(dest.path))
        }
    )
    if same:
        out.append(
            PreflightIssue(
                Severity.WARNING,
                f"{dest.name} is on the same disk as {len(same)} of the files: a copy there is "
                "not a backup.",
                tuple(same),
            )
        )
    return out


def _same_device(a: Path, b: Path) -> bool:
    target = existing_ancestor(b)
    try:
        return target is not None and a.stat().st_dev == target.stat().st_dev
    except OSError:
        return False


def existing_ancestor(path: Path) -> Path | None:
    """``path`` or its nearest folder that exists (where a copy there would be stored)."""
    for p in (path, *path.parents):
        try:
            if p.is_dir():
                return p
        except OSError:
            return None
    return None


def _free_bytes(path: Path) -> int | None:
    try:
        return shutil.disk_usage(path).free
    except OSError:
        return None


def filesystem_of(dest: Destination, existing: Path) -> FileSystemInfo:
    """The limits that apply at ``existing``; OneDrive's on top in a OneDrive folder."""
    fs = detect_filesystem(existing)
    if dest.cloud_provider is CloudProvider.ONEDRIVE and fs.profile != "onedrive":
        fs = onedrive_profile(fs)
    return fs
