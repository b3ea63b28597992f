"""Windows: what a file *handle* says about its file (ctypes, no pywin32).

Thread contract: plain functions on handles the caller owns; any thread. Windows only:
every function raises ``OSError`` elsewhere (callers check ``sys.platform`` first).

``os.stat`` on Windows gives ``st_ctime`` as the *creation* time, which an in-place
edit never moves: "unchanged" would miss a same-size edit with the mtime put back.
NTFS keeps a real change time (``FILE_BASIC_INFO.ChangeTime``: any write, rename,
attribute or security change moves it; no documented call sets it back), read here with
``GetFileInformationByHandleEx(FileBasicInfo)``. The volume serial number and file index
come from ``GetFileInformationByHandle`` (what Python 3.11's ``os.stat`` reports as
``st_dev`` and ``st_ino``, so the two agree).

- :func:`open_handle`: ``CreateFileW`` for attributes only (sharing everything, so a
  file held open without sharing by the acquisition software is still reachable), or for
  the cleanup's checked delete (:mod:`core.winhandles`).
- :func:`identity_of_handle`: volume serial, file index, attributes, size, mtime and
  change time, all from one handle.
- :func:`final_path`: ``GetFinalPathNameByHandleW``, where the handle's file really is
  (any length: the buffer grows to what the call asks for).
"""

from __future__ import annotations

import ctypes
import functools
import os
import sys
from ctypes import wintypes
from dataclasses import dataclass
from typing import Any

GENERIC_READ = 0x80000000
FILE_READ_ATTRIBUTES = 0x0080
DELETE = 0x00010000
READ_CONTROL = 0x00020000
SYNCHRONIZE = 0x00100000
SHARE_READ, SHARE_WRITE, SHARE_DELETE = 1, 2, 4
SHARE_ALL = SHARE_READ | SHARE_WRITE | SHARE_DELETE
OPEN_EXISTING = 3
FLAG_BACKUP_SEMANTICS = 0x02000000
FLAG_OPEN_REPARSE_POINT = 0x00200000
ATTR_DIRECTORY = 0x10
ATTR_REPARSE_POINT = 0x400
_INVALID = ctypes.c_void_p(-1).value
_EPOCH = 116444736000000000  # 1601-01-01 to 1970-01-01 in 100 ns
_FILE_BASIC_INFO = 0  # FILE_INFO_BY_HANDLE_CLASS
_ERROR_MORE_DATA = 234
_LONGEST = 32_768  # characters in the longest path Windows has


class _BasicInfo(ctypes.Structure):
    _fields_ = [
        ("CreationTime", ctypes.c_int64),
        ("LastAccessTime", ctypes.c_int64),
        ("LastWriteTime", ctypes.c_int64),
        ("ChangeTime", ctypes.c_int64),
        ("FileAttributes", wintypes.DWORD),
    ]


class _ByHandle(ctypes.Structure):  # BY_HANDLE_FILE_INFORMATION
    _fields_ = [
        ("dwFileAttributes", wintypes.DWORD),
        ("ftCreationTime", wintypes.FILETIME),
        ("ftLastAccessTime", wintypes.FILETIME),
        ("ftLastWriteTime", wintypes.FILETIME),
        ("dwVolumeSerialNumber", wintypes.DWORD),
        ("nFileSizeHigh", wintypes.DWORD),
        ("nFileSizeLow", wintypes.DWORD),
        ("nNumberOfLinks", wintypes.DWORD),
        ("nFileIndexHigh", wintypes.DWORD),
        ("nFileIndexLow", wintypes.DWORD),
    ]


class Overlapped(ctypes.Structure):
    """Win32 ``OVERLAPPED``: the file offset of a ``ReadFile`` or ``LockFileEx``."""

    _fields_ = [
        ("Internal", ctypes.c_size_t),
        ("InternalHigh", ctypes.c_size_t),
        ("Offset", wintypes.DWORD),
        ("OffsetHigh", wintypes.DWORD),
        ("hEvent", wintypes.HANDLE),
    ]


@dataclass(frozen=True, slots=True)
class HandleInfo:
    """What one handle says about its file (times in ns since 1970, like ``os.stat``)."""

    volume_serial: int
    file_index: int
    attributes: int
    size: int
    mtime_ns: int
    change_ns: int

    @property
    def is_dir(self) -> bool:
        return bool(self.attributes & ATTR_DIRECTORY)

    @property
    def is_reparse_point(self) -> bool:
        return bool(self.attributes & ATTR_REPARSE_POINT)


@functools.cache
def kernel32() -> Any:
    """kernel32 with the prototypes of the calls this package makes (declared once)."""
    if sys.platform != "win32":
        raise OSError("Windows file handles exist on Windows only")
    k = ctypes.WinDLL("kernel32", use_last_error=True)
    k.CreateFileW.restype = wintypes.HANDLE
    k.CreateFileW.argtypes = [
        wintypes.LPCWSTR,
        wintypes.DWORD,
        wintypes.DWORD,
        ctypes.c_void_p,
        wintypes.DWORD,
        wintypes.DWORD,
        wintypes.HANDLE,
    ]
    k.GetFileInformationByHandleEx.argtypes = [
        wintypes.HANDLE,
        ctypes.c_int,
        ctypes.c_void_p,
        wintypes.DWORD,
    ]
    k.GetFileInformationByHandle.argtypes = [wintypes.HANDLE, ctypes.c_void_p]
    k.SetFileInformationByHandle.argtypes = [
        wintypes.HANDLE,
        ctypes.c_int,
        ctypes.c_void_p,
        wintypes.DWORD,
    ]
    k.GetFinalPathNameByHandleW.argtypes = [
        wintypes.HANDLE,
        wintypes.LPWSTR,
        wintypes.DWORD,
        wintypes.DWORD,
    ]
    k.CloseHandle.argtypes = [wintypes.HANDLE]
    k.LocalFree.argtypes = [ctypes.c_void_p]
    k.GetCurrentProcess.restype = wintypes.HANDLE
    # reading from the storage with the cache bypassed (core.transfer.unbuffered)
    k.ReOpenFile.restype = wintypes.HANDLE
    k.ReOpenFile.argtypes = [wintypes.HANDLE, wintypes.DWORD, wintypes.DWORD, wintypes.DWORD]
    k.ReadFile.argtypes = [
        wintypes.HANDLE,
        ctypes.c_void_p,
        wintypes.DWORD,
        ctypes.POINTER(wintypes.DWORD),
        ctypes.POINTER(Overlapped),
    ]
    k.ReadFile.restype = wintypes.BOOL
    k.GetVolumePathNameW.argtypes = [wintypes.LPCWSTR, wintypes.LPWSTR, wintypes.DWORD]
    k.GetDiskFreeSpaceW.argtypes = [wintypes.LPCWSTR, *[ctypes.POINTER(wintypes.DWORD)] * 4]
    return k


def last_error(what: str, path: str = "") -> OSError:
    """The thread's last Win32 error as an ``OSError`` (``winerror`` set)."""
    code = ctypes.get_last_error()  # type: ignore[attr-defined]
    return OSError(0, f"{what}: {ctypes.FormatError(code)}", path or None, code)  # type: ignore[attr-defined]


def open_handle(
    path: str | os.PathLike[str],
    *,
    access: int = FILE_READ_ATTRIBUTES | SYNCHRONIZE,
    share: int = SHARE_ALL,
    follow_links: bool = False,
) -> int:
    """``CreateFileW`` on an existing file or folder; the link itself unless
    ``follow_links`` (``FILE_FLAG_OPEN_REPARSE_POINT``). Close with :func:`close`."""
    flags = FLAG_BACKUP_SEMANTICS | (0 if follow_links else FLAG_OPEN_REPARSE_POINT)
    text = os.fspath(path)
    handle = kernel32().CreateFileW(text, access, share, None, OPEN_EXISTING, flags, None)
    if handle is None or handle == _INVALID:
        raise last_error("cannot open", text)
    return int(handle)


def close(handle: int) -> None:
    kernel32().CloseHandle(handle)


def identity_of_handle(handle: int) -> HandleInfo:
    """Volume serial, file index, attributes, size, mtime and change time of ``handle``.

    The change time is read first: an edit that lands between the two reads shows as a
    change at the next look, never as "unchanged"."""
    k = kernel32()
    basic = _BasicInfo()
    if not k.GetFileInformationByHandleEx(
        handle, _FILE_BASIC_INFO, ctypes.byref(basic), ctypes.sizeof(basic)
    ):
        raise last_error("cannot read the file's times")
    info = _ByHandle()
    if not k.GetFileInformationByHandle(handle, ctypes.byref(info)):
        raise last_error("cannot read the file's identity")
    mtime = info.ftLastWriteTime.dwHighDateTime << 32 | info.ftLastWriteTime.dwLowDateTime
    return HandleInfo(
        volume_serial=info.dwVolumeSerialNumber,
        file_index=info.nFileIndexHigh << 32 | info.nFileIndexLow,
        attributes=info.dwFileAttributes,
        size=info.nFileSizeHigh << 32 | info.nFileSizeLow,
        mtime_ns=_ns(mtime),
        change_ns=_ns(basic.ChangeTime),
    )


def identity_of_path(path: str | os.PathLike[str], *, follow_links: bool = False) -> HandleInfo:
    """:func:`identity_of_handle` through a handle opened for attributes only."""
    handle = open_handle(path, follow_links=follow_links)
    try:
        return identity_of_handle(handle)
    finally:
        close(handle)


def handle_of_fd(fd: int) -> int:
    """The Windows handle under a C runtime descriptor (owned by the descriptor)."""
    import msvcrt

    return int(msvcrt.get_osfhandle(fd))  # type: ignore[attr-defined]


def final_path(handle: int) -> str:
    """Where the handle's file is (links resolved), without the ``\\\\?\\`` prefix."""
    k = kernel32()
    size = 512
    while True:
        buf = ctypes.create_unicode_buffer(size)
        n = k.GetFinalPathNameByHandleW(handle, buf, size, 0)
        if n == 0:
            # Windows answers a short buffer with the length it needs; Wine 8 fails it
            # with ERROR_MORE_DATA instead: grow, up to the longest path there is.
            if ctypes.get_last_error() != _ERROR_MORE_DATA or size >= _LONGEST:  # type: ignore[attr-defined]
                raise last_error("cannot tell where the file is")
            size = min(size * 4, _LONGEST)
            continue
        if n < size:
            text = buf.value
            break
        size = n + 1
    if text.startswith("\\\\?\\UNC\\"):
        return "\\\\" + text[8:]
    return text[4:] if text.startswith("\\\\?\\") else text


def _ns(filetime: int) -> int:
    return (filetime - _EPOCH) * 100
