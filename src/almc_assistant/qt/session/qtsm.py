"""macOS adapter: Qt's ``commitDataRequest`` (``applicationShouldTerminate:`` underneath).

Thread contract: GUI thread only; the slot is connected with ``Qt.DirectConnection`` as
Qt's documentation asks, so it runs inside the OS callback: it answers from the guard's
cache, calls ``cancel()`` to hold the logout up, and shows nothing there (macOS allows no
interaction: ``allowsInteraction()`` is always false). The reminder comes afterwards,
from the event loop. macOS then says "almc-assistant interrupted logout".

Logout, restart, a Dock "Quit" and our own Quit all arrive here alike (``LOGOUT.md`` §3):
the tray's Quit menu item calls :meth:`CommitDataHandler.allow_quit` after it asked the
user itself. Testing: ``QSessionManager`` cannot be built from Python and emitting
``commitDataRequest`` from Python crashes the interpreter, so the slot takes any object
with ``cancel()`` and tests call it directly (``LOGOUT.md`` §0.5).
"""

from __future__ import annotations

import logging
from typing import Protocol

from PySide6.QtCore import QObject, Qt, QTimer, Slot
from PySide6.QtGui import QGuiApplication, QSessionManager

from almc_assistant.core.session_end import EndKind, SessionEndGuard, SessionEndRequest

log = logging.getLogger(__name__)


class SessionManagerLike(Protocol):
    def cancel(self) -> None: ...


class CommitDataHandler(QObject):
    """Holds up a macOS logout while data is at risk, then reminds."""

    def __init__(
        self, app: QGuiApplication, guard: SessionEndGuard, *, platform: str = "darwin"
    ) -> None:
        super().__init__()
        self._app = app
        self._guard = guard
        self._platform = platform
        self._explicit_quit = False
        app.commitDataRequest.connect(
            self._on_app_commit_data_request, Qt.ConnectionType.DirectConnection
        )

    def allow_quit(self) -> None:
        """Our own Quit (already confirmed by the user): do not hold it up."""
        self._explicit_quit = True

    def set_block_reason(self, reason: str | None) -> None:
        """Nothing to register on macOS: each request is answered from the guard."""

    def close(self) -> None:
        self._app.commitDataRequest.disconnect(self._on_app_commit_data_request)

    @Slot(QSessionManager)
    def _on_app_commit_data_request(self, manager: SessionManagerLike) -> None:
        if self._explicit_quit:
            self._guard.session_ending(EndKind.UNKNOWN)
            return
        decision = self._guard.query_end(SessionEndRequest(EndKind.UNKNOWN, self._platform))
        if decision.veto:
            manager.cancel()
            QTimer.singleShot(0, self._guard.session_end_cancelled)
        else:
            self._guard.session_ending(EndKind.UNKNOWN)
