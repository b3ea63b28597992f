"""SIGTERM and SIGHUP: the session (or someone) is ending the app; record it, quit cleanly.

Where no session manager asks first (KDE, other desktops, a systemd user session being
stopped, ``kill``), a logout reaches the app as SIGTERM, or SIGHUP when its terminal
goes. Python's default for SIGTERM kills the process on the spot: the marker would not
say that the session ended with data at risk, and the catalog's queued records would be
lost (they are found again by the next scan, but the next-login reminder would miss).

Thread contract: create, use and close on the GUI thread (the main thread: only it may
set signal handlers). The C-level handler only writes the signal number to a socket
(``signal.set_wakeup_fd``); a ``QSocketNotifier`` on the GUI thread wakes the event loop
(Python handlers alone would wait until some Python code runs), and the slot then
records the end with the guard (``session_ending``: the marker, written at once) and
emits :attr:`PosixSignals.quitRequested`; the app quits through its normal shut-down
(workers stopped, catalog written). A second signal while quitting is not needed
to stop it: the first one already quits.
"""

from __future__ import annotations

import logging
import signal
import socket
from collections.abc import Sequence
from types import FrameType

from PySide6.QtCore import QObject, QSocketNotifier, Signal, Slot

from almc_assistant.core.session_end import EndKind, SessionEndGuard

log = logging.getLogger(__name__)


def default_signals() -> tuple[signal.Signals, ...]:
    """SIGTERM everywhere; SIGHUP where it exists (not on Windows)."""
    hup = getattr(signal, "SIGHUP", None)
    return (signal.SIGTERM,) if hup is None else (signal.SIGTERM, hup)


class PosixSignals(QObject):
    """Turns SIGTERM/SIGHUP into a recorded session end and a clean quit."""

    quitRequested = Signal()
    received = Signal(int)  # the signal number, after the end was recorded

    def __init__(
        self,
        guard: SessionEndGuard,
        signals: Sequence[signal.Signals] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._guard = guard
        self._signals = tuple(signals or default_signals())
        self._reader, self._writer = socket.socketpair()
        self._reader.setblocking(False)
        self._writer.setblocking(False)
        self._previous_fd = signal.set_wakeup_fd(self._writer.fileno(), warn_on_full_buffer=False)
        self._previous = {s: signal.signal(s, self._python_handler) for s in self._signals}
        self._notifier = QSocketNotifier(self._reader.fileno(), QSocketNotifier.Type.Read, self)
        self._notifier.activated.connect(self._on_readable)
        self._closed = False

    def _python_handler(self, signum: int, _frame: FrameType | None) -> None:
        """Runs on the main thread at the next bytecode; the socket already woke Qt."""

    @Slot()
    def _on_readable(self) -> None:
        try:
            data = self._reader.recv(256)
        except (BlockingIOError, InterruptedError):
            return
        wanted = {int(s) for s in self._signals}
        for signum in dict.fromkeys(b for b in data if b in wanted):
            self._on_signal(signum)

    def _on_signal(self, signum: int) -> None:
        name = signal.Signals(signum).name
        log.info("%s received: the session or the system is ending the app", name)
        try:
            self._guard.session_ending(EndKind.UNKNOWN)
        except Exception:  # the quit must happen even if the marker cannot be written
            log.exception("could not record the session end after %s", name)
        self.received.emit(signum)
        self.quitRequested.emit()

    def set_block_reason(self, reason: str | None) -> None:
        """Nothing to tell the OS: a signal cannot be held up."""

    def close(self) -> None:
        """Restore the previous handlers and wake-up fd; close the socket pair."""
        if self._closed:
            return
        self._closed = True
        self._notifier.setEnabled(False)
        for s, previous in self._previous.items():
            signal.signal(s, previous)
        signal.set_wakeup_fd(self._previous_fd)
        self._reader.close()
        self._writer.close()
