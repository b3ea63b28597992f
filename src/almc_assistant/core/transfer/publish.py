"""Give a verified partial its final name without ever replacing a file found there.

Thread contract: stateless; callable from any worker.

On Linux, ``renameat2(RENAME_NOREPLACE)`` does it in one system call and atomically: if
anything appears at the final name, however late, the rename fails with ``EEXIST`` and
the file there is untouched. On Windows ``os.rename`` (``MoveFileExW`` without
``MOVEFILE_REPLACE_EXISTING``) refuses an existing name just as atomically. Where neither
is available (macOS, an old kernel, or a file system that does not support the flag:
``EINVAL``), a check that the name is free followed by ``os.replace`` is used instead (a
file created between the two would be replaced: the window is a few microseconds, and it
is the best the platform offers).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import sys
from collections.abc import Callable
from pathlib import Path

_AT_FDCWD = -100
_RENAME_NOREPLACE = 1


def _load_renameat2() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        fn = libc.renameat2  # glibc >= 2.28
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


_RENAMEAT2 = _load_renameat2()


def publish(partial: Path, final: Path) -> bool:
    """Rename ``partial`` to ``final``; ``False`` (nothing renamed) if ``final`` exists.

    Other failures raise :class:`OSError`.
    """
    if _RENAMEAT2 is not None:
        src, dst = os.fsencode(partial), os.fsencode(final)
        if _RENAMEAT2(_AT_FDCWD, src, _AT_FDCWD, dst, _RENAME_NOREPLACE) == 0:
            return True
        err = ctypes.get_errno()
        if err == errno.EEXIST:
            return False
        if err not in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
            raise OSError(err, os.strerror(err), str(partial), None, str(final))
    if os.name == "nt":  # MoveFileExW without REPLACE_EXISTING: refuses atomically
        try:
            partial.rename(final)
        except FileExistsError:
            return False
        return True
    if os.path.lexists(final):  # fallback: check, then rename
        return False
    partial.replace(final)
    return True
