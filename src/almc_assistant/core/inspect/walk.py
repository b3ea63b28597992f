"""Expand the paths a user gave into the files to check, safely.

Thread contract: runs on the calling thread; reads directory listings only.

Folders are walked recursively (sorted, so results are stable). Symbolic links to files
are checked as files; links to folders are followed once: a link leading back into a
folder already walked (a loop) is reported, never followed. A folder that cannot be
listed is reported, and the walk carries on.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(slots=True)
class Expanded:
    files: list[Path] = field(default_factory=list)
    # (path, plain-words problem) for folders that could not be walked
    problems: list[tuple[Path, str]] = field(default_factory=list)


def expand(paths: Iterable[str | os.PathLike[str]]) -> Expanded:
    out = Expanded()
    seen_files: set[Path] = set()
    seen_dirs: set[tuple[int, int]] = set()
    for raw in paths:
        path = Path(raw)
        if _is_dir(path):
            _walk(path, out, seen_files, seen_dirs)
        elif path not in seen_files:  # files, and anything else: check_file explains it
            seen_files.add(path)
            out.files.append(path)
    return out


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:  # e.g. a symlink loop: let check_file report it
        return False


def _walk(top: Path, out: Expanded, seen_files: set[Path], seen_dirs: set[tuple[int, int]]) -> None:
    stack = [top]
    while stack:
        folder = stack.pop()
        try:
            st = folder.stat()
        except OSError as exc:
            out.problems.append((folder, f"This folder could not be opened: {exc.strerror}."))
            continue
        key = (st.st_dev, st.st_ino)
        if key in seen_dirs:
            if folder.is_symlink():
                out.problems.append(
                    (
                        folder,
                        "This link leads back into a folder that is already being checked "
                        "(a symbolic link loop); it was not followed.",
                    )
                )
            continue
        seen_dirs.add(key)
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            out.problems.append((folder, f"This folder could not be listed: {exc.strerror}."))
            continue
        subdirs: list[Path] = []
        for entry in entries:
            path = Path(entry.path)
            try:
                is_dir = entry.is_dir()  # follows links
            except OSError:
                is_dir = False
            if is_dir:
                subdirs.append(path)
            elif path not in seen_files:
                seen_files.add(path)
                out.files.append(path)
        stack.extend(reversed(subdirs))
