"""A Windows process with the session-end adapter's handler behind a real Win32 window.

Run as ``python -m tests.integration.win_session_app FILES`` with ``ALMC_HOME`` set (the
Windows lane: under Wine, with Xvfb as Wine's display). It creates a hidden top-level
window titled "almc-assistant" whose window procedure hands every message to the same
:class:`WindowsMessageHandler`, :class:`SessionEndGuard` and :class:`CtypesWin32Api` the
tray app's Windows backend wires (``qt/session/windows.py``), registers the block reason
on it, pumps its message queue, and prints one JSON line per event, flushed.

Why not the tray app itself: under Wine 8 Qt's Windows platform plugin (PySide6 6.9)
aborts at start-up (it activates the WinRT class ``Windows.UI.ViewManagement.UISettings``,
which Wine 8 lacks, and the C++/WinRT error is not caught), so Qt's native event filter
cannot be reached there. What runs here is the message path below that filter.
"""

from __future__ import annotations

import ctypes
import dataclasses
import enum
import json
import sys
from ctypes import wintypes
from typing import Any

from almc_assistant.core.events import CallbackSink
from almc_assistant.core.paths import AppPaths
from almc_assistant.core.session_end import PendingSummary, SessionEndGuard
from almc_assistant.qt.session.win32api import SHUTDOWN_LEVEL, CtypesWin32Api
from almc_assistant.qt.session.win_messages import WindowsMessageHandler

_win: Any = ctypes
LRESULT = ctypes.c_ssize_t
WM_APP = 0x8000
WNDPROC = _win.WINFUNCTYPE(LRESULT, wintypes.HWND, wintypes.UINT, wintypes.WPARAM, wintypes.LPARAM)


class WNDCLASSW(ctypes.Structure):
    _fields_ = [
        ("style", wintypes.UINT),
        ("lpfnWndProc", WNDPROC),
        ("cbClsExtra", ctypes.c_int),
        ("cbWndExtra", ctypes.c_int),
        ("hInstance", wintypes.HINSTANCE),
        ("hIcon", wintypes.HICON),
        ("hCursor", wintypes.HANDLE),
        ("hbrBackground", wintypes.HBRUSH),
        ("lpszMenuName", wintypes.LPCWSTR),
        ("lpszClassName", wintypes.LPCWSTR),
    ]


def emit(data: dict[str, object]) -> None:
    print(json.dumps(data, default=lambda v: v.value if isinstance(v, enum.Enum) else str(v)))
    sys.stdout.flush()


def main() -> int:
    files = int(sys.argv[1])
    user32 = _win.WinDLL("user32", use_last_error=True)
    kernel32 = _win.WinDLL("kernel32", use_last_error=True)
    user32.DefWindowProcW.argtypes = [wintypes.HWND, wintypes.UINT, wintypes.WPARAM]
    user32.DefWindowProcW.argtypes += [wintypes.LPARAM]
    user32.DefWindowProcW.restype = LRESULT
    user32.PostMessageW.argtypes = [wintypes.HWND, wintypes.UINT, wintypes.WPARAM]
    user32.PostMessageW.argtypes += [wintypes.LPARAM]
    user32.CreateWindowExW.restype = wintypes.HWND
    user32.CreateWindowExW.argtypes = [wintypes.DWORD, wintypes.LPCWSTR, wintypes.LPCWSTR]
    user32.CreateWindowExW.argtypes += [wintypes.DWORD] + [ctypes.c_int] * 4
    user32.CreateWindowExW.argtypes += [wintypes.HWND, wintypes.HMENU, wintypes.HINSTANCE]
    user32.CreateWindowExW.argtypes += [wintypes.LPVOID]

    summary = PendingSummary(files, files * 1000, 0.0 if files else None)
    sink = CallbackSink(lambda e: emit({"event": type(e).__name__, **dataclasses.asdict(e)}))
    guard = SessionEndGuard.create(
        lambda: summary, AppPaths.default().ensure(), sink, platform="win32"
    )
    guard.start()
    guard.refresh()
    deferred: list[Any] = []
    window: list[int] = []

    def defer(fn: Any) -> None:
        # As QTimer.singleShot(0) does: a posted message wakes the loop once the sent
        # message has returned (sent messages are handled inside GetMessageW).
        deferred.append(fn)
        user32.PostMessageW(window[0], WM_APP, 0, 0)

    handler = WindowsMessageHandler(guard, defer)

    def proc(hwnd: int, message: int, wparam: int, lparam: int) -> int:
        if message in (0x0011, 0x0016):
            emit({"message": message, "wparam": wparam, "lparam": lparam & 0xFFFFFFFF})
        handled, result = handler.handle(message, wparam, lparam)
        if handled:
            return result
        return int(user32.DefWindowProcW(hwnd, message, wparam, lparam))

    wndproc = WNDPROC(proc)
    wc = WNDCLASSW(lpfnWndProc=wndproc, lpszClassName="AlmcSessionEnd")
    wc.hInstance = kernel32.GetModuleHandleW(None)
    if not user32.RegisterClassW(ctypes.byref(wc)):
        emit({"error": f"RegisterClassW failed ({_win.get_last_error()})"})
        return 2
    hwnd = user32.CreateWindowExW(
        0, "AlmcSessionEnd", "almc-assistant", 0, 0, 0, 1, 1, None, None, wc.hInstance, None
    )
    if not hwnd:
        emit({"error": f"CreateWindowExW failed ({_win.get_last_error()})"})
        return 2
    window.append(hwnd)
    api = CtypesWin32Api()
    reason = guard.block_reason()
    made = api.shutdown_block_reason_create(hwnd, reason) if reason else None
    emit(
        {
            "ready": hwnd,
            "block_reason": reason,
            "block_reason_created": made,
            "block_reason_error": api.last_error() if made is False else 0,
            "shutdown_level_set": api.set_process_shutdown_parameters(SHUTDOWN_LEVEL, 0),
        }
    )
    msg = wintypes.MSG()
    while user32.GetMessageW(ctypes.byref(msg), None, 0, 0) > 0:
        user32.TranslateMessage(ctypes.byref(msg))
        user32.DispatchMessageW(ctypes.byref(msg))
        while deferred:
            deferred.pop(0)()
    return 0


if __name__ == "__main__":
    sys.exit(main())
