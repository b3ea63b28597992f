"""Workers take turns at the CPU work of small files: one group at a time per process.

Thread contract: one process-wide :data:`TURNS`; any worker thread may take it. The
holder gives it up while it waits on storage (``syncfs``) or on uploads
(:meth:`Turns.waiting`), and never waits on another worker while it holds it.

Why (measured, ``bench/bench_copy.py`` data set (c), 20,000 x 64 KiB, disk + tmpfs,
``/usr/bin/time``, ``strace -c -f``, ``py-spy``): a group of small files is a chain of
about 20 short system calls per copy (open, write, ``utime``, close, ``fadvise``,
``readv``, rename, ...), and Python drops the GIL for every one of them. With 4-6
workers doing that at once the GIL changed hands at almost every call: 450,000-600,000
voluntary context switches for 40,000 copies, system CPU 7-9 s against 3 s for one
worker, and the job slower with 6 workers (11.7-12.2 s) than with one (8.8 s), while the
GIL itself was held less than half the time. The cost was the hand-offs, not Python.

So the CPU part of a group (read the sources, write the partials, read back, compare,
publish, record) runs for one worker at a time: the others sleep on one lock instead of
waking at every system call. A worker lets go of its turn while it waits on the disk
(``syncfs`` of the group's partials, then of their renames) or on its uploads, so
another worker's CPU work fills that wait: the disk's latency is still overlapped, which
is what several workers are for. Large files (streamed, with their own writer and
read-back threads) and files to network shares do not take turns.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class Turns:
    """At most ``at_once`` threads hold a turn."""

    def __init__(self, at_once: int = 1) -> None:
        self._lock = threading.BoundedSemaphore(at_once)
        self._mine = threading.local()  # whether this thread holds the turn

    def held_here(self) -> bool:
        return bool(getattr(self._mine, "held", False))

    @contextmanager
    def turn(self) -> Iterator[None]:
        """Hold the turn for the block (re-entrant: a holder keeps it)."""
        if self.held_here():
            yield
            return
        with self._lock:
            self._mine.held = True
            try:
                yield
            finally:
                self._mine.held = False

    @contextmanager
    def waiting(self) -> Iterator[None]:
        """Give up the turn while the block waits (on storage, on uploads), if held;
        take it back after."""
        if not self.held_here():
            yield
            return
        self._mine.held = False
        self._lock.release()
        try:
            yield
        finally:
            self._lock.acquire()
            self._mine.held = True


def cores() -> int:
    """Cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return max(len(os.sched_getaffinity(0)), 1)
    return max(os.cpu_count() or 1, 1)


TURNS = Turns(cores())
