"""An exclusive lock on a file, shared by every process (and thread) that takes it.

Thread contract: :func:`holding` may be used from any thread; each call opens its own
descriptor, so two threads of one process exclude each other as two processes do.

POSIX: ``flock``. Windows: ``LockFileEx`` on the file's first byte (not
``msvcrt.locking``: Wine's gives up after 10 ms and leaves ``errno`` at 0). Tried
without blocking, with a short backoff (5 ms doubling to 50 ms), for at most the
caller's ``wait_s``: never a hang. The lock file is opened without following links and
must be a regular file (:class:`NotALockFile` otherwise).
"""

from __future__ import annotations

import errno
import os
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_FLAGS = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
_FLAGS |= getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)


class NotALockFile(OSError):
    """A link, folder or special file has the lock file's name: not opened through."""


class LockTimeout(OSError):
    """The lock stayed held by another holder for the whole wait."""


@contextmanager
def holding(path: Path, *, wait_s: float, mode: int = 0o600) -> Iterator[None]:
    """Hold the exclusive lock on ``path`` (created with ``mode`` if missing) for the
    ``with`` block. :class:`LockTimeout` after ``wait_s``; ``OSError`` otherwise."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | _FLAGS, mode)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise NotALockFile(
                errno.ELOOP, "a symbolic link has the lock's name", str(path)
            ) from exc
        raise
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise NotALockFile(errno.EINVAL, "not a regular file", str(path))
        wait(fd, path, wait_s)
        try:
            yield
        finally:
            unlock(fd)
    finally:
        os.close(fd)


def wait(fd: int, path: Path, wait_s: float) -> None:
    """Take the lock on ``fd``, polling with a backoff up to ``wait_s``."""
    deadline = time.monotonic() + wait_s
    delay = 0.005
    while not try_lock(fd):
        if time.monotonic() >= deadline:
            raise LockTimeout(errno.EAGAIN, f"held by another for {wait_s:g} s", str(path))
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


if os.name == "nt":  # pragma: no cover - Windows only
    import ctypes
    import msvcrt
    from ctypes import wintypes

    from almc_assistant.core.wininfo import Overlapped

    _ERROR_LOCK_VIOLATION = 33
    _ERROR_IO_PENDING = 997
    _EXCLUSIVE_NOW = 0x2 | 0x1  # LOCKFILE_EXCLUSIVE_LOCK | LOCKFILE_FAIL_IMMEDIATELY

    _k32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
    _k32.LockFileEx.argtypes = [wintypes.HANDLE, wintypes.DWORD, wintypes.DWORD]
    _k32.LockFileEx.argtypes += [wintypes.DWORD, wintypes.DWORD, ctypes.c_void_p]
    _k32.LockFileEx.restype = wintypes.BOOL
    _k32.UnlockFileEx.argtypes = [wintypes.HANDLE, wintypes.DWORD, wintypes.DWORD]
    _k32.UnlockFileEx.argtypes += [wintypes.DWORD, ctypes.c_void_p]
    _k32.UnlockFileEx.restype = wintypes.BOOL

    def try_lock(fd: int) -> bool:
        """Take the lock now if it is free (False: held by another handle)."""
        handle = msvcrt.get_osfhandle(fd)  # type: ignore[attr-defined]
        if _k32.LockFileEx(handle, _EXCLUSIVE_NOW, 0, 1, 0, ctypes.byref(Overlapped())):
            return True
        code = ctypes.get_last_error()  # type: ignore[attr-defined]
        if code in (_ERROR_LOCK_VIOLATION, _ERROR_IO_PENDING):
            return False  # held by another handle (process, thread or user)
        raise ctypes.WinError(code)  # type: ignore[attr-defined]

    def unlock(fd: int) -> None:
        handle = msvcrt.get_osfhandle(fd)  # type: ignore[attr-defined]
        if not _k32.UnlockFileEx(handle, 0, 1, 0, ctypes.byref(Overlapped())):
            raise ctypes.WinError(ctypes.get_last_error())  # type: ignore[attr-defined]

else:
    import fcntl

    def try_lock(fd: int) -> bool:
        """Take the lock now if it is free (False: held by another descriptor)."""
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
