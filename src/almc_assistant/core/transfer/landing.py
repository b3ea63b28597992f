"""The destination side of one file's copy, after its bytes are verified: final name,
or settle with a file already there.

Thread contract: pure steps on one target, callable from any worker. Shared by the
driver (:mod:`pipeline`) for a streamed file and a grouped one alike.

- :func:`land`: give the verified partial its final name (:mod:`publish`, never
  replacing). If the name was taken meanwhile (another job, process or user copying the
  same file), the file there is :func:`settle`\\ d instead of failing.
- :func:`settle` (also used to adopt a same-size file found when planning): read the
  file at the final name from storage, never through a link, and compare its BLAKE3 with
  the source's. Equal: the copy is there (``Verified``, ``adopted``). Otherwise
  ``Differs``: the worker plans a "keep both" name (or skips/fails, per policy). A manifest
  line, a size and an mtime are never taken as proof: only the bytes are.
"""

from __future__ import annotations

import contextlib
import errno
import time
from collections.abc import Callable
from dataclasses import dataclass

from almc_assistant.core.destination_backend import StoredProof
from almc_assistant.core.transfer.faults import CopyError
from almc_assistant.core.transfer.folder import Folder
from almc_assistant.core.transfer.hashing import EXISTING, hash_open
from almc_assistant.core.transfer.publish import publish_in
from almc_assistant.core.transfer.targets import Target


@dataclass(frozen=True, slots=True)
class Verified:
    digest: str
    verified_at: float
    adopted: bool
    already: bool = False  # adopted, and the manifest already listed these bytes here
    read_back: str = ""  # how this copy was read back ("": the job's default)
    proof: StoredProof | None = None  # a remote copy: what its backend proved


@dataclass(frozen=True, slots=True)
class Differs:
    """The file at the target name holds other bytes (or is a link, or not a file)."""


Result = Verified | Differs | CopyError


def settle(
    folder: Folder,
    t: Target,
    digest: str,
    buf: bytearray,
    checkpoint: Callable[[], None] | None = None,
    mtime_ns: int | None = None,
) -> Verified | Differs:
    """Compare the file at ``t.final`` (in ``folder``) with ``digest``; adopt it if equal
    (:func:`accept`). ``OSError`` propagates (the caller classifies it)."""
    try:
        fd = folder.open(t.final.name, EXISTING)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # a link: never followed, never adopted
            return Differs()
        raise
    if hash_open(fd, buf, checkpoint) != digest:
        return Differs()
    return accept(folder, t, digest, mtime_ns)


def accept(folder: Folder, t: Target, digest: str, mtime_ns: int | None) -> Verified:
    """The file at ``t.final`` was read from storage and has ``digest``: adopt it (and
    give it the source's ``mtime_ns``, best effort: it may be someone else's file)."""
    if mtime_ns is not None:
        with contextlib.suppress(OSError, NotImplementedError):
            folder.utime(t.final.name, (time.time_ns(), mtime_ns))
    already = t.dest.manifest.lookup(t.relpath) == digest
    t.dest.manifest.record(t.relpath, digest)
    return Verified(digest, time.time(), adopted=True, already=already)


def land(
    folder: Folder,
    partial: str,
    t: Target,
    digest: str,
    buf: bytearray,
    *,
    at_path: bool | None = None,
) -> Verified | Differs:
    """Rename the verified ``partial`` (in ``folder``) to ``t.final``, or settle with what
    is there. A renamed copy (``adopted`` False) is recorded by the caller once the rename
    is durable; a settled one is recorded here. :class:`CopyError` when the folder was moved
    or swapped since it was opened (``at_path``: :meth:`Folder.still_at_path` as the caller
    just checked it before this pass of renames in the folder; ``None``: checked here);
    ``OSError`` propagates.
    """
    if not (folder.still_at_path() if at_path is None else at_path):
        raise CopyError(
            f"{folder.path} was moved or replaced while {t.final.name} was being copied "
            "into it; the copy was not given its final name.",
            title=f"{folder.path.name} changed during the copy",
            next_step="Check the destination folder (on a shared destination someone may "
            "be interfering), then copy again.",
            paths=(folder.path,),
        )
    if not publish_in(folder, partial, t.final.name):
        return settle(folder, t, digest, buf)
    return Verified(digest, time.time(), adopted=False)
