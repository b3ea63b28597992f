"""Windows: the single-instance channel, a per-user named pipe only this user can reach.

Thread contract: :class:`PipeServer` runs one daemon thread of its own that accepts and
reads connections; its ``on_line`` callback is called *in that thread* (the Qt side
re-emits it as a signal). ``start``/``stop`` and :func:`send` are called from the GUI
thread (any one thread).

The pipe namespace is machine-wide (every session, every user): another account can
create a name first, or listen under it, and would then receive this user's paths and
make the app exit. So:

- the server creates the pipe with ``FILE_FLAG_FIRST_PIPE_INSTANCE`` (if the name exists,
  whoever holds it, creating fails: the app starts on its own instead of joining a
  squatter's pipe), ``PIPE_REJECT_REMOTE_CLIENTS``, and a security descriptor owned by
  this user whose protected DACL grants access to this user only;
- both ends check the other: the server asks ``GetNamedPipeClientProcessId`` and compares
  that process's token SID with ours; the client asks ``GetNamedPipeServerProcessId``
  likewise (``core.peercred``) *and* requires the pipe's owner SID (``GetSecurityInfo``) to
  be ours, before it sends anything.

Qt's ``QLocalServer`` cannot be given these flags, so this module replaces it on
Windows; a ``QLocalSocket`` can still connect (the pipe is duplex, byte mode).
"""

from __future__ import annotations

import ctypes
import functools
import logging
import sys
import threading
from collections.abc import Callable
from ctypes import wintypes
from typing import Any

from almc_assistant.core import peercred, winacl, wininfo

log = logging.getLogger(__name__)

MAX_MESSAGE = 1 << 20
_PIPE_ACCESS_DUPLEX = 0x3
_FIRST_PIPE_INSTANCE = 0x00080000
_PIPE_REJECT_REMOTE_CLIENTS = 0x8  # with PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT (0)
_GENERIC_READ, _GENERIC_WRITE = 0x80000000, 0x40000000
_READ_CONTROL = 0x00020000
_OPEN_EXISTING = 3
_SQOS_IDENTIFICATION = 0x00100000 | 0x00010000  # SECURITY_SQOS_PRESENT | IDENTIFICATION
_ERROR_PIPE_CONNECTED, _ERROR_PIPE_BUSY, _ERROR_MORE_DATA = 535, 231, 234
_INVALID = ctypes.c_void_p(-1).value
_win: Any = ctypes  # WinDLL and get_last_error exist on Windows only


class _SecurityAttributes(ctypes.Structure):
    _fields_ = [
        ("nLength", wintypes.DWORD),
        ("lpSecurityDescriptor", ctypes.c_void_p),
        ("bInheritHandle", wintypes.BOOL),
    ]


def pipe_path(name: str) -> str:
    return name if name.startswith("\\\\") else f"\\\\.\\pipe\\{name}"


@functools.cache
def _k32() -> Any:
    if sys.platform != "win32":
        raise OSError("named pipes of this kind exist on Windows only")
    k = wininfo.kernel32()  # CreateFileW, CloseHandle, LocalFree declared there
    k.CreateNamedPipeW.restype = wintypes.HANDLE
    k.CreateNamedPipeW.argtypes = [wintypes.LPCWSTR, *[wintypes.DWORD] * 6, ctypes.c_void_p]
    k.ConnectNamedPipe.argtypes = [wintypes.HANDLE, ctypes.c_void_p]
    k.DisconnectNamedPipe.argtypes = [wintypes.HANDLE]
    io = [wintypes.HANDLE, ctypes.c_void_p, wintypes.DWORD, ctypes.POINTER(wintypes.DWORD)]
    k.ReadFile.argtypes = k.WriteFile.argtypes = [*io, ctypes.c_void_p]
    k.WaitNamedPipeW.argtypes = [wintypes.LPCWSTR, wintypes.DWORD]
    return k


def user_only_sddl() -> str:
    """Owned by this user; a protected DACL granting all access to this user alone."""
    me = winacl.user_sid()
    return f"O:{me}D:P(A;;GA;;;{me})"


class PipeServer:
    """The first (and only) instance of a per-user pipe, served by one daemon thread."""

    def __init__(self, name: str, on_line: Callable[[bytes], None]) -> None:
        self.path = pipe_path(name)
        self._on_line = on_line
        self._handle: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, sddl: str | None = None) -> bool:
        """Create the pipe; ``False`` if the name exists already (whoever holds it)."""
        k = _k32()
        sd = winacl.descriptor_from_sddl(sddl or user_only_sddl())
        try:
            sa = _SecurityAttributes(ctypes.sizeof(_SecurityAttributes), sd, False)
            handle = k.CreateNamedPipeW(
                self.path,
                _PIPE_ACCESS_DUPLEX | _FIRST_PIPE_INSTANCE,
                _PIPE_REJECT_REMOTE_CLIENTS,
                1,
                4096,
                65536,
                0,
                ctypes.byref(sa),
            )
        finally:
            k.LocalFree(sd)
        if handle is None or handle == _INVALID:
            log.warning(
                "single-instance pipe %s exists already (%s); not joined",
                self.path,
                _win.FormatError(_win.get_last_error()),
            )
            return False
        self._handle = int(handle)
        self._thread = threading.Thread(
            target=self._serve, args=(self._handle,), name="single-instance", daemon=True
        )
        self._thread.start()
        return True

    def stop(self) -> None:
        if self._thread is None or self._handle is None:
            return
        self._stop.set()
        k = _k32()
        k.DisconnectNamedPipe(self._handle)  # a client still connected: its read ends
        # Wake the thread blocked in ConnectNamedPipe by connecting as a client.
        wake = k.CreateFileW(self.path, _GENERIC_WRITE, 0, None, _OPEN_EXISTING, 0, None)
        if wake is not None and wake != _INVALID:
            k.CloseHandle(wake)
        self._thread.join(timeout=10)
        k.CloseHandle(self._handle)
        self._handle, self._thread = None, None

    def _serve(self, handle: int) -> None:
        k = _k32()
        while not self._stop.is_set():
            connected = k.ConnectNamedPipe(handle, None)
            if not connected and _win.get_last_error() != _ERROR_PIPE_CONNECTED:
                log.warning("single-instance pipe: %s", _win.FormatError(_win.get_last_error()))
                return
            try:
                if self._stop.is_set():
                    return
                if not peercred.same_user_pipe(handle, server_side=True):
                    log.warning("single-instance: a connection from another user was refused")
                    continue
                self._read(k, handle)
            finally:
                k.DisconnectNamedPipe(handle)

    def _read(self, k: Any, handle: int) -> None:
        buffer = bytearray()
        chunk = ctypes.create_string_buffer(65536)
        got = wintypes.DWORD()
        while not self._stop.is_set():
            ok = k.ReadFile(handle, chunk, len(chunk), ctypes.byref(got), None)
            if not ok and _win.get_last_error() != _ERROR_MORE_DATA:
                break  # the client closed its end
            buffer += chunk.raw[: got.value]
            if len(buffer) > MAX_MESSAGE:
                log.warning("single-instance message too large; dropped")
                return
            while b"\n" in buffer:
                line, _, rest = bytes(buffer).partition(b"\n")
                buffer[:] = rest
                self._on_line(line)


def send(name: str, data: bytes, *, timeout_ms: int = 500) -> bool | None:
    """Write ``data`` to the running instance. ``True`` when sent; ``False`` when nobody
    listens; ``None`` when the pipe is held by another account (nothing sent)."""
    k = _k32()
    path = pipe_path(name)
    access = _GENERIC_WRITE | _READ_CONTROL | 0x80  # FILE_READ_ATTRIBUTES
    for _ in range(2):
        handle = k.CreateFileW(path, access, 0, None, _OPEN_EXISTING, _SQOS_IDENTIFICATION, None)
        if handle is not None and handle != _INVALID:
            break
        if _win.get_last_error() != _ERROR_PIPE_BUSY or not k.WaitNamedPipeW(path, timeout_ms):
            return False
    else:
        return False
    try:
        owner = winacl.security_of(int(handle)).owner
        if owner != winacl.user_sid() or not peercred.same_user_pipe(
            int(handle), server_side=False
        ):
            log.warning("single-instance: %s is held by another account (%s)", path, owner)
            return None
        written = wintypes.DWORD()
        if not k.WriteFile(handle, data, len(data), ctypes.byref(written), None):
            return False
        # No FlushFileBuffers: it would wait for the server to read, without a timeout.
        # The bytes stay in the pipe after this end closes; the server reads them all.
        return written.value == len(data)
    finally:
        k.CloseHandle(handle)
