"""Windows: who owns a file and who else may write it, read from its security descriptor.

Thread contract: plain functions on handles the caller owns; any thread. Windows only
(``OSError`` elsewhere; callers check ``sys.platform`` first).

The POSIX rules of :mod:`core.evidence` ("owned by the file's owner or root, writable by
nobody else") read on Windows as: the owner SID is the expected user's, or a trusted
system account (SYSTEM, Administrators, TrustedInstaller); and no ACE that applies to the
object itself (not inherit-only) allows writing, deleting, or changing the permissions
to any other SID. A missing (NULL) DACL lets everyone do anything. ``CREATOR OWNER`` and
``OWNER RIGHTS`` ACEs stand for the owner. Deny ACEs are ignored (an allow elsewhere
may still grant, and ignoring them only makes the check stricter).

- :func:`user_sid`: this process's user, as a string SID (``S-1-5-21-...``).
- :func:`is_elevated_admin`: whether this process's token holds BUILTIN\\Administrators
  enabled (``CheckTokenMembership``: false for an administrator's UAC-filtered token,
  where the group is deny-only), and what ``TokenElevation`` says.
- :func:`security_of`: the owner SID and the DACL's entries of an open handle (it needs
  ``READ_CONTROL`` access).
- :func:`others_may_write`: why someone other than ``owner`` could change the object
  ("" when nobody could).
"""

from __future__ import annotations

import ctypes
import functools
import sys
from ctypes import wintypes
from dataclasses import dataclass
from typing import Any

_win: Any = ctypes  # get_last_error and FormatError exist on Windows only

SYSTEM_SIDS = frozenset(
    {
        "S-1-5-18",  # LocalSystem
        "S-1-5-32-544",  # BUILTIN\\Administrators
        "S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464",  # TrustedInstaller
    }
)
_OWNER_ALIASES = frozenset({"S-1-3-0", "S-1-3-4"})  # CREATOR OWNER, OWNER RIGHTS
_SE_FILE_OBJECT = 1
_OWNER_INFO, _DACL_INFO = 0x1, 0x4
_ACCESS_ALLOWED = 0
_INHERIT_ONLY = 0x8
# Anything that changes the object or what it holds: write and append data (a folder's
# add file / add subfolder), extended attributes, attributes, delete a child, delete,
# change the DACL or the owner, and the generic rights that include them.
_WRITE_RIGHTS = (
    0x2 | 0x4 | 0x10 | 0x40 | 0x100 | 0x10000 | 0x40000 | 0x80000 | 0x40000000 | 0x10000000
)


@dataclass(frozen=True, slots=True)
class Ace:
    kind: int
    flags: int
    mask: int
    sid: str


@dataclass(frozen=True, slots=True)
class Security:
    owner: str
    dacl: tuple[Ace, ...] | None  # None: no DACL (everyone has every right)


@functools.cache
def _dlls() -> tuple[Any, Any]:
    if sys.platform != "win32":
        raise OSError("Windows security descriptors exist on Windows only")
    adv = ctypes.WinDLL("advapi32", use_last_error=True)
    from almc_assistant.core import wininfo

    k32 = wininfo.kernel32()
    adv.GetSecurityInfo.restype = wintypes.DWORD
    adv.GetSecurityInfo.argtypes = [
        wintypes.HANDLE,
        ctypes.c_int,
        wintypes.DWORD,
        ctypes.POINTER(ctypes.c_void_p),
        ctypes.POINTER(ctypes.c_void_p),
        ctypes.POINTER(ctypes.c_void_p),
        ctypes.POINTER(ctypes.c_void_p),
        ctypes.POINTER(ctypes.c_void_p),
    ]
    adv.GetAce.argtypes = [ctypes.c_void_p, wintypes.DWORD, ctypes.POINTER(ctypes.c_void_p)]
    adv.ConvertSidToStringSidW.argtypes = [ctypes.c_void_p, ctypes.POINTER(wintypes.LPWSTR)]
    adv.OpenProcessToken.argtypes = [
        wintypes.HANDLE,
        wintypes.DWORD,
        ctypes.POINTER(wintypes.HANDLE),
    ]
    adv.GetTokenInformation.argtypes = [
        wintypes.HANDLE,
        ctypes.c_int,
        ctypes.c_void_p,
        wintypes.DWORD,
        ctypes.POINTER(wintypes.DWORD),
    ]
    adv.ConvertStringSidToSidW.argtypes = [wintypes.LPCWSTR, ctypes.POINTER(ctypes.c_void_p)]
    adv.CheckTokenMembership.argtypes = [
        wintypes.HANDLE,
        ctypes.c_void_p,
        ctypes.POINTER(wintypes.BOOL),
    ]
    adv.ConvertStringSecurityDescriptorToSecurityDescriptorW.argtypes = [
        wintypes.LPCWSTR,
        wintypes.DWORD,
        ctypes.POINTER(ctypes.c_void_p),
        ctypes.c_void_p,
    ]
    return adv, k32


def descriptor_from_sddl(sddl: str) -> ctypes.c_void_p:
    """A self-relative security descriptor written in SDDL; free it with ``LocalFree``."""
    adv, _ = _dlls()
    sd = ctypes.c_void_p()
    if not adv.ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl, 1, sd, None):
        raise OSError(0, f"bad security descriptor {sddl}", None, _win.get_last_error())
    return sd


def _sid_text(adv: Any, k32: Any, psid: int) -> str:
    text = wintypes.LPWSTR()
    if not adv.ConvertSidToStringSidW(psid, ctypes.byref(text)):
        raise OSError(0, "cannot read a SID", None, _win.get_last_error())
    try:
        return str(text.value)
    finally:
        k32.LocalFree(ctypes.cast(text, ctypes.c_void_p))


def user_sid() -> str:
    """The SID of the user this process runs as."""
    adv, k32 = _dlls()
    token = wintypes.HANDLE()
    if not adv.OpenProcessToken(k32.GetCurrentProcess(), 0x0008, ctypes.byref(token)):
        raise OSError(0, "cannot open the process token", None, _win.get_last_error())
    try:
        size = wintypes.DWORD()
        adv.GetTokenInformation(token, 1, None, 0, ctypes.byref(size))  # TokenUser
        buf = ctypes.create_string_buffer(max(size.value, 64))
        if not adv.GetTokenInformation(token, 1, buf, len(buf), ctypes.byref(size)):
            raise OSError(0, "cannot read the process token", None, _win.get_last_error())
        psid = ctypes.cast(buf, ctypes.POINTER(ctypes.c_void_p))[0]
        return _sid_text(adv, k32, psid)
    finally:
        k32.CloseHandle(token)


ADMINISTRATORS = "S-1-5-32-544"


def is_elevated_admin() -> bool:
    """Whether this process acts with BUILTIN\\Administrators enabled in its token:
    ``CheckTokenMembership`` on the effective token (an administrator whose token UAC
    filtered holds the group deny-only: False), the check ``IsUserAnAdmin`` wraps."""
    adv, k32 = _dlls()
    sid = ctypes.c_void_p()
    if not adv.ConvertStringSidToSidW(ADMINISTRATORS, ctypes.byref(sid)):
        raise OSError(0, "cannot make the Administrators SID", None, _win.get_last_error())
    try:
        member = wintypes.BOOL()
        if not adv.CheckTokenMembership(None, sid, ctypes.byref(member)):
            raise OSError(0, "cannot check the process token", None, _win.get_last_error())
        return bool(member.value)
    finally:
        k32.LocalFree(sid)


def security_of(handle: int) -> Security:
    """The owner and DACL of the object ``handle`` is open on (``READ_CONTROL``)."""
    adv, k32 = _dlls()
    owner, dacl, sd = ctypes.c_void_p(), ctypes.c_void_p(), ctypes.c_void_p()
    err = adv.GetSecurityInfo(
        handle,
        _SE_FILE_OBJECT,
        _OWNER_INFO | _DACL_INFO,
        ctypes.byref(owner),
        None,
        ctypes.byref(dacl),
        None,
        ctypes.byref(sd),
    )
    if err:
        raise OSError(0, f"cannot read the permissions ({_win.FormatError(err)})", None, err)
    try:
        owner_sid = _sid_text(adv, k32, owner.value) if owner.value else ""
        if not dacl.value:
            return Security(owner_sid, None)
        count = ctypes.cast(dacl.value + 4, ctypes.POINTER(ctypes.c_uint16))[0]  # AceCount
        aces = []
        for i in range(count):
            ace = ctypes.c_void_p()
            if not adv.GetAce(dacl.value, i, ctypes.byref(ace)) or not ace.value:
                continue
            raw = ctypes.cast(ace.value, ctypes.POINTER(ctypes.c_uint8))
            kind, flags = raw[0], raw[1]
            if kind not in (0, 1):  # ACCESS_ALLOWED, ACCESS_DENIED: mask then SID at 8
                aces.append(Ace(kind, flags, 0xFFFFFFFF, "?"))  # unknown: assume the worst
                continue
            mask = ctypes.cast(ace.value + 4, ctypes.POINTER(ctypes.c_uint32))[0]
            aces.append(Ace(kind, flags, mask, _sid_text(adv, k32, ace.value + 8)))
        return Security(owner_sid, tuple(aces))
    finally:
        k32.LocalFree(sd)


def others_may_write(handle: int, owner: str) -> str:
    """Why a user other than ``owner`` (or the system accounts) could change the object."""
    sec = security_of(handle)
    return writers_besides(sec, owner)


def writers_besides(sec: Security, owner: str) -> str:
    """:func:`others_may_write` on a security descriptor already read."""
    trusted = SYSTEM_SIDS | {owner}
    if sec.owner not in trusted:
        return f"it belongs to another account ({sec.owner or 'no owner'})"
    if sec.dacl is None:
        return "it has no access control list (everyone may write it)"
    for ace in sec.dacl:
        if ace.kind == 1 or ace.flags & _INHERIT_ONLY or not ace.mask & _WRITE_RIGHTS:
            continue
        if ace.sid == "?" and ace.kind != _ACCESS_ALLOWED:
            return "its access control list has entries this program cannot read"
        if ace.sid not in trusted and ace.sid not in _OWNER_ALIASES:
            return f"its access control list lets {ace.sid} write it"
    return ""
