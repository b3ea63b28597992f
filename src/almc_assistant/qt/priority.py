"""The GUI thread first: the app's worker threads run at a lower CPU priority (Linux).

Thread contract: :class:`BackgroundPriority` lives on the GUI thread; its timer lowers
the priority (raises the niceness) of the process's other Python threads (the core's
workers: copy, check, catalog writer, watcher) as they appear. Qt's own threads (the
one that reads input events from the display server, for one) are left alone. Nothing
else changes for the workers; the command line never uses this (its copies keep their
full priority).

Why: on a busy machine a GUI thread waiting for a CPU behind its own copy and check
workers freezes the window. ``bench/bench_ui_latency.py --trace`` showed that ticks over
50 ms late were mostly the GUI thread *waiting for a CPU* (Linux's schedstat), not
working: with the workers at niceness 10, the GUI thread's p99 lateness during a
10,000-file copy halved, and the copy took about as long. The workers run 10 steps nicer
than the GUI thread, not at 10: an app started niced (``nice -n 12``) keeps its GUI
thread first too (until 19, the lowest priority, where nothing can be lower). Linux
applies niceness per thread (``setpriority`` with a thread id), and an unprivileged
process may lower its threads' priority (never raise it). Windows already boosts the
thread of the window in front and macOS runs the main thread at a higher quality of
service, so elsewhere this does nothing.

Not lowered: the engine process's reader thread (``core/service_process.py``,
:data:`KEEP_PRIORITY`). It unpickles the engine's event batches holding the GIL; niced,
it was preempted by the machine's other processes *while holding the GIL*, and the GUI
thread, wanting the GIL back, slept behind it (``--trace``: check-phase ticks 56 ms late
with the GUI thread neither on a CPU nor waiting for one). It does little work, and all
of it is for the window.
"""

from __future__ import annotations

import logging
import os
import sys
import threading

from PySide6.QtCore import QObject, QTimer, Slot

from almc_assistant.core.service_process import READER_THREAD

log = logging.getLogger(__name__)

BACKGROUND_NICENESS = 10  # how much nicer than the GUI thread the workers run
LOWEST_PRIORITY = 19  # the highest niceness Linux has
INTERVAL_MS = 250  # new workers (a copy's pool) get the lower priority within this
# Threads that keep the GUI thread's priority, by name: they hold the GIL for the GUI.
KEEP_PRIORITY = frozenset({READER_THREAD})


def supported() -> bool:
    """Whether ``setpriority`` applies to one thread (Linux), not the whole process."""
    return sys.platform.startswith("linux")


def background_niceness(gui_niceness: int) -> int:
    """The niceness of the workers when the GUI thread runs at ``gui_niceness``."""
    return min(LOWEST_PRIORITY, gui_niceness + BACKGROUND_NICENESS)


def lower_other_threads(
    gui_thread_id: int, niceness: int, keep: frozenset[str] = KEEP_PRIORITY
) -> int:
    """Set every Python thread but ``gui_thread_id`` and those named in ``keep`` to at
    least ``niceness``; returns how many threads were changed. Threads already as nice
    (or nicer) are left."""
    changed = 0
    for thread in threading.enumerate():
        tid = thread.native_id
        if tid is None or tid == gui_thread_id or thread.name in keep:
            continue
        if not thread.is_alive():
            continue
        try:
            if os.getpriority(os.PRIO_PROCESS, tid) < niceness:
                os.setpriority(os.PRIO_PROCESS, tid, niceness)
                changed += 1
        except OSError:
            continue  # the thread ended meanwhile, or this system refuses: nothing lost
    return changed


class BackgroundPriority(QObject):
    """Keeps the app's other threads :data:`BACKGROUND_NICENESS` nicer than the GUI
    thread, which creates it (Linux)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._gui_thread = threading.get_native_id()
        self.niceness = LOWEST_PRIORITY
        if supported():
            self.niceness = background_niceness(os.getpriority(os.PRIO_PROCESS, self._gui_thread))
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
        return lower_other_threads(self._gui_thread, self.niceness)

    @Slot()
    def _on_timer_timeout(self) -> None:
        self.apply()
