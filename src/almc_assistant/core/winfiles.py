"""Windows: is a file held open by another program (share mode refused)?

Thread contract: a pure function; callable from any thread.

On Windows a program may open a file without sharing it: NIS-Elements keeps the ND2 it
is acquiring open that way, and an antivirus scanner may hold a freshly written file for
a moment. Opening it then fails with ``ERROR_SHARING_VIOLATION``, but Python's
``open``/``os.open`` go through the C runtime, which reports plain ``EACCES``
("permission denied"), and would make us tell the user to check their permissions.
:func:`held_by_another_program` asks Windows directly, so the message can say what is
really going on, and the copy engine can wait and retry (with that reason) instead of
failing. Elsewhere it is always false. Tested under Wine by the Windows lane (a second
Windows process opens the file with a share mode of 0).
"""

from __future__ import annotations

import ctypes
import errno
import os
import sys
from typing import Any

_SHARING_VIOLATION = 32
_LOCK_VIOLATION = 33
_win: Any = ctypes  # WinDLL and get_last_error exist on Windows only

IN_USE = "another program has it open and does not share it (the acquisition software may "
IN_USE += "still be writing it, or an antivirus scanner is checking it)"
IN_USE_NEXT = "Wait until the acquisition has finished (or close the program holding the "
IN_USE_NEXT += "file), then try again."


def held_by_another_program(exc: OSError, path: str | os.PathLike[str]) -> bool:
    """Whether ``exc`` (raised opening ``path``) is Windows refusing to share the file."""
    if getattr(exc, "winerror", None) in (_SHARING_VIOLATION, _LOCK_VIOLATION):
        return True
    if sys.platform != "win32" or exc.errno != errno.EACCES:
        return False
    k = _win.WinDLL("kernel32", use_last_error=True)  # pragma: no cover - Windows only
    k.CreateFileW.restype = ctypes.c_void_p  # pragma: no cover
    k.CreateFileW.argtypes = [  # pragma: no cover
        ctypes.c_wchar_p,
        ctypes.c_uint32,
        ctypes.c_uint32,
        ctypes.c_void_p,
        ctypes.c_uint32,
        ctypes.c_uint32,
        ctypes.c_void_p,
    ]
    # read access, sharing everything, folders too (backup semantics): only another
    # program's share mode can refuse this
    handle = k.CreateFileW(os.fspath(path), 0x80000000, 7, None, 3, 0x02000000, None)
    if handle is not None and handle != ctypes.c_void_p(-1).value:  # pragma: no cover
        k.CloseHandle(ctypes.c_void_p(handle))
        return False
    return _win.get_last_error() in (_SHARING_VIOLATION, _LOCK_VIOLATION)  # pragma: no cover
