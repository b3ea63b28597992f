"""Python's cyclic garbage collector runs on the GUI thread only, from a timer.

Thread contract: create, start and stop on the GUI thread.

CPython runs a collection in whichever thread happens to allocate past the threshold:
in this app usually a copy or check worker. A collection finalises whatever cyclic
garbage it finds there, and that can include PySide wrappers of Qt objects (a closed
window's widgets, a timer, a model) whose C++ side must be destroyed on the thread that
owns it: Qt warns ("Timers cannot be stopped from another thread") or worse, and
Shiboken takes its own locks while the worker holds the GIL. The same recipe is used by
pyqtgraph (``pyqtgraph.util.garbage_collector``): turn automatic collection off and
collect on a GUI timer with the same generation thresholds Python would use, so the
amount of work per collection is unchanged; only the thread and the moment differ.
Reference counting still frees everything that is not in a cycle, at once, anywhere.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer, Slot

DEFAULT_INTERVAL_MS = 250


class GuiThreadCollector(QObject):
    """Disables automatic collection while started; collects from a GUI-thread timer."""

    def __init__(self, interval_ms: int = DEFAULT_INTERVAL_MS, parent: QObject | None = None):
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.check)
        self._was_enabled = gc.isenabled()

    def start(self) -> None:
        self._was_enabled = gc.isenabled()
        gc.disable()
        self._timer.start()

    def stop(self) -> None:
        """Automatic collection back as it was; one last collection here and now."""
        self._timer.stop()
        self.check()
        if self._was_enabled:
            gc.enable()

    @Slot()
    def check(self) -> int:
        """Collect the generations Python would have collected by now; the generation
        collected (0-2), or -1 when none was due."""
        t0, t1, t2 = gc.get_threshold()
        c0, c1, c2 = gc.get_count()
        if t0 == 0 or c0 <= t0:
            return -1
        generation = 0
        if c1 >= t1:
            generation = 2 if c2 >= t2 else 1
        gc.collect(generation)
        return generation
