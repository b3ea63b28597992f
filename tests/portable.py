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

    return hasattr(ctypes.WinDLL("ntdll"), "wine_get_version")


UNDER_WINE = _under_wine()
