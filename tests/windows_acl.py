"""Windows test helper: give a file or folder a DACL written in SDDL (``SetFileSecurityW``).

Under Wine the DACL is kept (and mapped onto the Unix mode bits), and ``GetSecurityInfo``
reads it back: enough to test the ACL checks of ``core.winacl`` with real Win32 calls.
"""

from __future__ import annotations

import ctypes
from ctypes import wintypes
from pathlib import Path


def set_dacl(path: Path, sddl: str) -> None:
    """Replace ``path``'s DACL with the one in ``sddl`` (e.g. ``"D:(A;;FA;;;WD)"``)."""
    _set(path, sddl, 0x4)  # DACL_SECURITY_INFORMATION


def set_owner(path: Path, sid: str) -> None:
    """Make ``sid`` the owner of ``path`` (Windows needs a privilege; Wine does not)."""
    _set(path, f"O:{sid}", 0x1)  # OWNER_SECURITY_INFORMATION


def _set(path: Path, sddl: str, what: int) -> None:
    from almc_assistant.core import winacl, wininfo

    adv = ctypes.WinDLL("advapi32", use_last_error=True)  # type: ignore[attr-defined]
    sd = winacl.descriptor_from_sddl(sddl)
    try:
        adv.SetFileSecurityW.argtypes = [wintypes.LPCWSTR, wintypes.DWORD, ctypes.c_void_p]
        if not adv.SetFileSecurityW(str(path), what, sd):
            raise ctypes.WinError(ctypes.get_last_error())  # type: ignore[attr-defined]
    finally:
        wininfo.kernel32().LocalFree(sd)
