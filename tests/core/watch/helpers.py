"""Test helpers for the watcher: a tiny catalog, waiting on events, event digests."""

from __future__ import annotations

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


def wait_for(predicate: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    """Poll ``predicate`` until true; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


class CatalogStub(ListSink):
    """A minimal catalog: applies watcher events to a dict and answers ``known(folder)``.

    Collects every event too (it is a ListSink), so tests can count them.
    """

    def __init__(self) -> None:
        super().__init__()
        self._files: dict[Path, tuple[int, int, str]] = {}
        self._flock = threading.Lock()

    def publish(self, event: Event) -> None:
        super().publish(event)
        with self._flock:
            if isinstance(event, FileAppeared | FileChanged):
                self._files[event.path] = (event.size, event.mtime_ns, "acquiring")
            elif isinstance(event, FileStabilised):
                self._files[event.path] = (event.size, event.mtime_ns, "complete")
            elif isinstance(event, FileMoved):
                old = self._files.pop(event.src, (event.size, event.mtime_ns, "acquiring"))
                self._files[event.dest] = (event.size, event.mtime_ns, old[2])
            elif isinstance(event, FileDeleted):
                self._files.pop(event.path, None)

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
            if entry is not None:
                return {folder: entry[:2]} if entry[2] == "complete" else {}
            return {
                p: (size, mtime)
                for p, (size, mtime, state) in self._files.items()
                if state == "complete" and p.is_relative_to(folder)
            }

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
