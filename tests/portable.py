"""What differs when the suite runs under Windows Python (the Windows lane, under Wine).

``IS_ROOT`` replaces module-level ``os.geteuid()`` (absent on Windows, where no test is
root's). ``WINDOWS`` is true under Windows Python. ``UNDER_WINE`` is true when that Windows
is Wine (``wine_get_version`` in ntdll), whose gaps some tests skip with the reason.
"""

from __future__ import annotations

import os
import sys

WINDOWS = sys.platform == "win32"
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def _under_wine() -> bool:
    if not WINDOWS:
        return False
    import ctypes

    return hasattr(ctypes.WinDLL("ntdll"), "wine_get_version")  # type: ignore[attr-defined,unused-ignore]  # Windows only


UNDER_WINE = _under_wine()


def _read_back_here() -> str:
    from almc_assistant.core.transfer import (
        READ_BACK_CACHED,
        READ_BACK_EVICTED,
        READ_BACK_UNBUFFERED,
    )

    if not WINDOWS:
        return READ_BACK_EVICTED  # Linux: fdatasync, then the pages are dropped
    # Windows bypasses the cache with FILE_FLAG_NO_BUFFERING; Wine ignores that flag
    return READ_BACK_CACHED if UNDER_WINE else READ_BACK_UNBUFFERED


READ_BACK_HERE = _read_back_here()  # what a copy's receipt says about its read-back here


def chmod_until_the_ctime_moves(path: os.PathLike[str]) -> None:
    """Change only ``path``'s permissions, until its change time moves (coarse clocks).

    POSIX: toggles group/other read. Windows: toggles the read-only attribute (the only
    permission bit ``os.chmod`` sets there), which moves NTFS's ChangeTime."""
    from pathlib import Path

    from almc_assistant.core.identity import FileIdentity

    f = Path(path)
    before = FileIdentity.of_path(f).ctime_ns
    while FileIdentity.of_path(f).ctime_ns == before:
        if WINDOWS:
            f.chmod(0o444 if f.stat().st_mode & 0o200 else 0o666)
        else:
            f.chmod(0o600 if f.stat().st_mode & 0o044 else 0o644)
