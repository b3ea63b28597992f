"""The GUI thread first: the app's worker threads run at a lower CPU priority (Linux).

Thread contract: :class:`BackgroundPriority` lives on the GUI thread; its timer lowers
the priority (raises the niceness) of the process's other Python threads (the core's
workers: copy, check, catalog writer, watcher) as they appear. Qt's own threads (the
one that reads input events from the display server, for one) are left alone. Nothing
else changes for the workers; the command line never uses this (its copies keep their
full priority).

Why: on a busy machine a GUI thread waiting for a CPU behind its own copy and check
workers freezes the window. ``bench/bench_ui_latency.py --trace`` showed that ticks
over 50 ms late were mostly the GUI thread *waiting for a CPU* (Linux's schedstat),
not working: with the workers at niceness 10, the GUI thread's p99 lateness during a
10,000-file copy halved, and the copy took about as long. Linux applies niceness per
thread (``setpriority`` with a thread id), and an unprivileged process may lower its
threads' priority (never raise it). Windows already boosts the thread of the window in
front and macOS runs the main thread at a higher quality of service, so elsewhere this
does nothing.
"""

from __future__ import annotations

import logging
import os
import sys
import threading

from PySide6.QtCore import QObject, QTimer, Slot

log = logging.getLogger(__name__)

BACKGROUND_NICENESS = 10
INTERVAL_MS = 250  # new workers (a copy's pool) get the lower priority within this


def supported() -> bool:
    """Whether ``setpriority`` applies to one thread (Linux), not the whole process."""
    return sys.platform.startswith("linux")


def lower_other_threads(gui_thread_id: int, niceness: int = BACKGROUND_NICENESS) -> int:
    """Set every Python thread but ``gui_thread_id`` to at least ``niceness``; returns
    how many threads were changed. Threads already as nice (or nicer) are left."""
    changed = 0
    for thread in threading.enumerate():
        tid = thread.native_id
        if tid is None or tid == gui_thread_id or not thread.is_alive():
            continue
        try:
            if os.getpriority(os.PRIO_PROCESS, tid) < niceness:
                os.setpriority(os.PRIO_PROCESS, tid, niceness)
                changed += 1
        except OSError:
            continue  # the thread ended meanwhile, or this system refuses: nothing lost
    return changed


class BackgroundPriority(QObject):
    """Keeps the app's other threads at :data:`BACKGROUND_NICENESS` (Linux)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._gui_thread = threading.get_native_id()
        self._timer = QTimer(self)
        self._timer.setInterval(INTERVAL_MS)
        self._timer.timeout.connect(self._on_timer_timeout)

    def start(self) -> None:
        if not supported():
            return
        self.apply()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def apply(self) -> int:
        """Lower the priority of the threads started since the last call (returns how
        many)."""
        if not supported():
            return 0
        return lower_other_threads(self._gui_thread)

    @Slot()
    def _on_timer_timeout(self) -> None:
        self.apply()
