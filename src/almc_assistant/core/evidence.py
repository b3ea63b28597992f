"""Which evidence cleanup may believe: whose rows, which destinations, who could write.

Thread contract: immutable values and pure functions (the group look-up is cached, safe
from any thread).

A catalog row is a hint, never proof: any user who can write a catalog could write one.
Cleanup believes a copy only where no unprivileged user other than the file's owner could
have put it there or changed it:

- :class:`EvidenceRules` says whose rows a catalog may speak for (``catalog_owner_uid``:
  a user's private catalog speaks only about files that user owns; ``None`` marks staff's
  catalog, which speaks about anyone's: root on POSIX, an elevated administrator on
  Windows, ``privatefs.is_superuser``; owners are uids on POSIX and SIDs on Windows, the
  same rules over both) and which destinations count for a file owned by
  a given uid: the facility's, and those that owner configured (``owner_destinations``).
- :func:`others_may_write` says whether a folder or file could be written by a user other
  than the file's owner or root: owned by someone else, group-writable by a group with
  other members, world-writable, or carrying a POSIX ACL. A sticky folder writable by
  others is acceptable when the entry below it is owned by the owner or root (nobody
  else may rename or remove it then).
"""

from __future__ import annotations

import contextlib
import functools
import os
import stat as stat_mod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath

# Who owns a file: a POSIX uid, or on Windows the owner SID (``st_uid`` is 0 for every
# file there), read from the file's security descriptor (``core.winacl``).
Owner = int | str
OwnerDestinations = Callable[[Owner], Sequence[PurePath]]
OwnerRemotes = Callable[[Owner], Sequence[str]]


def _none(owner: Owner) -> Sequence[PurePath]:
    return ()


def _no_remotes(owner: Owner) -> Sequence[str]:
    return ()


def shown(owner: Owner) -> str:
    """An owner in a message: ``uid 1000`` or the SID."""
    return f"uid {owner}" if isinstance(owner, int) else owner


@dataclass(frozen=True, slots=True)
class EvidenceRules:
    """What a cleanup may believe (see the module docstring).

    ``catalog_owner_uid``: the uid whose private catalog the rows come from, or ``None``
    for staff's catalog (rows about any owner's files). ``facility_destinations``: the
    destination roots the facility configured (root-owned configuration).
    ``owner_destinations(uid)``: the destination roots that uid configured for their own
    files (their own configuration; empty when unknown). ``facility_remotes`` and
    ``owner_remotes(uid)``: the same for remote destinations (``research:lab/me``); a
    remote copy is proven again with the sign-in of the user running cleanup, so the
    service gives remotes only for the catalog of that user (staff's cleanup of another
    user's catalog has none: it cannot sign in as them)."""

    catalog_owner_uid: Owner | None  # a uid (POSIX) or the user's SID (Windows)
    facility_destinations: tuple[PurePath, ...] = ()
    owner_destinations: OwnerDestinations = field(default=_none)
    facility_remotes: tuple[str, ...] = ()
    owner_remotes: OwnerRemotes = field(default=_no_remotes)

    def rows_apply_to(self, owner_uid: Owner) -> bool:
        """Whether this catalog's rows may speak about a file ``owner_uid`` owns."""
        return self.catalog_owner_uid is None or self.catalog_owner_uid == owner_uid

    def trusted_roots(self, owner_uid: Owner) -> tuple[PurePath, ...]:
        """Destination roots whose copies may count for a file ``owner_uid`` owns."""
        roots = [*self.facility_destinations, *self.owner_destinations(owner_uid)]
        return tuple(dict.fromkeys(roots))

    def trusted_remotes(self, owner_uid: Owner) -> tuple[str, ...]:
        """Remote destinations (``name:path``) whose copies may count for a file
        ``owner_uid`` owns, once proven again at cleanup time."""
        remotes = [*self.facility_remotes, *self.owner_remotes(owner_uid)]
        return tuple(dict.fromkeys(remotes))


def others_may_write(st: os.stat_result, owner_uid: int, fd: int | None = None) -> str:
    """Why someone other than ``owner_uid`` or root could change this entry ("" if not).

    A sticky folder is reported as ``"sticky"``: the caller then requires the entry
    below it to be owned by the owner or root."""
    if st.st_uid not in (owner_uid, 0):
        return f"it belongs to another user (uid {st.st_uid})"
    if fd is not None and _has_acl(fd):
        return "it has an access control list (other users may be allowed to write)"
    writable = bool(st.st_mode & stat_mod.S_IWOTH) or (
        bool(st.st_mode & stat_mod.S_IWGRP) and not _private_group(st.st_gid, st.st_uid)
    )
    if not writable:
        return ""
    if stat_mod.S_ISDIR(st.st_mode) and st.st_mode & stat_mod.S_ISVTX:
        return "sticky"
    return "other users may write it"


def _has_acl(fd: int) -> bool:
    if not hasattr(os, "listxattr"):
        return False
    with contextlib.suppress(OSError):
        return "system.posix_acl_access" in os.listxattr(fd)
    return False


@functools.lru_cache(maxsize=256)
def _private_group(gid: int, uid: int) -> bool:
    """A user-private group: named like its owner, with no other listed member."""
    try:
        import grp
        import pwd

        group = grp.getgrgid(gid)
        user = pwd.getpwuid(uid)
    except (ImportError, KeyError):
        return False
    return group.gr_name == user.pw_name and set(group.gr_mem) <= {user.pw_name}
