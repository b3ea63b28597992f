"""The few Windows API calls the session-end adapter needs, behind a small port.

Thread contract: call from the GUI thread (``ShutdownBlockReasonCreate/Destroy`` must run
on the thread that created the window). Importable everywhere; :class:`CtypesWin32Api`
can only be constructed on Windows. Tests use a recording fake with the same methods:
the Windows API is the one thing here that cannot be reached on Linux.
"""

from __future__ import annotations

import sys
from typing import Any, Protocol

# Windows' documented "application reserved first shutdown range" is 0x300-0x3FF: a
# higher level is asked before processes at the default 0x280 (NIS-Elements), so a veto
# stops the logout before the acquisition software is closed.
SHUTDOWN_LEVEL = 0x3FF
NOTIFY_FOR_THIS_SESSION = 0


class Win32Api(Protocol):
    """What the adapter calls. Every method returns success and never raises."""

    def shutdown_block_reason_create(self, hwnd: int, reason: str) -> bool: ...

    def shutdown_block_reason_destroy(self, hwnd: int) -> bool: ...

    def set_process_shutdown_parameters(self, level: int, flags: int) -> bool: ...

    def wts_register_session_notification(self, hwnd: int) -> bool: ...

    def wts_unregister_session_notification(self, hwnd: int) -> bool: ...

    def idle_seconds(self) -> float | None:
        """Seconds since the last keyboard or mouse input in this session."""
        ...

    def last_error(self) -> int: ...


class CtypesWin32Api:
    """The real calls through ``ctypes`` (no pywin32 needed)."""

    # Set in __init__ on Windows only (typeshed hides the Windows parts of ctypes elsewhere).
    _create: Any
    _destroy: Any
    _params: Any
    _register: Any
    _unregister: Any
    _get_last_input: Any
    _tick: Any
    _lastinput: Any
    _ctypes: Any
    _get_last_error: Any

    def __init__(self) -> None:
        if sys.platform != "win32":
            raise OSError("the Windows API is only available on Windows")
        import ctypes
        from ctypes import wintypes

        self._ctypes = ctypes
        self._get_last_error = ctypes.get_last_error
        user32 = ctypes.WinDLL("user32", use_last_error=True)
        kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
        wtsapi32 = ctypes.WinDLL("wtsapi32", use_last_error=True)

        class LASTINPUTINFO(ctypes.Structure):
            _fields_ = [("cbSize", wintypes.UINT), ("dwTime", wintypes.DWORD)]

        self._lastinput = LASTINPUTINFO
        self._create = user32.ShutdownBlockReasonCreate
        self._create.argtypes = [wintypes.HWND, wintypes.LPCWSTR]
        self._create.restype = wintypes.BOOL
        self._destroy = user32.ShutdownBlockReasonDestroy
        self._destroy.argtypes = [wintypes.HWND]
        self._destroy.restype = wintypes.BOOL
        self._params = kernel32.SetProcessShutdownParameters
        self._params.argtypes = [wintypes.DWORD, wintypes.DWORD]
        self._params.restype = wintypes.BOOL
        self._register = wtsapi32.WTSRegisterSessionNotification
        self._register.argtypes = [wintypes.HWND, wintypes.DWORD]
        self._register.restype = wintypes.BOOL
        self._unregister = wtsapi32.WTSUnRegisterSessionNotification
        self._unregister.argtypes = [wintypes.HWND]
        self._unregister.restype = wintypes.BOOL
        self._get_last_input = user32.GetLastInputInfo
        self._get_last_input.argtypes = [ctypes.POINTER(LASTINPUTINFO)]
        self._get_last_input.restype = wintypes.BOOL
        self._tick = kernel32.GetTickCount
        self._tick.argtypes = []
        self._tick.restype = wintypes.DWORD

    def shutdown_block_reason_create(self, hwnd: int, reason: str) -> bool:
        return bool(self._create(hwnd, reason))

    def shutdown_block_reason_destroy(self, hwnd: int) -> bool:
        return bool(self._destroy(hwnd))

    def set_process_shutdown_parameters(self, level: int, flags: int) -> bool:
        return bool(self._params(level, flags))

    def wts_register_session_notification(self, hwnd: int) -> bool:
        return bool(self._register(hwnd, NOTIFY_FOR_THIS_SESSION))

    def wts_unregister_session_notification(self, hwnd: int) -> bool:
        return bool(self._unregister(hwnd))

    def idle_seconds(self) -> float | None:
        info = self._lastinput()
        info.cbSize = self._ctypes.sizeof(info)
        if not self._get_last_input(self._ctypes.byref(info)):
            return None
        return float((self._tick() - info.dwTime) & 0xFFFFFFFF) / 1000.0

    def last_error(self) -> int:
        return int(self._get_last_error())
