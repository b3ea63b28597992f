"""The session-end adapter's Win32 calls against the real API (Windows; the lane: Wine).

What Wine 8 (Debian, as the lane runs it) delivers: ``SetProcessShutdownParameters`` and
``GetLastInputInfo`` work; ``ShutdownBlockReasonCreate`` is a stub failing with
``ERROR_CALL_NOT_IMPLEMENTED``; no window can be created without its display driver, so
``WM_QUERYENDSESSION`` cannot be delivered there: those steps skip with the reason.
"""

from __future__ import annotations

import ctypes
from typing import Any

import pytest

from almc_assistant.qt.session.win32api import SHUTDOWN_LEVEL, CtypesWin32Api
from tests.portable import UNDER_WINE, WINDOWS

pytestmark = pytest.mark.skipif(not WINDOWS, reason="the Win32 API exists on Windows")
_win: Any = ctypes


def test_our_shutdown_level_is_set_before_the_acquisition_softwares() -> None:
    api = CtypesWin32Api()
    assert api.set_process_shutdown_parameters(SHUTDOWN_LEVEL, 0)
    level, flags = ctypes.c_ulong(), ctypes.c_ulong()
    kernel32 = _win.WinDLL("kernel32")
    assert kernel32.GetProcessShutdownParameters(ctypes.byref(level), ctypes.byref(flags))
    assert level.value == SHUTDOWN_LEVEL  # asked before NIS-Elements' default 0x280


def test_idle_time_is_read_from_the_session() -> None:
    idle = CtypesWin32Api().idle_seconds()
    assert idle is not None and idle >= 0


def test_the_block_reason_is_registered_on_a_real_window() -> None:
    user32 = _win.WinDLL("user32", use_last_error=True)
    user32.CreateWindowExW.restype = ctypes.c_void_p
    user32.CreateWindowExW.argtypes = [ctypes.c_ulong, ctypes.c_wchar_p, ctypes.c_wchar_p]
    user32.CreateWindowExW.argtypes += [ctypes.c_ulong] + [ctypes.c_int] * 4
    user32.CreateWindowExW.argtypes += [ctypes.c_void_p] * 4
    hwnd = user32.CreateWindowExW(0, "STATIC", "almc", 0, 0, 0, 1, 1, None, None, None, None)
    if not hwnd:
        pytest.skip(f"no window can be created here (error {_win.get_last_error()})")
    try:
        api = CtypesWin32Api()
        made = api.shutdown_block_reason_create(hwnd, "Files are not backed up yet")
        if not made and UNDER_WINE and api.last_error() == 120:
            pytest.skip("Wine 8's ShutdownBlockReasonCreate is a stub (not implemented)")
        assert made
        assert api.shutdown_block_reason_destroy(hwnd)
    finally:
        user32.DestroyWindow(ctypes.c_void_p(hwnd))
