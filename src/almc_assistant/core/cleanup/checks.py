"""The evidence for one deletion, read from the files themselves through open handles.

Thread contract: called by ``cleanup.apply`` in its (worker or CLI) thread; every
descriptor lives in the caller's :class:`~almc_assistant.core.handles.Handles`.

- :func:`open_source`: the source, walked from its acquisition folder without following
  links (a row path through a symlinked folder or with ``..`` is refused).
- :func:`read_hash`: BLAKE3 through the open handle, from storage, and proof that the
  file did not change while it was read (``FileIdentity.unchanged_since``).
- :func:`check_copy`: a copy counts only if its row records the hash the source has now,
  it lies (walked without links) inside a destination the facility or the file's owner
  configured, no one but the owner or root could have written it or any folder down to
  it, it is a regular file on another device than the source, and its bytes, read from
  storage, hash equal to the source's.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path, PurePath
from typing import TYPE_CHECKING

from almc_assistant.core.copies import CopyRecord
from almc_assistant.core.evidence import EvidenceRules, Owner, others_may_write
from almc_assistant.core.handles import Handles, Refused, components, relative_below
from almc_assistant.core.identity import FileIdentity

if TYPE_CHECKING:
    from almc_assistant.core.winhandles import WinHandles

    AnyHandles = Handles | WinHandles


class NotACopy(Refused):
    """The copy was reached and is not a copy of the source (missing, a link, other bytes):
    its catalog row is wrong and may be forgotten."""


@dataclass(frozen=True, slots=True)
class Opened:
    """A file opened for the decision: where it is and what it was when checked."""

    parent_fd: int
    name: str
    fd: int
    identity: FileIdentity
    shown: Path  # the path walked (the root's real location, then names below it)


@dataclass(frozen=True, slots=True)
class CheckedCopy:
    record: CopyRecord
    opened: Opened


def open_source(h: AnyHandles, path: Path, roots: Sequence[PurePath]) -> Opened:
    """Open the catalogued ``path`` below the acquisition folder that holds it."""
    for root in roots:
        rel = relative_below(path, root)
        if rel is not None:
            return _open_below(h, root, rel, for_delete=True)[0]
    raise Refused("it is outside the acquisition folders")


def owner_of(src: Opened) -> Owner:
    """Who owns the open file: its uid, or on Windows its owner SID (``st_uid`` is 0 for
    every file there)."""
    if sys.platform == "win32":  # pragma: no cover - Windows only (the Windows lane runs it)
        from almc_assistant.core import winacl, wininfo

        return winacl.security_of(wininfo.handle_of_fd(src.fd)).owner
    return src.identity.uid


def read_hash(h: AnyHandles, opened: Opened) -> str:
    """BLAKE3 of the open file, from storage; refused if it changed while being read."""
    digest, size = h.hash_open(opened.fd)
    change = FileIdentity.of_fd(opened.fd).change_from(opened.identity)
    if change or size != opened.identity.size:
        raise Refused(f"it changed while it was read ({change or 'its size changed'})")
    return digest


def check_copy(
    h: AnyHandles,
    copy: CopyRecord,
    *,
    source: Opened,
    source_hash: str,
    rules: EvidenceRules,
    owner: Owner | None = None,
) -> CheckedCopy:
    """The copy, proven (see the module docstring), or :class:`Refused` saying why not.
    ``owner``: the source's owner (:func:`owner_of`; default its uid)."""
    if copy.blake3 != source_hash:
        raise Refused("its catalog row records other bytes than the source has now")
    found = _located(
        copy.path, rules.trusted_roots(source.identity.uid if owner is None else owner)
    )
    if found is None:
        raise Refused("it is not inside a destination the facility or the file's owner configured")
    root, rel = found
    h.reached_root = False
    try:
        opened, chain = _open_below(h, root, rel)
    except Refused as exc:
        if h.reached_root:
            raise NotACopy(str(exc)) from exc
        raise
    if sys.platform == "win32":  # pragma: no cover - tested by the Windows lane
        _windows_writable_only_by_owner(chain, opened, source)
    else:
        _writable_only_by_owner(chain, opened, source.identity.uid)
    if opened.identity.same_file(source.identity):
        raise NotACopy("it is the source itself (same device and inode)")
    if opened.identity.dev == source.identity.dev:
        raise Refused("it is on the source's own device (not an independent copy)")
    if read_hash(h, opened) != source_hash:
        raise NotACopy("its bytes differ from the source's (BLAKE3, both read from storage)")
    # It counts as a copy in the trusted destination it was found in (its kind decides).
    return CheckedCopy(replace(copy, destination_root=Path(root)), opened)


def _located(path: PurePath, roots: Sequence[PurePath]) -> tuple[PurePath, PurePath] | None:
    """The trusted root ``path`` lies in and the path below it, its folders' links
    resolved (only to find the names: the walk from the root then follows no link)."""
    resolved = Path(os.path.realpath(path.parent)) / path.name
    for root in roots:
        for candidate in (path, resolved):
            rel = relative_below(candidate, root)
            if rel is not None:
                return root, rel
    return None


def _open_below(
    h: AnyHandles, root: PurePath, rel: PurePath, *, for_delete: bool = False
) -> tuple[Opened, list[tuple[int, os.stat_result, str]]]:
    names = components(rel)
    root_fd, root_st = h.open_root(root)
    real = Path(os.path.realpath(root))
    chain = [(root_fd, root_st, str(real))]
    for i, (fd, st) in enumerate(h.walk(root_fd, names[:-1])):
        chain.append((fd, st, str(real.joinpath(*names[: i + 1]))))
    fd, ident = h.open_regular(chain[-1][0], names[-1], for_delete=for_delete)
    return Opened(chain[-1][0], names[-1], fd, ident, real.joinpath(*names)), chain


def _writable_only_by_owner(
    chain: list[tuple[int, os.stat_result, str]], copy: Opened, owner: int
) -> None:
    entries = [*chain, (copy.fd, os.fstat(copy.fd), str(copy.shown))]
    for i, (fd, st, shown) in enumerate(entries):
        why = others_may_write(st, owner, fd)
        if why == "sticky":
            below = entries[i + 1][1]
            if below.st_uid in (owner, 0):
                continue
            why = "it is a shared sticky folder and the entry below it belongs to another user"
        if why:
            raise Refused(f"{shown}: {why}")


def _windows_writable_only_by_owner(
    chain: list[tuple[int, os.stat_result, str]], copy: Opened, source: Opened
) -> None:  # pragma: no cover - Windows only (the Windows lane runs it)
    """Windows: the copy and every folder down to it are owned by the source's owner (or
    a system account) and their ACLs let nobody else write (``core.winacl``)."""
    from almc_assistant.core import winacl, wininfo

    owner = winacl.security_of(wininfo.handle_of_fd(source.fd)).owner
    for fd, _st, shown in [*chain, (copy.fd, None, str(copy.shown))]:
        why = winacl.others_may_write(wininfo.handle_of_fd(fd), owner)
        if why:
            raise Refused(f"{shown}: {why}")
