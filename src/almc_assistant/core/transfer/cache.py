"""Keep the OS page cache out of the read-back, per platform, and say honestly how.

Thread contract: stateless functions on file descriptors, callable from any worker.

- **Linux (and other POSIX with ``posix_fadvise``)**: after ``fdatasync``, the written pages
  are clean and ``POSIX_FADV_DONTNEED`` drops them, so the read-back comes from the
  storage. (A device's own cache, or a network server's, is beyond our reach; the bytes
  at least left this machine's memory.)
- **macOS**: ``F_NOCACHE`` on the descriptors makes reads and writes bypass the unified
  buffer cache for new I/O (best effort, untested here); ``F_FULLFSYNC`` flushes the drive.
- **Windows**: nothing to drop here; the read-back opens the copy a second time with
  ``FILE_FLAG_NO_BUFFERING`` (:mod:`unbuffered`) and says ``READ_BACK_UNBUFFERED`` per
  copy; :func:`read_back_method` (the default for copies not read back that way) says
  ``READ_BACK_CACHED``.
"""

from __future__ import annotations

import os
import sys

from almc_assistant.core.transfer.events import READ_BACK_CACHED, READ_BACK_EVICTED

_HAS_FADVISE = hasattr(os, "posix_fadvise") and hasattr(os, "POSIX_FADV_DONTNEED")
_F_NOCACHE = 48  # <sys/fcntl.h> on macOS
_F_FULLFSYNC = 51


def read_back_method() -> str:
    """How a read-back on this platform avoids the cache (for receipts and events)."""
    if _HAS_FADVISE or sys.platform == "darwin":
        return READ_BACK_EVICTED
    return READ_BACK_CACHED


def prepare(fd: int) -> bool:
    """Per-descriptor setup: bypass the cache where that is the platform's way (macOS).

    ``False`` when that way was refused (the read-back then says the cache was used).
    """
    if sys.platform == "darwin":  # pragma: no cover - untested here
        import fcntl

        try:
            fcntl.fcntl(fd, _F_NOCACHE, 1)
        except OSError:
            return False
    return True


def sequential(fd: int) -> None:
    """Hint that ``fd`` is read front to back (bigger read-ahead)."""
    if hasattr(os, "POSIX_FADV_SEQUENTIAL"):
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_SEQUENTIAL)
        except OSError:
            pass


def evict(fd: int, offset: int = 0, length: int = 0) -> None:
    """Drop the cached pages of ``[offset, offset+length)`` (0 = to the end).

    Dirty pages are not dropped: call :func:`flush` first.
    """
    if _HAS_FADVISE:
        try:
            os.posix_fadvise(fd, offset, length, os.POSIX_FADV_DONTNEED)
        except OSError:
            pass


def prefetch(fd: int) -> None:
    """Start reading the whole file into the cache in the background (``WILLNEED``).

    Used after :func:`evict` so that many small files are read *from storage* in parallel
    rather than one synchronous read after the other.
    """
    if hasattr(os, "POSIX_FADV_WILLNEED"):
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_WILLNEED)
        except OSError:
            pass


def flush(fd: int, *, full: bool = False) -> None:
    """Make the written bytes durable: ``fdatasync`` (``fsync`` with ``full``).

    On macOS ``full`` also asks the drive to flush its own cache (``F_FULLFSYNC``).
    """
    if full:
        if sys.platform == "darwin":  # pragma: no cover - untested here
            import fcntl

            try:
                fcntl.fcntl(fd, _F_FULLFSYNC)
                return
            except OSError:
                pass
        os.fsync(fd)
    elif hasattr(os, "fdatasync"):
        os.fdatasync(fd)
    else:  # pragma: no cover - macOS, Windows
        os.fsync(fd)


def fsync_dir(path: str | os.PathLike[str]) -> None:
    """Make a rename in folder ``path`` durable (a no-op where folders cannot be opened)."""
    if os.name == "nt":  # pragma: no cover - Windows cannot open a folder for fsync
        return
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
