"""Testing a folder before it is used: reachable, readable or writable, free space, file system.

Thread contract: does I/O (stat, a probe file, disk usage, the mount table): call it from a
worker or the command line, never from the GUI thread. Values returned are immutable.

The welcome window tests each acquisition folder and each destination with this before
saving them. An acquisition folder is only read (never written: users' data is sacred);
a destination gets a hidden probe file, written and removed, since copies must be written
there. Free space and the file system come from :mod:`almc_assistant.core.preflight`
(the same words as before a copy), and a destination's kind adds the facility's guidance.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from almc_assistant.core.destinations import Destination
from almc_assistant.core.errors import describe_os_error
from almc_assistant.core.fslimits import detect_filesystem
from almc_assistant.core.preflight import IssueSeverity, preflight
from almc_assistant.core.units import human_size

PROBE_PREFIX = ".almc-write-test-"


@dataclass(frozen=True, slots=True)
class LocationCheck:
    """What one test found; ``ok`` when the folder can be used as asked."""

    path: Path
    role: str  # "acquisition folder" or "destination"
    reachable: bool
    usable: bool  # readable (acquisition folder) or writable (destination)
    free_bytes: int | None
    filesystem: str
    notes: tuple[str, ...]  # problems (first) and guidance, in words with a next step

    @property
    def ok(self) -> bool:
        return self.reachable and self.usable

    def summary(self) -> str:
        """One line: ``/data: reachable, writable, 1.2 TB free, ext4``."""
        if not self.reachable:
            return f"{self.path}: cannot be reached"
        verb = "writable" if self.role == "destination" else "readable"
        facts = [f"{verb}" if self.usable else f"not {verb}"]
        if self.free_bytes is not None:
            facts.append(f"{human_size(self.free_bytes)} free")
        facts.append(self.filesystem)
        return f"{self.path}: reachable, {', '.join(facts)}"


def check_acquisition_folder(path: Path) -> LocationCheck:
    """Can the watcher read ``path``? (Nothing is written there.)"""
    role = "acquisition folder"
    if not path.is_absolute():
        return _unreachable(path, role, "Give the full path of the folder.")
    if not path.is_dir():
        what = "is not a folder" if path.exists() else "does not exist"
        return _unreachable(
            path, role, f"{path} {what}. Check the path, or that its disk is connected."
        )
    try:
        with os.scandir(path) as entries:
            next(entries, None)
    except OSError as exc:
        err = describe_os_error(exc, action="list", path=path)
        return LocationCheck(
            path, role, True, False, None, "unknown", (f"{err.detail} {err.next_step}",)
        )
    free = _free(path)
    fs = detect_filesystem(path).label
    return LocationCheck(path, role, True, True, free, fs, ())


def check_destination(destination: Destination) -> LocationCheck:
    """Can copies be written to ``destination``? A probe file is written and removed."""
    role = "destination"
    result = preflight(destination, [])
    path = Path(destination.path)
    notes = [i.message for i in result.issues if i.severity is IssueSeverity.ERROR]
    if not result.reachable:
        return LocationCheck(path, role, False, False, None, "unknown", tuple(notes))
    writable, why = _probe_write(path)
    if not writable:
        notes.append(why)
    # The warnings say what they say before a copy; the kind's guidance, once.
    notes += [i.message for i in result.issues if i.severity is IssueSeverity.WARNING]
    if not any(destination.info.guidance in n for n in notes):
        notes.append(destination.info.guidance)
    return LocationCheck(
        path, role, True, writable, result.free_bytes, result.filesystem, tuple(notes)
    )


def _probe_write(folder: Path) -> tuple[bool, str]:
    if not folder.is_dir():
        return False, f"{folder} does not exist yet; create it, or choose an existing folder."
    try:
        fd, name = tempfile.mkstemp(prefix=PROBE_PREFIX, dir=folder)
        try:
            os.write(fd, b"almc-assistant write test\n")
            os.fsync(fd)
        finally:
            os.close(fd)
            Path(name).unlink()
    except OSError as exc:
        err = describe_os_error(exc, action="write to", path=folder)
        return False, f"{err.detail} {err.next_step}"
    return True, ""


def _unreachable(path: Path, role: str, note: str) -> LocationCheck:
    return LocationCheck(path, role, False, False, None, "unknown", (note,))


def _free(path: Path) -> int | None:
    try:
        return shutil.disk_usage(path).free
    except OSError:
        return None
