"""Windows end-session and session-change messages, translated into calls on the guard.

Thread contract: GUI thread only (the native event filter runs there). No Qt import: the
logic is a pure function of ``(message, wParam, lParam)`` plus the guard, so it is tested
on Linux. Rules (``LOGOUT.md`` §2):

- ``WM_QUERYENDSESSION`` arrives once per top-level window of ours: decide once per
  episode and give every window the same answer; answer at once from the cache;
- a veto returns FALSE (handled, result 0); otherwise Qt and ``DefWindowProc`` answer TRUE;
- ``WM_ENDSESSION(FALSE)`` means the end was cancelled: show the reminder *after* the
  message returns (``defer``), never a dialog inside it; ``WM_ENDSESSION(TRUE)`` means we
  may be killed any moment: record it in the marker, once;
- ``WM_WTSSESSION_CHANGE``: lock or disconnect is the "leaving the workstation" cue.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from almc_assistant.core.session_end import (
    EndKind,
    SessionEndDecision,
    SessionEndGuard,
    SessionEndRequest,
)

log = logging.getLogger(__name__)

WM_QUERYENDSESSION = 0x0011
WM_ENDSESSION = 0x0016
WM_WTSSESSION_CHANGE = 0x02B1

ENDSESSION_CLOSEAPP = 0x00000001
ENDSESSION_CRITICAL = 0x40000000
ENDSESSION_LOGOFF = 0x80000000

WTS_CONSOLE_CONNECT = 0x1
WTS_CONSOLE_DISCONNECT = 0x2
WTS_REMOTE_CONNECT = 0x3
WTS_REMOTE_DISCONNECT = 0x4
WTS_SESSION_LOCK = 0x7
WTS_SESSION_UNLOCK = 0x8

_LEAVING = {WTS_SESSION_LOCK, WTS_CONSOLE_DISCONNECT, WTS_REMOTE_DISCONNECT}
_BACK = {WTS_SESSION_UNLOCK, WTS_CONSOLE_CONNECT, WTS_REMOTE_CONNECT}

NOT_HANDLED = (False, 0)


def request_from_lparam(lparam: int) -> SessionEndRequest:
    """Which end the flags describe. ``0`` means shutdown or restart (Windows cannot tell)."""
    flags = lparam & 0xFFFFFFFF
    if flags & ENDSESSION_CRITICAL:
        return SessionEndRequest(EndKind.FORCED, "win32", can_veto=False)
    if flags & ENDSESSION_CLOSEAPP:
        return SessionEndRequest(EndKind.CLOSE_APP, "win32")
    if flags & ENDSESSION_LOGOFF:
        return SessionEndRequest(EndKind.LOGOFF, "win32")
    return SessionEndRequest(EndKind.SHUTDOWN_OR_RESTART, "win32")


class WindowsMessageHandler:
    """Answers the end-session messages; ``defer(fn)`` runs ``fn`` after the message returns."""

    def __init__(self, guard: SessionEndGuard, defer: Callable[[Callable[[], None]], None]):
        self._guard = guard
        self._defer = defer
        self._episode: SessionEndDecision | None = None
        self._episode_kind: EndKind | None = None

    def handle(self, message: int, wparam: int, lparam: int) -> tuple[bool, int]:
        """``(handled, result)`` as a native event filter returns it."""
        if message == WM_QUERYENDSESSION:
            return self._on_query(lparam)
        if message == WM_ENDSESSION:
            self._on_end(bool(wparam))
        elif message == WM_WTSSESSION_CHANGE:
            self._on_session_change(wparam)
        return NOT_HANDLED

    def _on_query(self, lparam: int) -> tuple[bool, int]:
        if self._episode is None:
            request = request_from_lparam(lparam)
            self._episode = self._guard.query_end(request)
            self._episode_kind = request.kind
        return (True, 0) if self._episode.veto else NOT_HANDLED

    def _on_end(self, ending: bool) -> None:
        if self._episode is None:
            return  # a duplicate for another of our windows: already handled
        kind = self._episode_kind
        self._episode = None
        self._episode_kind = None
        if ending:
            self._guard.session_ending(kind)
        else:
            self._defer(self._guard.session_end_cancelled)

    def _on_session_change(self, code: int) -> None:
        if code in _LEAVING:
            self._guard.locked()
        elif code in _BACK:
            self._guard.unlocked()
