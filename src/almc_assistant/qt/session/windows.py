"""Windows adapter: a hidden native window, a native event filter and the block reason.

Thread contract: GUI thread only (create it there; the filter and the block-reason calls
run there, as ``ShutdownBlockReasonCreate`` requires the window's own thread).

Why a hidden window of our own (``LOGOUT.md`` §1.4, §2.2): a tray-only Qt app gets no
``WM_QUERYENDSESSION`` (the tray's message window answers TRUE itself), and Windows
terminates a process without a top-level window without asking. ``winId()`` makes Qt
create the native window of a ``QWindow`` without showing it. Windows lets a hidden window
block the end only while a block reason is registered, so the reason is kept in sync with
the pending state all the time, not set at logout.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from ctypes import wintypes
from typing import Any

from PySide6.QtCore import QAbstractNativeEventFilter, QCoreApplication, QTimer
from PySide6.QtGui import QWindow

from almc_assistant.core.session_end import SessionEndGuard
from almc_assistant.qt.session.win32api import SHUTDOWN_LEVEL, Win32Api
from almc_assistant.qt.session.win_messages import NOT_HANDLED, WindowsMessageHandler

log = logging.getLogger(__name__)

NATIVE_EVENT_TYPE = b"windows_generic_MSG"  # Qt's name for a Windows MSG (qwindowscontext.cpp)
WTS_RETRIES = 5  # WTSRegisterSessionNotification fails until Remote Desktop services run
WTS_RETRY_MS = 3000


class _EndSessionFilter(QAbstractNativeEventFilter):
    """Reads each MSG and lets :class:`WindowsMessageHandler` answer."""

    def __init__(self, handler: WindowsMessageHandler) -> None:
        super().__init__()
        self._handler = handler

    # Any: Qt's override (eventType a QByteArray or bytes, message the MSG's address)
    def nativeEventFilter(self, eventType: Any, message: Any) -> tuple[bool, int]:
        # PySide6 passes the MSG's address as an int and wants (handled, result) back.
        if bytes(eventType) != NATIVE_EVENT_TYPE:
            return NOT_HANDLED
        msg = wintypes.MSG.from_address(int(message))
        try:
            return self._handler.handle(int(msg.message), int(msg.wParam), int(msg.lParam))
        except Exception:  # an exception must never stop Windows from getting an answer
            log.exception("end-session message %#x could not be handled", msg.message)
            return NOT_HANDLED


class WindowsSessionBackend:
    """Owns the hidden window, the event filter and the registered block reason."""

    def __init__(
        self,
        app: QCoreApplication,
        guard: SessionEndGuard,
        api: Win32Api,
        *,
        wts_retry_ms: int = WTS_RETRY_MS,
    ) -> None:
        self._app = app
        self._wts_retry_ms = wts_retry_ms
        self._api = api
        self._window = QWindow()  # a QWindow: works under QGuiApplication, no widgets
        self._window.setTitle("almc-assistant")
        self.hwnd = int(self._window.winId())  # creates the native window; never shown
        self._reason: str | None = None
        self._registered = False
        self._wts_tries = 0
        self.handler = WindowsMessageHandler(guard, _defer)
        self._filter = _EndSessionFilter(self.handler)
        app.installNativeEventFilter(self._filter)
        if not api.set_process_shutdown_parameters(SHUTDOWN_LEVEL, 0):
            log.warning("SetProcessShutdownParameters failed (error %d)", api.last_error())
        self._register_wts()

    @property
    def block_reason(self) -> str | None:
        """The reason currently registered with Windows (``None``: none)."""
        return self._reason

    def set_block_reason(self, reason: str | None) -> None:
        """Register, change or remove the block reason shown on Windows' logout screen."""
        if reason == self._reason:
            return
        if reason is None:
            ok = self._api.shutdown_block_reason_destroy(self.hwnd)
        else:
            ok = self._api.shutdown_block_reason_create(self.hwnd, reason)
        if ok:
            self._reason = reason
        else:
            log.warning("ShutdownBlockReason call failed (error %d)", self._api.last_error())

    def filter_message(self, message_address: int) -> tuple[bool, int]:
        """Run the installed filter on a MSG in memory (what Qt does for each message)."""
        return self._filter.nativeEventFilter(NATIVE_EVENT_TYPE, message_address)

    def idle_seconds(self) -> float | None:
        return self._api.idle_seconds()

    def close(self) -> None:
        self._app.removeNativeEventFilter(self._filter)
        self.set_block_reason(None)
        if self._registered:
            self._api.wts_unregister_session_notification(self.hwnd)
            self._registered = False
        self._wts_tries = WTS_RETRIES  # stop pending retries
        self._window.deleteLater()

    def _register_wts(self) -> None:
        if self._wts_tries >= WTS_RETRIES or self._registered:
            return
        self._wts_tries += 1
        if self._api.wts_register_session_notification(self.hwnd):
            self._registered = True
            return
        log.info(
            "WTSRegisterSessionNotification failed (error %d), try %d of %d",
            self._api.last_error(),
            self._wts_tries,
            WTS_RETRIES,
        )
        QTimer.singleShot(self._wts_retry_ms, self._window, self._register_wts)


def _defer(fn: Callable[[], None]) -> None:
    QTimer.singleShot(0, fn)


def make_msg(message: int, wparam: int = 0, lparam: int = 0, hwnd: int = 0) -> wintypes.MSG:
    """A MSG as Windows would deliver it (tests; a Windows runner's self-test)."""
    msg = wintypes.MSG()
    msg.hWnd = hwnd
    msg.message = message
    msg.wParam = wparam
    msg.lParam = lparam  # 64-bit on Win64 and on Linux: ENDSESSION_LOGOFF stays positive
    return msg
