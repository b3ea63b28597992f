"""Who is at the other end of a local connection: the peer-credential check.

Thread contract: plain functions on a descriptor or handle the caller owns; any thread.

The single-instance channel trusts a peer only when it runs as the same user. On Linux
the kernel tells the peer's uid (``SO_PEERCRED``); on macOS and the BSDs
``LOCAL_PEERCRED`` (the ``getpeereid`` data). On Windows the named pipe's other end is a
process id (``GetNamedPipeServerProcessId`` / ``GetNamedPipeClientProcessId``) whose
token's user SID is compared with ours. ``None`` means "cannot tell", which callers
treat as "not the same user".
"""

from __future__ import annotations

import os
import socket
import struct
import sys


def peer_uid(fd: int) -> int | None:
    """The uid of the process at the other end of Unix socket ``fd`` (``None``: unknown)."""
    if fd < 0 or os.name != "posix":
        return None
    try:
        sock = socket.socket(fileno=os.dup(fd))
    except OSError:
        return None
    try:
        if hasattr(socket, "SO_PEERCRED"):  # Linux: struct ucred {pid, uid, gid}
            raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
            return int(struct.unpack("3i", raw)[1])
        if sys.platform == "darwin" or "bsd" in sys.platform:
            sol_local, local_peercred = 0, 1  # <sys/un.h>: struct xucred {version, uid, ...}
            raw = sock.getsockopt(sol_local, local_peercred, struct.calcsize("Ii16I") + 8)
            return int(struct.unpack_from("Ii", raw)[1])
    except OSError:
        return None
    finally:
        sock.close()  # closes our duplicate only
    return None


def same_user_fd(fd: int) -> bool:
    """Whether the peer of Unix socket ``fd`` runs as this process's user."""
    uid = peer_uid(fd)
    return uid is not None and uid == os.geteuid()


def same_user_pipe(handle: int, *, server_side: bool) -> bool:
    """Windows: whether the other end of named pipe ``handle`` runs as our user.

    Not exercised by the test suite (no Windows runner): written against the Win32
    documentation; any failure answers ``False``.
    """
    if sys.platform != "win32":
        return False
    try:
        return _windows_same_user(handle, server_side)
    except (OSError, AttributeError, ValueError):
        return False


def _windows_same_user(handle: int, server_side: bool) -> bool:  # pragma: no cover - Windows
    import ctypes
    from ctypes import wintypes

    k32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
    adv = ctypes.WinDLL("advapi32", use_last_error=True)  # type: ignore[attr-defined]
    pid = wintypes.ULONG()
    get = k32.GetNamedPipeClientProcessId if server_side else k32.GetNamedPipeServerProcessId
    if not get(wintypes.HANDLE(handle), ctypes.byref(pid)):
        return False
    theirs, ours = _sid_of(k32, adv, pid.value), _sid_of(k32, adv, os.getpid())
    return theirs is not None and theirs == ours


def _sid_of(k32: object, adv: object, pid: int) -> str | None:  # pragma: no cover - Windows
    import ctypes
    from ctypes import wintypes

    process_query_limited, token_query, token_user = 0x1000, 0x0008, 1
    proc = k32.OpenProcess(process_query_limited, False, pid)  # type: ignore[attr-defined]
    if not proc:
        return None
    token = wintypes.HANDLE()
    try:
        if not adv.OpenProcessToken(proc, token_query, ctypes.byref(token)):  # type: ignore[attr-defined]
            return None
        size = wintypes.DWORD()
        adv.GetTokenInformation(token, token_user, None, 0, ctypes.byref(size))  # type: ignore[attr-defined]
        buf = ctypes.create_string_buffer(size.value)
        if not adv.GetTokenInformation(token, token_user, buf, size, ctypes.byref(size)):  # type: ignore[attr-defined]
            return None
        sid = ctypes.cast(buf, ctypes.POINTER(ctypes.c_void_p))[0]
        text = wintypes.LPWSTR()
        if not adv.ConvertSidToStringSidW(ctypes.c_void_p(sid), ctypes.byref(text)):  # type: ignore[attr-defined]
            return None
        value = str(text.value)
        k32.LocalFree(text)  # type: ignore[attr-defined]
        return value
    finally:
        if token:
            k32.CloseHandle(token)  # type: ignore[attr-defined]
        k32.CloseHandle(proc)  # type: ignore[attr-defined]
