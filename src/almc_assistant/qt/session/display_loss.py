"""The display went away (X11 server gone at logout): record the end before Qt exits.

Thread contract: install and uninstall on the GUI thread; the message handler runs on
whichever thread Qt logs from (the GUI thread for the X11 connection).

At a plain logout the X server goes away and Qt's xcb plugin logs "The X11 connection
broke ..." (from its xcb event check or its Xlib I/O error handler) and then calls
``exit(1)`` at once: no ``aboutToQuit``, no Python ``atexit``. That log line is the last
moment the app can act, so a Qt message handler watches for it and records the session
end in the marker (one small write) before passing the message on.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from PySide6.QtCore import QMessageLogContext, QtMsgType, qInstallMessageHandler

from almc_assistant.core.session_end import EndKind, SessionEndGuard

log = logging.getLogger(__name__)

CONNECTION_BROKE = "The X11 connection broke"

Handler = Callable[[QtMsgType, QMessageLogContext, str], object]


class DisplayLossRecorder:
    """A Qt message handler that records the session end when the display connection breaks."""

    def __init__(self, guard: SessionEndGuard) -> None:
        self._guard = guard
        self._recorded = False
        self._previous: Handler | None = qInstallMessageHandler(self._handle)

    def _handle(self, kind: QtMsgType, context: QMessageLogContext, message: str) -> None:
        if not self._recorded and message.startswith(CONNECTION_BROKE):
            self._recorded = True
            try:
                log.warning("%s: the session is over; recording it", message)
                self._guard.session_ending(EndKind.UNKNOWN)
                for handler in logging.getLogger().handlers:
                    handler.flush()
            except Exception:  # Qt exits right after this; nothing may stop the message
                pass
        if self._previous is not None:
            self._previous(kind, context, message)
        else:  # what Qt's own handler prints
            sys.stderr.write(message + "\n")

    def set_block_reason(self, reason: str | None) -> None:
        """Nothing to tell anyone: a lost display cannot be held up."""

    def close(self) -> None:
        """Put the previous handler back."""
        qInstallMessageHandler(self._previous)
