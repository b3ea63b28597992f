"""Preflight of a destination before copying: reachable, free space, file-system limits.

Thread contract: does I/O (stat, disk usage, mount table); call it from a worker or the
CLI, never from the GUI thread. :meth:`Service.preflight_async` runs it in a worker and
publishes the results as an event.

Limits checked: FAT32's 4 GiB file size; names Windows file systems and OneDrive reject
(characters, reserved names, trailing space or period); names that collide on a
case-insensitive file system; path and name length (Windows 260 without long paths,
255 per component, OneDrive 400 characters and 250 GB per file).
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path, PurePath

from almc_assistant.core.destinations import CloudProvider, Destination, DestinationKind

GIB = 1 << 30
FAT32_MAX = 4 * GIB - 1
ONEDRIVE_MAX_FILE = 250 * 10**9
ONEDRIVE_MAX_PATH = 400
WINDOWS_MAX_PATH = 260
MAX_COMPONENT = 255
_FREE_MARGIN = 1.02  # keep 2 % more than the copy needs

_WINDOWS_BAD = re.compile(r'[<>:"/\\|?*\x00-\x1f]')
_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$", re.IGNORECASE)
_ONEDRIVE_BAD_NAMES = re.compile(r"^(\.lock|desktop\.ini|_vti_.*|~\$.*)$", re.IGNORECASE)
_FAT = {"vfat", "msdos", "fat", "fat32", "fat16"}
_WINDOWS_FS = _FAT | {"exfat", "ntfs", "ntfs3", "fuseblk", "cifs", "smb3", "smbfs"}
_CASE_INSENSITIVE = _WINDOWS_FS | {"apfs", "hfs", "hfsplus"}


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
    """Sizes and destination-relative names (relative to the deepest acquisition root)."""
    out: list[PlannedFile] = []
    for f in files:
        base = max((r for r in roots if r in f.parents), key=lambda r: len(r.parts), default=None)
        rel = f.relative_to(base) if base is not None else PurePath(f.name)
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
    existing = _existing_ancestor(root)
    reachable = existing is not None and (existing == root or root.parent.exists())
    if existing is None or not reachable:
        issues.append(
            PreflightIssue(
                Severity.ERROR,
                f"{root} cannot be reached. Check that the drive is plugged in or the network "
                "share is connected (and that you are on the campus network or VPN).",
                (str(root),),
            )
        )
        return PreflightResult(destination, False, None, needed, "unknown", tuple(issues))
    free = _free_bytes(existing)
    if free is not None and needed * _FREE_MARGIN > free:
        issues.append(
            PreflightIssue(
                Severity.ERROR,
                f"Not enough free space on {root}: the copy needs {_human(needed)}, "
                f"{_human(free)} are free. Free space there or choose another destination.",
                (str(root),),
            )
        )
    fs = filesystem_type(existing)
    issues += _limits(destination, root, fs, files)
    issues += _kind_warnings(destination, files)
    return PreflightResult(destination, True, free, needed, fs, tuple(issues))


def _limits(
    dest: Destination, root: Path, fs: str, files: Sequence[PlannedFile]
) -> list[PreflightIssue]:
    issues: list[PreflightIssue] = []
    onedrive = dest.cloud_provider is CloudProvider.ONEDRIVE
    windowsy = fs in _WINDOWS_FS or sys.platform == "win32" or onedrive
    if fs in _FAT:
        big = [str(f.source) for f in files if f.size > FAT32_MAX]
        if big:
            issues.append(
                PreflightIssue(
                    Severity.ERROR,
                    f"{len(big)} file(s) are larger than 4 GiB, which a FAT32 drive cannot hold. "
                    "Use a drive formatted as exFAT or NTFS.",
                    tuple(big),
                )
            )
    if onedrive:
        big = [str(f.source) for f in files if f.size > ONEDRIVE_MAX_FILE]
        if big:
            issues.append(
                PreflightIssue(
                    Severity.ERROR,
                    f"{len(big)} file(s) are larger than 250 GB, the most OneDrive can sync. "
                    "Choose institutional or research storage for them.",
                    tuple(big),
                )
            )
    bad_names: list[str] = []
    too_long: list[str] = []
    limit = ONEDRIVE_MAX_PATH if onedrive else (WINDOWS_MAX_PATH if sys.platform == "win32" else 0)
    for f in files:
        parts = f.relative.parts
        if windowsy and any(
            _bad_windows_name(p) or (onedrive and _ONEDRIVE_BAD_NAMES.match(p)) for p in parts
        ):
            bad_names.append(str(f.source))
        full = len(str(root / f.relative))
        if any(len(p.encode()) > MAX_COMPONENT for p in parts) or (limit and full >= limit):
            too_long.append(str(f.source))
    if bad_names:
        issues.append(
            PreflightIssue(
                Severity.ERROR,
                f"{len(bad_names)} name(s) cannot be stored on {dest.name} ({fs}): characters "
                '< > : " / \\ | ? *, reserved names such as CON or NUL, or a trailing space or '
                "period. Rename them first.",
                tuple(bad_names),
            )
        )
    if too_long:
        what = f"{limit} characters" if limit else f"{MAX_COMPONENT} bytes per name"
        issues.append(
            PreflightIssue(
                Severity.ERROR,
                f"{len(too_long)} path(s) would be longer than {what} at {root}. Use a shorter "
                "destination folder or shorter names.",
                tuple(too_long),
            )
        )
    if fs in _CASE_INSENSITIVE or windowsy:
        seen: dict[str, PlannedFile] = {}
        clashes: list[str] = []
        for f in files:
            key = str(f.relative).casefold()
            if key in seen and seen[key].relative != f.relative:
                clashes += [str(seen[key].source), str(f.source)]
            seen.setdefault(key, f)
        if clashes:
            issues.append(
                PreflightIssue(
                    Severity.ERROR,
                    f"Names that differ only in upper/lower case would overwrite each other on "
                    f"{dest.name} ({fs} ignores case). Rename one of each pair.",
                    tuple(clashes),
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
    same = sorted({str(f.source) for f in files if _same_device(f.source, Path(dest.path))})
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


def _bad_windows_name(name: str) -> bool:
    return bool(_WINDOWS_BAD.search(name) or _RESERVED.match(name) or name[-1:] in {" ", "."})


def _same_device(a: Path, b: Path) -> bool:
    target = _existing_ancestor(b)
    try:
        return target is not None and a.stat().st_dev == target.stat().st_dev
    except OSError:
        return False


def _existing_ancestor(path: Path) -> Path | None:
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


def filesystem_type(path: Path) -> str:
    """The file-system type holding ``path`` (lower case), ``"unknown"`` when unsure."""
    try:  # the copy engine's detector, when it has landed (branch transfer)
        from almc_assistant.core.transfer import fslimits  # type: ignore[attr-defined]

        return str(fslimits.detect_filesystem(path)).lower()
    except (ImportError, AttributeError):
        pass
    if sys.platform.startswith("linux"):
        return _linux_fs(path)
    return "unknown"


def _linux_fs(path: Path) -> str:
    try:
        target = os.path.realpath(path)
        best, kind = "", "unknown"
        with open("/proc/self/mounts", encoding="utf-8") as fh:
            for line in fh:
                fields = line.split()
                if len(fields) < 3:
                    continue
                point = fields[1].replace("\\040", " ")
                inside = target == point or target.startswith(point.rstrip("/") + "/")
                if inside and len(point) >= len(best):
                    best, kind = point, fields[2]
        return kind.lower()
    except OSError:
        return "unknown"


def _human(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"
