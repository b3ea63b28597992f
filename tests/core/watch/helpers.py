"""Test helpers for the watcher: a tiny catalog, waiting on events, event digests."""

from __future__ import annotations

import bisect
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from almc_assistant.core.events import Event, ListSink
from almc_assistant.core.watch import (
    FileAppeared,
    FileChanged,
    FileDeleted,
    FileMoved,
    FileStabilised,
)

WAIT = 30.0  # generous: the machine is shared; tests never assert on durations


def as_user(action: Callable[[], object], timeout: float = WAIT) -> None:
    """Do a user's file action (delete or move a folder) while the watcher looks at it.

    Under Wine a file deleted while the watcher has it open stays until that handle is
    closed, so removing its folder fails at once ("Directory is not empty", access
    denied); a user would simply try again, and so does this, on Windows only. (Real
    Windows 10+ deletes with POSIX semantics on NTFS: the name goes at once.)
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            action()
            return
        except OSError as exc:
            busy = getattr(exc, "winerror", None) in (5, 32, 145)
            if not busy or time.monotonic() > deadline:
                raise
        time.sleep(0.05)


def wait_for(
    predicate: Callable[[], bool], what: str, timeout: float = WAIT, every: float = 0.02
) -> None:
    """Poll ``predicate`` until true; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(every)


class CatalogStub(ListSink):
    """A minimal catalog: applies watcher events to a dict and answers ``known(folder)``.

    Collects every event too (it is a ListSink), so tests can count them.
    """

    def __init__(self, *, answers_files: bool = False) -> None:
        super().__init__()
        self._answers_files = answers_files  # the real catalog answers folders only
        self._files: dict[Path, tuple[int, int, str]] = {}
        self._sorted: list[str] = []  # every path, sorted: prefix queries like an index
        self._flock = threading.Lock()

    def _set(self, path: Path, entry: tuple[int, int, str]) -> None:
        if path not in self._files:
            bisect.insort(self._sorted, str(path))
        self._files[path] = entry

    def _pop(self, path: Path) -> tuple[int, int, str] | None:
        entry = self._files.pop(path, None)
        if entry is not None:
            del self._sorted[bisect.bisect_left(self._sorted, str(path))]
        return entry

    def publish(self, event: Event) -> None:
        super().publish(event)
        with self._flock:
            if isinstance(event, FileAppeared | FileChanged):
                self._set(event.path, (event.size, event.mtime_ns, "acquiring"))
            elif isinstance(event, FileStabilised):
                self._set(event.path, (event.size, event.mtime_ns, "complete"))
            elif isinstance(event, FileMoved):
                old = self._pop(event.src) or (0, 0, "acquiring")
                self._set(event.dest, (event.size, event.mtime_ns, old[2]))
            elif isinstance(event, FileDeleted):
                self._pop(event.path)

    def state(self, path: Path) -> str | None:
        with self._flock:
            entry = self._files.get(path)
        return None if entry is None else entry[2]

    def states(self) -> dict[Path, str]:
        with self._flock:
            return {p: s for p, (_, _, s) in self._files.items()}

    def known(self, folder: Path) -> dict[Path, tuple[int, int]]:
        """Complete files under ``folder``, or that file (what the real catalog answers)."""
        with self._flock:
            entry = self._files.get(folder)
            if entry is not None and self._answers_files:
                return {folder: entry[:2]} if entry[2] == "complete" else {}
            prefix = str(folder).rstrip(os.sep) + os.sep
            out = {}
            for key in self._sorted[bisect.bisect_left(self._sorted, prefix) :]:
                if not key.startswith(prefix):
                    break
                size, mtime, state = self._files[Path(key)]
                if state == "complete":
                    out[Path(key)] = (size, mtime)
            return out

    def count(self, kind: type[Event], **fields: object) -> int:
        return sum(
            1 for e in self.of_type(kind) if all(getattr(e, k) == v for k, v in fields.items())
        )


def write_file(path: Path, size: int = 100, *, old: bool = False) -> Path:
    """Write ``size`` bytes to ``path``; ``old`` sets its mtime far in the past."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x01" * size)
    if old:
        os.utime(path, ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))
    return path


def signature(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_size, st.st_mtime_ns
