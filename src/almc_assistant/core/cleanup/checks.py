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
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path, PurePath

from almc_assistant.core.copies import CopyRecord
from almc_assistant.core.evidence import EvidenceRules, others_may_write
from almc_assistant.core.handles import Handles, Refused, components, hash_open, relative_below
from almc_assistant.core.identity import FileIdentity


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


def open_source(h: Handles, path: Path, roots: Sequence[PurePath]) -> Opened:
    """Open the catalogued ``path`` below the acquisition folder that holds it."""
    for root in roots:
        rel = relative_below(path, root)
        if rel is not None:
            return _open_below(h, root, rel)[0]
    raise Refused("it is outside the acquisition folders")


def read_hash(opened: Opened) -> str:
    """BLAKE3 of the open file, from storage; refused if it changed while being read."""
    digest, size = hash_open(opened.fd)
    change = FileIdentity.of_fd(opened.fd).change_from(opened.identity)
    if change or size != opened.identity.size:
        raise Refused(f"it changed while it was read ({change or 'its size changed'})")
    return digest


def check_copy(
    h: Handles,
    copy: CopyRecord,
    *,
    source: Opened,
    source_hash: str,
    rules: EvidenceRules,
) -> CheckedCopy:
    """The copy, proven (see the module docstring), or :class:`Refused` saying why not."""
    if copy.blake3 != source_hash:
        raise Refused("its catalog row records other bytes than the source has now")
    owner = source.identity.uid
    found = _located(copy.path, rules.trusted_roots(owner))
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
    _writable_only_by_owner(chain, opened, owner)
    if opened.identity.same_file(source.identity):
        raise NotACopy("it is the source itself (same device and inode)")
    if opened.identity.dev == source.identity.dev:
        raise Refused("it is on the source's own device (not an independent copy)")
    if read_hash(opened) != source_hash:
        raise NotACopy("its bytes differ from the source's (BLAKE3, both read from storage)")
    # It counts as a copy in the trusted destination it was found in (its kind decides).
    return CheckedCopy(replace(copy, destination_root=Path(root)), opened)


def _located(path: Path, roots: Sequence[PurePath]) -> tuple[PurePath, PurePath] | None:
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
    h: Handles, root: PurePath, rel: PurePath
) -> tuple[Opened, list[tuple[int, os.stat_result, str]]]:
    names = components(rel)
    root_fd, root_st = h.open_root(root)
    real = Path(os.path.realpath(root))
    chain = [(root_fd, root_st, str(real))]
    for i, (fd, st) in enumerate(h.walk(root_fd, names[:-1])):
        chain.append((fd, st, str(real.joinpath(*names[: i + 1]))))
    fd, ident = h.open_regular(chain[-1][0], names[-1])
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
