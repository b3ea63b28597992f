"""Turn the sources of a copy into a list of regular files, without following links.

Thread contract: runs on the job thread before any copy starts; returns plain values.

A file source ``a.nd2`` becomes ``a.nd2`` under each destination; a folder source ``run1``
keeps its structure as ``run1/...``. With ``relative_to`` (the acquisition folders), a
source inside one of them keeps its path relative to it instead
(:func:`~almc_assistant.core.layout.relative_destinations`): ``plate1/r01.tiff``.

A symlink or special file *given on the command line* is followed (the user named it);
inside a tree nothing is followed: symlinks, FIFOs, sockets and devices are listed in
:attr:`Scan.skipped` with the reason, and never opened (opening a FIFO would hang).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from almc_assistant.core.errors import UsageError, describe_os_error
from almc_assistant.core.identity import FileIdentity, entry_stat
from almc_assistant.core.layout import relative_destinations


@dataclass(frozen=True, slots=True, eq=False)
class FileTask:
    """One regular file to copy: where it is, where it goes (``/``-separated), its stat.

    Compared and hashed by identity (``eq=False``): each task is one entry of one job, and
    it is a dictionary key in hot paths.
    """

    source: Path
    relpath: str
    size: int
    mtime_ns: int
    identity: FileIdentity | None = None  # as listed (None: made by hand, e.g. in tests)


@dataclass(slots=True)
class Scan:
    files: list[FileTask] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)  # (path, reason)

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)


def _kind(mode: int) -> str | None:
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISLNK(mode):
        return "it is a symbolic link; links are not followed, copy its target directly"
    if stat.S_ISFIFO(mode):
        return "it is a named pipe (FIFO), not a file; it was not opened"
    if stat.S_ISSOCK(mode):
        return "it is a socket, not a file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "it is a device, not a file"
    return "it is not a regular file"


def scan_sources(sources: list[Path], relative_to: Sequence[Path] = ()) -> Scan:
    """List every regular file under ``sources``, each with its path under a destination
    (see the module docstring). Raises :class:`UsageError` for a missing source, or for
    two sources that would land at the same path."""
    out = Scan()
    names: dict[str, Path] = {}
    places = relative_destinations([s.absolute() for s in sources], relative_to)
    for src, name in zip(sources, places, strict=True):
        try:
            st = src.stat()  # follows a link given explicitly
        except FileNotFoundError as exc:
            raise UsageError(
                f"The source {src} does not exist.",
                title=f"Source not found: {src.name}",
                next_step="Check the path.",
                paths=(src,),
            ) from exc
        except OSError as exc:
            raise describe_os_error(exc, action="open", path=src) from exc
        if name in names and names[name] != src:
            raise UsageError(
                f"Two sources would land at the same place '{name}': {names[name]} and {src}; "
                "they would land on the same place at the destination.",
                title="Sources would overwrite each other",
                next_step="Copy them in separate runs or to separate destinations.",
                paths=(names[name], src),
            )
        names[name] = src
        if src.is_symlink():  # named on the command line: copy what it points to
            src = src.resolve()
        if stat.S_ISDIR(st.st_mode):
            _walk(src, name, out)
        elif (reason := _kind(st.st_mode)) is not None:
            out.skipped.append((src, reason))
        else:
            try:
                ident = FileIdentity.of(st, src, follow_symlinks=True)
            except OSError as exc:
                raise describe_os_error(exc, action="open", path=src) from exc
            out.files.append(FileTask(src, name, st.st_size, st.st_mtime_ns, ident))
    return out


def _walk(top: Path, top_rel: str, out: Scan) -> None:
    stack: list[tuple[Path, str]] = [(top, top_rel)]
    while stack:
        folder, rel = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            out.skipped.append((folder, describe_os_error(exc, action="list", path=folder).detail))
            continue
        subdirs: list[tuple[Path, str]] = []
        for entry in entries:
            path = Path(entry.path)
            entry_rel = f"{rel}/{entry.name}"
            try:
                st = entry_stat(entry)
            except OSError as exc:
                out.skipped.append((path, describe_os_error(exc, action="read", path=path).detail))
                continue
            if stat.S_ISDIR(st.st_mode):
                subdirs.append((path, entry_rel))
            elif (reason := _kind(st.st_mode)) is not None:
                out.skipped.append((path, reason))
            else:
                try:
                    ident = FileIdentity.of(st, path)
                except OSError as exc:
                    detail = describe_os_error(exc, action="read", path=path).detail
                    out.skipped.append((path, detail))
                    continue
                out.files.append(FileTask(path, entry_rel, st.st_size, st.st_mtime_ns, ident))
        stack.extend(reversed(subdirs))
