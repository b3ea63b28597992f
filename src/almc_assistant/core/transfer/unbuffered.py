"""Windows: read a file from the storage, bypassing the system cache (``NO_BUFFERING``).

Thread contract: an :class:`UnbufferedReader` belongs to one thread at a time (the
read-back's); :func:`open_unbuffered` may be called from any worker.

Windows has no ``posix_fadvise``: ordinary reads of a freshly written file come from
its cache. A handle opened with ``FILE_FLAG_NO_BUFFERING`` reads the volume itself,
under three rules: the file offset, the length asked for and the buffer's address are
all multiples of the volume's sector size. The reader therefore reads whole aligned
blocks into an aligned slice of the caller's buffer (found inside it with ctypes, so no
copy and no allocation) and hands on only the bytes asked for; a file's last block comes
back short, which the flag allows (the unaligned tail). Before reading a window, the
writer's handle is flushed (``os.fsync`` is ``FlushFileBuffers`` there), so the storage
holds what the cache held.

When Windows refuses the flag (the open, or a read, fails with "invalid parameter", as
some network redirectors and file systems do), :func:`open_unbuffered` returns ``None``
or :meth:`UnbufferedReader.read_range` raises :class:`Unsupported`; the caller then
reads through the cache and says so in the receipt.

Wine (the Windows lane) accepts the flag but opens the Unix file without ``O_DIRECT``
and enforces no alignment: its reads come from Linux's page cache. :func:`honoured` is
false there, so receipts made under Wine do not claim the cache was bypassed; the lane
still runs this code and checks every read against the alignment rules.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable
from ctypes import wintypes
from typing import Any

from almc_assistant.core import wininfo
from almc_assistant.core.transfer.direct import Buffer
from almc_assistant.core.wininfo import Overlapped

ALIGN = 4096  # at least one memory page; rounded up to the volume's sector size
_ERROR_HANDLE_EOF = 38
_ERROR_INVALID_PARAMETER = 87
_GENERIC_READ = 0x80000000
_SHARE_ALL = 0x1 | 0x2 | 0x4  # read, write, delete: the writer keeps its handle open
_OPEN_EXISTING = 3
_FLAG_NO_BUFFERING = 0x20000000
_FLAG_SEQUENTIAL_SCAN = 0x08000000
_INVALID_HANDLE = ctypes.c_void_p(-1).value
_win: Any = ctypes  # WinDLL, WinError, get_last_error exist on Windows only


class Unsupported(OSError):
    """The volume refused an unbuffered read: read through the cache and say so.

    ``reached`` is where the bytes already passed on end (go on from there).
    """

    reached: int = 0


def honoured() -> bool:
    """Whether an unbuffered handle here really bypasses the cache (not under Wine)."""
    if sys.platform != "win32":
        return False
    ntdll = _win.WinDLL("ntdll")  # pragma: no cover - Windows only
    return not hasattr(ntdll, "wine_get_version")  # pragma: no cover


def sector_alignment(path: str) -> int:  # pragma: no cover - Windows only
    """The alignment unbuffered reads on ``path``'s volume need (a multiple of 4096)."""
    k = wininfo.kernel32()
    root = ctypes.create_unicode_buffer(32768)
    if not k.GetVolumePathNameW(path, root, len(root)):
        return ALIGN
    spc, bps, free, total = (wintypes.DWORD() for _ in range(4))
    if not k.GetDiskFreeSpaceW(root.value, spc, bps, free, total) or not bps.value:
        return ALIGN
    sector = bps.value
    return -(-max(ALIGN, sector) // sector) * sector


def open_unbuffered(path: str | os.PathLike[str]) -> UnbufferedReader | None:
    """A reader bypassing the cache, or ``None`` (not Windows, or the flag was refused)."""
    if sys.platform != "win32":
        return None
    k = wininfo.kernel32()  # pragma: no cover - Windows only (the Windows lane runs it)
    name = os.fspath(path)
    handle = k.CreateFileW(
        name,
        _GENERIC_READ,
        _SHARE_ALL,
        None,
        _OPEN_EXISTING,
        _FLAG_NO_BUFFERING | _FLAG_SEQUENTIAL_SCAN,
        None,
    )
    if handle is None or handle == _INVALID_HANDLE:
        err = _win.get_last_error()
        if err == _ERROR_INVALID_PARAMETER:
            return None
        raise _win.WinError(err)
    return UnbufferedReader(k, handle, sector_alignment(name))


class UnbufferedReader:  # pragma: no cover - Windows only (the Windows lane runs it)
    """Reads byte ranges of one file with the cache bypassed."""

    def __init__(self, kernel32: Any, handle: int, align: int) -> None:
        self._k = kernel32
        self._handle: int | None = handle
        self.align = align

    def read_range(
        self,
        start: int,
        end: int,
        buffer: Buffer,
        consume: Callable[[memoryview], object],
    ) -> int:
        """Pass the bytes ``[start, end)`` to ``consume``; return where reading stopped.

        Returns less than ``end`` when the file is shorter. With ``end`` past the aligned
        block holding the file's end, reads on to the end of the file (the caller asks
        for one byte more to see whether anything was written beyond what it expects).
        """
        view, addr = _aligned(buffer, self.align)
        a = self.align
        pos = start
        block = start - start % a
        got = wintypes.DWORD()
        ov = Overlapped()
        while pos < end:
            want = min(len(view), -(-(end - block) // a) * a)
            ov.Offset, ov.OffsetHigh = block & 0xFFFFFFFF, block >> 32
            ok = self._k.ReadFile(self._handle, addr, want, ctypes.byref(got), ctypes.byref(ov))
            n = got.value if ok else 0
            if not ok:
                err = _win.get_last_error()
                if err == _ERROR_INVALID_PARAMETER:
                    exc = Unsupported(err, "the volume refused an unbuffered read")
                    exc.reached = pos
                    raise exc
                if err != _ERROR_HANDLE_EOF:
                    raise _win.WinError(err)
            upto = min(block + n, end)
            if upto > pos:
                consume(view[pos - block : upto - block])
                pos = upto
            if n < want:
                break  # the end of the file
            block += n
        return pos

    def close(self) -> None:
        if self._handle is not None:
            self._k.CloseHandle(self._handle)
            self._handle = None


def _aligned(buffer: Buffer, align: int) -> tuple[memoryview, int]:  # pragma: no cover
    """The largest aligned, whole-block slice of ``buffer``, and its address."""
    base = ctypes.addressof((ctypes.c_char * len(buffer)).from_buffer(buffer))
    skip = -base % align
    size = (len(buffer) - skip) // align * align
    if size < align:
        raise ValueError(f"a read-back buffer of {len(buffer)} bytes is too small")
    return memoryview(buffer)[skip : skip + size], base + skip
